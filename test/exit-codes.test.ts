// Exit codes every tool shares (issue 24): 2 means a usage error only (a bad flag,
// flags that do not go together, a missing argument) and the line ends "see --help";
// a failure at run time (a missing or corrupt file, a port in use, no server) is 1,
// so a script can tell the two apart.

import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runBin, runTool, tempDir } from './helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');
const MISSING = '/nonexistent/rokv-missing.data';

function usage(run: { status: number | null; stderr: string }, name: string): void {
  expect(run.stderr, run.stderr).toMatch(new RegExp(`^${name}: [^\\n]+; see --help\\n$`));
  expect(run.status, run.stderr).toBe(2);
}

function failure(run: { status: number | null; stderr: string }, name: string, pattern: RegExp): void {
  expect(run.stderr, run.stderr).toMatch(new RegExp(`^${name}: `));
  expect(run.stderr).not.toMatch(/see --help/);
  expect(run.stderr).toMatch(pattern);
  expect(run.status, run.stderr).toBe(1);
}

describe('usage errors exit 2, run-time failures exit 1', () => {
  it('server', async () => {
    usage(runBin('server', [FIXTURE, '--metrics-host', '127.0.0.1']), 'server');
    usage(runBin('server', [FIXTURE, '--cluster-node', '127.0.0.1:1']), 'server');
    failure(runBin('server', [MISSING]), 'server', /cannot open/);
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const { spawn } = await import('node:child_process');
      const child = spawn(path.join(ROOT, 'bin', 'server'), [FIXTURE, '--port', String(port), '--quiet']);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      failure({ status, stderr }, 'server', /address in use/);
    } finally {
      taken.close();
    }
  });

  it('client', () => {
    usage(runBin('client', [FIXTURE, '--cluster', 'x.json']), 'client');
    failure(runBin('client', [MISSING]), 'client', /cannot open|no such file/);
    failure(runBin('client', [FIXTURE, '--port', '1', '--requests', '10']), 'client', /cannot connect/);
  });

  it('pack', () => {
    const dir = tempDir();
    const tsv = path.join(dir, 'in.tsv');
    fs.writeFileSync(tsv, 'a\t1\nb\t2\na\t3\n');
    usage(runBin('pack', [tsv, '--base64', '-o', path.join(dir, 'out.data')]), 'pack');
    usage(runBin('pack', [path.join(dir, 'in.unknown'), '-o', path.join(dir, 'out.data')]), 'pack');
    failure(runBin('pack', [path.join(dir, 'missing.tsv'), '-o', path.join(dir, 'out.data')]), 'pack', /cannot open/);
    failure(runBin('pack', [tsv, '-o', path.join(dir, 'out.data')]), 'pack', /duplicate key/);
    failure(runBin('pack', [tsv, '--dedupe', 'last', '-o', path.join(dir, 'no', 'such', 'out.data')]), 'pack', /does not exist/);
  });

  it('inspect', () => {
    const dir = tempDir();
    const bad = path.join(dir, 'bad.data');
    fs.writeFileSync(bad, Buffer.alloc(4096, 7));
    usage(runBin('inspect', [FIXTURE, '--format', 'tsv']), 'inspect');
    usage(runBin('inspect', [FIXTURE, '--dump', '--json']), 'inspect');
    failure(runBin('inspect', [MISSING]), 'inspect', /cannot open/);
    failure(runBin('inspect', [bad]), 'inspect', /./);
  });

  it('shard', () => {
    usage(runBin('shard', [FIXTURE, '-n', '2', '--slots']), 'shard');
    usage(runBin('shard', [FIXTURE, '-n', '2', '--replicas', '3']), 'shard');
    failure(runBin('shard', [MISSING, '-n', '2']), 'shard', /cannot open/);
  });

  it('generate', () => {
    usage(runTool('tools/generate.ts', ['--count', '10', '--keys', 'alnum', '--key-length', '0']), 'generate');
    failure(runTool('tools/generate.ts', ['--count', '10', '-o', '/nonexistent/folder/out.data']), 'generate', /does not exist/);
  });
});
