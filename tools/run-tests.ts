// Runs the vitest suite and ends with one line "N passed, M failed" read from vitest's
// JSON result; exits non-zero when anything failed or nothing ran. First installs the
// Debian packages tests need when they are missing (twemproxy: nutcracker; Prometheus's
// promtool, which checks /metrics).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Debian packages the tests run, by the command each provides. */
const PACKAGES: [command: string, pkg: string][] = [['nutcracker', 'nutcracker'], ['promtool', 'prometheus']];

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

for (const [command, pkg] of PACKAGES) {
  if (has(command)) continue;
  console.log(`make test: installing ${pkg} (Debian package; a test needs ${command})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...args: string[]) => {
    const argv = process.getuid?.() === 0 ? ['apt-get', ...args] : ['sudo', '-n', 'apt-get', ...args];
    return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env });
  };
  if (apt('install', '-y', '-q', pkg).status !== 0) apt('update', '-q');
  if (!has(command) && apt('install', '-y', '-q', pkg).status !== 0) {
    console.error(`make test: could not install ${pkg}; the tests that need ${command} will fail (install it: apt-get install ${pkg})`);
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
