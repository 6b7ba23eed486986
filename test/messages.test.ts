// What a new user reads (issue 24): a port in use is named alone, not with every port
// asked for; a missing file has one wording, in words, in every tool.

import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runBin, tempDir } from './helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Runs bin/server to its exit; stderr and status. */
async function serverRun(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(path.join(ROOT, 'bin', 'server'), args);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { status, stderr };
}

describe('a port in use', () => {
  for (const workers of ['1', '2']) {
    it(`names the port that is taken, not both (--workers ${workers})`, async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const busy = (taken.address() as net.AddressInfo).port;
      const free = await freePort();
      try {
        const resp = await serverRun([FIXTURE, '--port', String(free), '--resp-port', String(busy), '--workers', workers, '--quiet']);
        expect(resp.stderr).toBe(`server: cannot listen on 127.0.0.1:${busy}: address in use\n`);
        expect(resp.status).toBe(1);
        const binary = await serverRun([FIXTURE, '--port', String(busy), '--resp-port', String(free), '--workers', workers, '--quiet']);
        expect(binary.stderr).toBe(`server: cannot listen on 127.0.0.1:${busy}: address in use\n`);
      } finally {
        taken.close();
      }
    }, 40_000);
  }
});

describe('a missing file', () => {
  it('is "cannot open FILE: no such file or folder" in every tool', () => {
    const missing = path.join(tempDir(), 'missing.data');
    const runs = [
      ['server', runBin('server', [missing])],
      ['inspect', runBin('inspect', [missing])],
      ['shard', runBin('shard', [missing, '-n', '2'])],
      ['client', runBin('client', [missing])],
      ['pack', runBin('pack', [missing, '-f', 'tsv', '-o', path.join(tempDir(), 'out.data')])],
    ] as const;
    for (const [name, run] of runs) {
      expect(run.stderr, name).toBe(`${name}: cannot open ${missing}: no such file or folder\n`);
      expect(run.status, name).toBe(1);
    }
  });
});
