// Runs the vitest suite and ends with one line "N passed, M failed" read from vitest's
// JSON result; exits non-zero when anything failed or nothing ran. First installs the
// Debian packages tests need when they are missing (twemproxy: nutcracker; Prometheus's
// promtool, which checks /metrics; Redis's own redis-cli and server; the Python, Ruby
// and PHP Redis clients).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Debian packages the tests run, each with the shell check that says it is there. */
const PACKAGES: [check: string, pkg: string][] = [
  ['command -v nutcracker', 'nutcracker'],
  ['command -v promtool', 'prometheus'],
  ['command -v redis-cli', 'redis-tools'],
  ['command -v redis-server', 'redis-server'],
  ['/usr/bin/python3 -c "import redis"', 'python3-redis'],
  ['/usr/bin/ruby -e "require %q(redis)"', 'ruby-redis'],
  ['command -v php', 'php-cli'],
  [`php -r "exit(class_exists('Redis') ? 0 : 1);"`, 'php-redis'],
];

function has(check: string): boolean {
  return spawnSync('sh', ['-c', `${check} >/dev/null 2>&1`]).status === 0;
}

for (const [check, pkg] of PACKAGES) {
  if (has(check)) continue;
  console.log(`make test: installing ${pkg} (Debian package; a test needs it: ${check})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...args: string[]) => {
    const argv = process.getuid?.() === 0 ? ['apt-get', ...args] : ['sudo', '-n', 'apt-get', ...args];
    return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env });
  };
  if (apt('install', '-y', '-q', pkg).status !== 0) apt('update', '-q');
  if (!has(check) && apt('install', '-y', '-q', pkg).status !== 0) {
    console.error(`make test: could not install ${pkg}; the tests that need it will fail (install it: apt-get install ${pkg})`);
  }
}

const RESULT_FILE = '.test-results.json';
fs.rmSync(RESULT_FILE, { force: true });
const run = spawnSync('vitest', ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${RESULT_FILE}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
if (!fs.existsSync(RESULT_FILE)) {
  console.log('0 passed, 1 failed');
  console.error(`vitest wrote no result (exit ${run.status ?? run.signal})`);
  process.exit(1);
}
const result = JSON.parse(fs.readFileSync(RESULT_FILE, 'utf8')) as {
  numPassedTests: number; numFailedTests: number; numTotalTests: number; numFailedTestSuites: number;
};
// A suite that failed without any failed test (an import error, a failing hook) counts once.
const failed = result.numFailedTests > 0 ? result.numFailedTests : result.numFailedTestSuites;
console.log(`${result.numPassedTests} passed, ${failed} failed`);
process.exit(failed > 0 || result.numPassedTests === 0 || run.status !== 0 ? 1 : 0);
