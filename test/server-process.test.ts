// bin/server as a process: its log lines never take it down (a closed or broken
// pipe), SIGUSR1 neither opens a debugger nor stops it, and it refuses to start, with
// one line, on a missing or corrupt file, a port in use, a bad flag or an empty --host.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { type Pair, ROOT, packRecords, runBin, tempDir } from './helpers.ts';
import { startServer } from './server-helpers.ts';

const records: Pair[] = Array.from({ length: 1000 }, (_, i) => [`k${i}`, `value-${i}`]);
const file = packRecords(records);

async function expectServes(port: number): Promise<void> {
  const c = await connect({ port });
  expect((await c.get('k7'))?.toString()).toBe('value-7');
  await c.close();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('log output never takes the server down', () => {
  it('a stats line into a pipe whose reader is gone (server 2>&1 | head -1)', async () => {
    const child = spawn(path.join(ROOT, 'bin', 'server'), [file, '--port', '0', '--stats-interval', '0.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const firstLine = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    const port = Number(/listening on \S+:(\d+)/.exec(firstLine)?.[1]);
    child.stdout.destroy();
    child.stderr.destroy(); // both ends of the "pipe" gone, as when head exits
    for (let i = 0; i < 5; i++) {
      await expectServes(port); // requests, so that each interval writes a stats line
      await sleep(250);
    }
    expect(child.exitCode).toBeNull();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('started with stdout and stderr closed', async () => {
    const port = await freePort();
    const child = spawn('bash', ['-c', `exec 1>&- 2>&-; exec "${path.join(ROOT, 'bin', 'server')}" "${file}" --port ${port} --stats-interval 0.2`], { stdio: 'ignore' });
    let served = false;
    for (let i = 0; i < 50 && !served; i++) {
      await sleep(100);
      served = await expectServes(port).then(() => true, () => false);
    }
    expect(served).toBe(true);
    await sleep(500);
    await expectServes(port);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
  });
});

describe('signals and flags', () => {
  it('SIGUSR1 neither opens a debugger nor stops the server', async () => {
    const inspectorOpen = () => new Promise<boolean>((resolve) => {
      const probe = net.connect(9229, '127.0.0.1', () => (probe.destroy(), resolve(true)));
      probe.on('error', () => resolve(false));
    });
    const server = await startServer(file);
    try {
      const before = await inspectorOpen();
      server.process.kill('SIGUSR1');
      await sleep(500);
      await expectServes(server.port);
      expect(!before && (await inspectorOpen())).toBe(false);
      expect(server.stderr()).not.toMatch(/Debugger listening/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('an empty --host is refused, not bound to every interface', () => {
    const run = runBin('server', [file, '--port', '0', '--host', '']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/empty host/);
    expect(run.stdout).not.toMatch(/listening/);
  });
});

describe('refusing to start', () => {
  it('refuses to start on a missing file, a corrupt file, a port in use, a bad flag', async () => {
    const missing = runBin('server', ['/nonexistent.data']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^server: cannot open \/nonexistent\.data: no such file or folder$/m);
    const dir = tempDir();
    const bad = path.join(dir, 'bad.data');
    fs.writeFileSync(bad, fs.readFileSync(file).subarray(0, 1000));
    expect(runBin('server', [bad]).stderr).toMatch(/header says/);
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const busy = runBin('server', [file, '--port', String(port)]);
    expect(busy.status).not.toBe(0);
    expect(busy.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address in use`));
    blocker.close();
    const flag = runBin('server', [file, '--port', 'seventy']);
    expect(flag.status).not.toBe(0);
    expect(flag.stderr).toMatch(/"seventy" is not a whole number/);
  });
});
