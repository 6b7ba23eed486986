// The npm package as a consumer gets it: `npm pack`, installed into a new project,
// imported as 'rokv' (plain JavaScript and .d.ts types), its bins run, and a GET
// answered by a running server — without inheriting the project's pinned Node.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');
/** The pinned Node's folder first: the package's bins start with `#!/usr/bin/env node`. */
const PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`;

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, PATH } });
  if (result.error) throw result.error;
  return result;
}

function ok(result: ReturnType<typeof run>): string {
  expect(result.stderr + result.stdout, `exit ${result.status}`).not.toBe(null);
  if (result.status !== 0) throw new Error(`exit ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

describe('the npm package', () => {
  let consumer: string;
  let packed: string[];
  let server: RunningServer;

  beforeAll(async () => {
    ok(run('make', ['-s', 'build'], ROOT));
    const dir = tempDir();
    const listing = JSON.parse(ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)));
    packed = listing[0].files.map((f: { path: string }) => f.path);
    const tarball = path.join(dir, listing[0].filename);
    consumer = path.join(dir, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    ok(run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], consumer));
    server = await startServer(FIXTURE, [], {}, path.join(consumer, 'node_modules', '.bin', 'rokv-server'));
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('holds compiled JavaScript, types and docs, and no sources, tests or data', () => {
    expect(packed).toContain('dist/index.js');
    expect(packed).toContain('dist/index.d.ts');
    expect(packed).toContain('dist/server/main.js');
    expect(packed).toContain('docs/PROTOCOL.md');
    expect(packed.filter((f) => /^(src|test|tools|bench|data)\/|\.ts$(?<!\.d\.ts)|\.data$|\.shards\//.test(f))).toEqual([]);
  });

  it('does not hand the pinned Node to the consumer', () => {
    const modules = path.join(consumer, 'node_modules');
    expect(fs.existsSync(path.join(modules, 'node'))).toBe(false);
    expect(fs.existsSync(path.join(modules, '.bin', 'node'))).toBe(false);
    const manifest = JSON.parse(fs.readFileSync(path.join(modules, 'rokv', 'package.json'), 'utf8'));
    expect(manifest.dependencies.node).toBeUndefined();
    expect(manifest.engines.node).toBe('>=22');
  });

  it('imports { connect, loadDataFile } from rokv and gets a value from a running server', () => {
    fs.writeFileSync(path.join(consumer, 'check.mjs'), `
      import { connect, loadDataFile } from 'rokv';
      const data = loadDataFile(${JSON.stringify(FIXTURE)});
      const key = data.key(data.recordOffsets()[0]);
      const db = await connect({ port: ${server.port} });
      const value = await db.get(key);
      const missing = await db.get('no such key in the fixture');
      await db.close();
      console.log(JSON.stringify({ key: key.toString('latin1'), value: value?.toString('latin1'), expected: data.get(key)?.toString('latin1'), missing }));
    `);
    const answer = JSON.parse(ok(run(process.execPath, ['check.mjs'], consumer)));
    expect(answer.value).toBeDefined();
    expect(answer.value).toBe(answer.expected);
    expect(answer.missing).toBe(null);
  });

  it('type-checks a consumer against the .d.ts files, and its types catch a misuse', () => {
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    const options = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--skipLibCheck', 'false', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), '--types', 'node'];
    fs.writeFileSync(path.join(consumer, 'good.mts'), `
      import { connect, loadDataFile, type ConnectOptions } from 'rokv';
      const options: ConnectOptions = { port: 1, timeoutMs: 100 };
      const db = await connect(options);
      const value: Buffer | null = await db.get('k');
      const records: number = loadDataFile('x.data').recordCount;
      console.log(value, records);
    `);
    const good = run(tsc, [...options, 'good.mts'], consumer);
    expect(good.stdout + good.stderr).toBe('');
    expect(good.status).toBe(0);
    fs.writeFileSync(path.join(consumer, 'bad.mts'), `
      import { connect } from 'rokv';
      const db = await connect({ port: 1 });
      const value: string = await db.get('k');
      console.log(value);
    `);
    const bad = run(tsc, [...options, 'bad.mts'], consumer);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.mts.*Type 'Buffer.*' is not assignable to type 'string'/s);
  });

  it('installs the command-line tools as rokv-* bins', () => {
    for (const tool of ['rokv-server', 'rokv-client', 'rokv-pack', 'rokv-inspect', 'rokv-shard']) {
      const help = run(path.join(consumer, 'node_modules', '.bin', tool), ['--help'], consumer);
      expect(help.status, `${tool}: ${help.stderr}`).toBe(0);
      expect(help.stdout).toMatch(/^Usage: /);
    }
    const inspect = ok(run(path.join(consumer, 'node_modules', '.bin', 'rokv-inspect'), [FIXTURE, '--json'], consumer));
    expect(JSON.parse(inspect).records).toBe(JSON.parse(ok(run(path.join(ROOT, 'bin', 'inspect'), [FIXTURE, '--json'], ROOT))).records);
  });
});
