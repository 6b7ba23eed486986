// Watched worker threads (issue 12): with --workers N, a loop that dies is logged with
// its error and restarted; INFO counts live loops only; connections on the other
// loops are not touched; SIGTERM after a death does not hang; a crash loop makes the
// server exit 1. A loop is killed through the test-only fault switch (ROKV_TEST_FAULTS=1,
// then SIGUSR2 makes one live loop throw an uncaught error).

import { beforeAll, describe, expect, it } from 'vitest';
import { type RokvConnection, connect } from '../src/client/connection.ts';
import { type Pair, packRecords } from './helpers.ts';
import { type RunningServer, serverInfo, startServer } from './server-helpers.ts';

const records: Pair[] = Array.from({ length: 1000 }, (_, i) => [`w${i}`, `v${i}`]);
const FAULTS = { ROKV_TEST_FAULTS: '1' };
let file: string;

beforeAll(() => {
  file = packRecords(records);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** True if the client still answers every key right; false if its connection is gone. */
async function answersRight(client: RokvConnection): Promise<boolean> {
  try {
    for (let i = 0; i < 50; i++) expect((await client.get(`w${i}`))?.toString()).toBe(`v${i}`);
    return true;
  } catch (error) {
    if ((error as Error).name === 'AssertionError') throw error;
    return false;
  }
}

async function workersInInfo(server: RunningServer): Promise<number> {
  return (await serverInfo(server.port)).workers;
}

describe('--workers: a loop that dies', () => {
  it('is logged with its error and restarted; INFO counts live loops; the other loop\'s clients are untouched', async () => {
    const server = await startServer(file, ['--workers', '2'], FAULTS);
    const clients = await Promise.all(Array.from({ length: 12 }, () => connect({ port: server.port })));
    for (const c of clients) expect(await answersRight(c)).toBe(true);
    expect(await workersInInfo(server)).toBe(2);

    server.process.kill('SIGUSR2');
    await until('the death line', () => /died/.test(server.stderr()));
    expect(server.stderr()).toMatch(/^rokv: event loop [12] of 2 died: Error: fault injected for a test \(ROKV_TEST_FAULTS\); restarting it in 1 s$/m);
    // Before the restart (1 s later) only one loop is live, and INFO says so.
    expect(await workersInInfo(server)).toBe(1);
    // Clients of the dead loop lost their connection; every other one is served as before.
    const alive = await Promise.all(clients.map(answersRight));
    expect(alive.filter(Boolean).length).toBeGreaterThan(0);
    expect(alive.filter((a) => !a).length).toBeGreaterThan(0); // 12 connections over 2 loops: some were on the dead one

    await until('the restart', () => /restarted/.test(server.stderr()));
    expect(await workersInInfo(server)).toBe(2);
    // New connections land on both loops again; all are answered right.
    const fresh = await Promise.all(Array.from({ length: 12 }, () => connect({ port: server.port })));
    for (const c of fresh) expect(await answersRight(c)).toBe(true);
    const info = await serverInfo(server.port);
    expect(info.connections).toBe(alive.filter(Boolean).length + 12 + 1); // the dead loop's connections are not counted

    await Promise.all([...clients, ...fresh].map((c) => c.close().catch(() => {})));
    expect(await server.stop('SIGTERM')).toBe(0);
  });

  it('SIGTERM while a loop is dead: exits 0 at once, no restart afterwards', async () => {
    const server = await startServer(file, ['--workers', '2'], FAULTS);
    server.process.kill('SIGUSR2');
    await until('the death line', () => /died/.test(server.stderr()));
    const started = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(server.stderr()).not.toMatch(/restarted/);
  });

  it('a crash loop (more than 5 deaths a minute): gives up, closes the rest, exits 1', async () => {
    const server = await startServer(file, ['--workers', '2'], FAULTS);
    const exited = new Promise<number | null>((r) => server.process.once('exit', (code) => r(code)));
    let code: number | null | undefined;
    void exited.then((c) => (code = c));
    for (let i = 0; i < 60 && code === undefined; i++) {
      server.process.kill('SIGUSR2');
      await sleep(250);
    }
    expect(await exited).toBe(1);
    expect(server.stderr()).toMatch(/died: Error: fault injected.*; 6 deaths within 60 s: giving up$/m);
    expect(server.stderr()).toMatch(/^rokv: event loops keep dying: closing \d+ connections$/m);
    expect(server.stderr()).not.toMatch(/at .*\.js:\d+/); // a log line, not a stack trace
  });
});
