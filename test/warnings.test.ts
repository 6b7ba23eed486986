// No tool prints a Node warning on its common paths (issue 24): `inspect --dump` into a
// pipe left one 'error' listener on stdout per wait for the reader and printed
// "MaxListenersExceededWarning: Possible EventEmitter memory leak detected" each run.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runBin, runTool, tempDir } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');

function noWarning(run: { status: number | null; stderr: string }, what: string): void {
  expect(run.stderr, what).not.toMatch(/Warning/);
  expect(run.status, `${what}: ${run.stderr}`).toBe(0);
}

describe('no tool prints a warning', () => {
  let dir: string;
  let big: string;
  beforeAll(() => {
    dir = tempDir();
    big = path.join(dir, 'big.data');
    noWarning(runTool('tools/generate.ts', ['--count', '200000', '-o', big]), 'generate');
  }, 60_000);

  it('inspect --dump into a pipe, in every format; inspect, inspect --json', () => {
    for (const format of ['tsv', 'ndjson', 'base64']) {
      const script = `"${path.join(ROOT, 'bin', 'inspect')}" "${big}" --dump --format ${format} | (sleep 0.3; cat > /dev/null)`;
      const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
      noWarning(run, `inspect --dump --format ${format} | cat`);
    }
    noWarning(spawnSync('bash', ['-c', `"${path.join(ROOT, 'bin', 'inspect')}" "${big}" --dump | head -1 > /dev/null`], { encoding: 'utf8' }), 'inspect --dump | head -1');
    noWarning(runBin('inspect', [big]), 'inspect');
    noWarning(runBin('inspect', [FIXTURE, '--json']), 'inspect --json');
  }, 60_000);

  it('pack (a file and stdin), shard (ketama, slots)', () => {
    const tsv = path.join(dir, 'in.tsv');
    fs.writeFileSync(tsv, Array.from({ length: 50_000 }, (_, i) => `key-${i}\tvalue-${i}\n`).join(''));
    noWarning(runBin('pack', [tsv, '-o', path.join(dir, 'a.data')]), 'pack FILE');
    noWarning(runBin('pack', ['-', '-o', path.join(dir, 'b.data')], fs.readFileSync(tsv)), 'pack -');
    noWarning(runBin('shard', [big, '-n', '3', '-o', path.join(dir, 'ketama')]), 'shard');
    noWarning(runBin('shard', [big, '-n', '2', '--slots', '--nodes', '127.0.0.1:7001,127.0.0.1:7002', '-o', path.join(dir, 'slots')]), 'shard --slots');
  }, 60_000);

  it('server and client, both protocols', async () => {
    const server: RunningServer = await startServer(FIXTURE, ['--resp-port', '0']);
    try {
      noWarning(runBin('client', [FIXTURE, '--port', String(server.port), '--requests', '2000', '--clients', '4']), 'client');
      noWarning(runBin('client', [FIXTURE, '--port', String(server.respPort), '--protocol', 'resp', '--requests', '2000', '--clients', '4']), 'client --protocol resp');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.stderr()).not.toMatch(/Warning/);
  }, 60_000);
});
