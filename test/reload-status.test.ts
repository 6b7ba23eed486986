// What INFO says about reloading: a refused file counts as a failure and names its
// reason in last_reload_error; a later reload that succeeds clears last_reload_error
// (the failure count stays), on the binary port's INFO and the RESP port's alike, with
// one event loop and with --workers.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Pair, packRecords, tempDir } from './helpers.ts';
import { command, respExchange, text } from './resp-helpers.ts';
import { type RunningServer, serverInfo, startServer } from './server-helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const version = (v: string): Pair[] => Array.from({ length: 500 }, (_, i) => [`k${i}`, `${v}-${i}`]);

async function waitFor(what: string, check: () => Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The RESP INFO rokv section as field → value. */
async function respInfo(port: number): Promise<Record<string, string>> {
  const { replies } = await respExchange(port, command('INFO', 'rokv'), 1);
  return Object.fromEntries(text(replies[0]).split('\r\n').filter((l) => l.includes(':')).map((l) => {
    const at = l.indexOf(':');
    return [l.slice(0, at), l.slice(at + 1)];
  }));
}

for (const workers of [1, 2]) {
  describe(`reload status in INFO (--workers ${workers})`, () => {
    it('a refused file, then a good one: last_reload_error is cleared, reload_failures stays 1', async () => {
      const dir = tempDir();
      const live = path.join(dir, 'live.data');
      packRecords(version('v1'), live);
      const server: RunningServer = await startServer(live, ['--resp-port', '0', '--workers', String(workers)]);
      try {
        fs.writeFileSync(live, 'x'.repeat(500)); // not a data file
        server.process.kill('SIGHUP');
        await waitFor('the refusal', async () => (await serverInfo(server.port)).reload_failures >= 1);
        let info: Record<string, unknown> = await serverInfo(server.port);
        expect(info.last_reload_error).toMatch(/not a rokv data file/);
        expect((await respInfo(server.respPort)).last_reload_error).toMatch(/not a rokv data file/);

        const next = packRecords(version('v2'), path.join(dir, 'next.data'));
        fs.renameSync(next, live);
        server.process.kill('SIGHUP');
        await waitFor('the reload', async () => (await serverInfo(server.port)).reloads >= 1);
        info = await serverInfo(server.port);
        expect([info.reloads, info.reload_failures, info.last_reload_error]).toEqual([1, 1, null]);
        const resp = await respInfo(server.respPort);
        expect([resp.reloads, resp.reload_failures, resp.last_reload_error]).toEqual(['1', '1', '']);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });
  });
}
