// SCAN: cursors read as Redis reads them (strtoul; error texts recorded from
// redis-server 7.0.15), cursors that name their data version (a hot swap in the middle
// of an iteration restarts it on the new version instead of missing keys), and calls
// whose pattern matching is bounded, with the same keys over a whole iteration.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { Glob } from '../src/protocol/resp/glob.ts';
import { SCAN_WORK, cursorSlot, cursorSpace } from '../src/protocol/resp/scan.ts';
import { respCodec } from '../src/protocol/resp/session.ts';
import { Service } from '../src/service/service.ts';
import { memoryVersionOf } from '../src/storage/tiers.ts';
import { fakeConnection } from '../tools/fake-connection.ts';
import { type Pair, packRecords, tempDir } from './helpers.ts';
import { type Reply, command, parseReplies, respExchange, text } from './resp-helpers.ts';
import { startServer, serverInfo } from './server-helpers.ts';

const uuidish = (i: number, tag = 'v1') => `${String(i).padStart(8, '0')}-${tag}-4d1e-8f00-${String((i * 7919) % 1e12).padStart(12, '0')}`;

function serving(records: Pair[]) {
  const file = packRecords(records);
  const service = new Service(memoryVersionOf(loadDataFile(file)), { file });
  const session = fakeConnection(respCodec, service);
  const ask = (...args: (string | Buffer)[]): Reply => {
    session.feed(command(...args));
    const { replies } = parseReplies(session.written());
    expect(replies).toHaveLength(1);
    return replies[0];
  };
  return { service, ask };
}

/** One whole iteration from cursor `from`: every key returned (with repeats), the cursors, and the calls. */
function iterate(ask: (...args: string[]) => Reply, options: string[] = [], from = '0', onCall?: (cursor: string) => void) {
  const keys: string[] = [];
  const cursors: string[] = [];
  let cursor = from;
  do {
    onCall?.(cursor);
    const [next, batch] = ask('SCAN', cursor, ...options) as [Buffer, Buffer[]];
    cursor = text(next);
    cursors.push(cursor);
    keys.push(...batch.map((k) => k.toString('latin1')));
  } while (cursor !== '0');
  return { keys, cursors };
}

describe('SCAN cursors, read as Redis reads them', () => {
  const { ask } = serving(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'] as Pair));
  // Recorded from redis-server 7.0.15: these answer "-ERR invalid cursor".
  for (const cursor of ['18446744073709551616', '99999999999999999999999', '-18446744073709551616', ' 1', '\t1', '1 ', '0x10', '+', '-', 'abc']) {
    it(`${JSON.stringify(cursor)} is refused`, () => expect(ask('SCAN', cursor)).toEqual({ error: 'ERR invalid cursor' }));
  }
  // Recorded from redis-server 7.0.15: these are cursors (strtoul: a sign, leading zeros, empty, bytes after a NUL).
  for (const cursor of ['18446744073709551615', '', '+5', '-1', '-0', '007', '-18446744073709551615', '1\u00002']) {
    it(`${JSON.stringify(cursor)} is a cursor`, () => {
      const reply = ask('SCAN', cursor) as [Buffer, Buffer[]];
      expect(Array.isArray(reply) && reply.length === 2 && Array.isArray(reply[1])).toBe(true);
    });
  }
  it('"" and "-0" are 0: the start, as in Redis', () => {
    expect(ask('SCAN', '', 'COUNT', '1000')).toEqual(ask('SCAN', '0', 'COUNT', '1000'));
    expect(ask('SCAN', '-0', 'COUNT', '1000')).toEqual(ask('SCAN', '0', 'COUNT', '1000'));
  });
});

describe('SCAN cursors name their data version', () => {
  const v1: Pair[] = Array.from({ length: 3000 }, (_, i) => [uuidish(i), 'v1']);

  it('a whole iteration returns every key exactly once; cursors are 64-bit unsigned and not 0 until the end', () => {
    const { ask } = serving(v1);
    const { keys, cursors } = iterate(ask, ['COUNT', '37']);
    expect(keys.length).toBe(v1.length);
    expect(new Set(keys)).toEqual(new Set(v1.map(([k]) => k as string)));
    for (const c of cursors.slice(0, -1)) {
      expect(c).toMatch(/^[1-9]\d*$/);
      expect(BigInt(c) < 1n << 64n).toBe(true);
      expect(BigInt(c) < 2n ** 53n).toBe(true); // a small index: exact even for clients that read cursors as doubles
    }
  });

  it('the same file gives the same cursors (every event loop, every run); another index gives others', () => {
    const a = loadDataFile(packRecords(v1)).header;
    const b = loadDataFile(packRecords(v1)).header;
    const c = loadDataFile(packRecords([...v1, ['one-more', 'x']])).header;
    expect(cursorSpace(a)).toEqual(cursorSpace(b));
    expect(cursorSpace(a).tag).not.toBe(cursorSpace(c).tag);
    expect(cursorSlot(0n, cursorSpace(a))).toBe(0);
  });

  it('in process: a cursor of the version before a swap restarts on the new version, so no key of both is missed', () => {
    const { service, ask } = serving(v1);
    const v2: Pair[] = [...v1.slice(500), ...Array.from({ length: 1000 }, (_, i) => [uuidish(i, 'v2'), 'v2'] as Pair)];
    const before: string[] = [];
    let cursor = '0';
    for (let i = 0; i < 20; i++) {
      const [next, batch] = ask('SCAN', cursor, 'COUNT', '50') as [Buffer, Buffer[]];
      cursor = text(next);
      before.push(...batch.map((k) => k.toString('latin1')));
    }
    const file2 = packRecords(v2);
    service.swap(memoryVersionOf(loadDataFile(file2)), { ...service.facts().dataVersion, version: 'v2' }, null);
    const after = iterate(ask, ['COUNT', '50'], cursor).keys;
    const seen = new Set([...before, ...after]);
    for (const [k] of v2) expect(seen.has(k as string)).toBe(true);
    expect(new Set(after)).toEqual(new Set(v2.map(([k]) => k as string))); // the restart: all of v2, once
  });

  it('over a real hot swap (SIGHUP after a rename): every key present in both versions is returned at least once', async () => {
    const dir = tempDir();
    const live = path.join(dir, 'live.data');
    packRecords(v1, live);
    const server = await startServer(live, ['--resp-port', '0']);
    try {
      // A smaller index: an old cursor's slot lies further along it (keys are placed by hash × slots).
      const v2: Pair[] = [...v1.slice(0, 1500), ...Array.from({ length: 200 }, (_, i) => [uuidish(i, 'v2'), 'v2'] as Pair)];
      const ask = async (...args: string[]) => (await respExchange(server.respPort, command(...args), 1)).replies[0];
      const seen = new Set<string>();
      let cursor = '0';
      let calls = 0;
      do {
        if (calls === 10) {
          fs.renameSync(packRecords(v2, path.join(dir, 'next.data')), live);
          server.process.kill('SIGHUP');
          for (let i = 0; i < 200 && (await serverInfo(server.port)).reloads < 1; i++) await new Promise((r) => setTimeout(r, 25));
          expect((await serverInfo(server.port)).reloads).toBe(1);
        }
        const [next, batch] = (await ask('SCAN', cursor, 'COUNT', '100')) as [Buffer, Buffer[]];
        cursor = text(next);
        for (const k of batch) seen.add(k.toString('latin1'));
        calls++;
      } while (cursor !== '0');
      const inBoth = v2.filter(([k]) => v1.some(([k1]) => k1 === k));
      expect(inBoth.length).toBe(1500);
      const missed = inBoth.filter(([k]) => !seen.has(k as string));
      expect(missed).toEqual([]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 30_000);
});

describe('SCAN: bounded calls, the same keys over an iteration', () => {
  const records: Pair[] = Array.from({ length: 100_000 }, (_, i) => [uuidish(i), 'v']);
  const { ask } = serving(records);

  const cases: [string, string][] = [
    ['65,535 stars then a 7', `${'*'.repeat(65_535)}7`],
    ['a 65,533-byte class', `[${'a'.repeat(65_533)}]`],
    ['a class of every digit, then a star', `[${'0123456789'.repeat(6553)}]*`],
    ['1,000 star runs', `${'*0'.repeat(999)}*`],
  ];
  for (const [what, pattern] of cases) {
    it(`${what}, COUNT 100000: each call takes milliseconds, and the iteration finds what stringmatchlen would`, () => {
      const glob = new Glob(Buffer.from(pattern, 'latin1'));
      const expected = records.map(([k]) => k as string).filter((k) => glob.match(Buffer.from(k, 'latin1')));
      let longest = 0;
      let last = performance.now();
      const { keys, cursors } = iterate((...args) => {
        const reply = ask(...args);
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
        return reply;
      }, ['MATCH', pattern, 'COUNT', '100000'], '0', () => (last = performance.now()));
      expect(keys.sort()).toEqual(expected.sort());
      // Each call stops at SCAN_WORK (about 2 ms on an idle machine; the bound here leaves
      // room for a loaded one): before, one call of the first two took 7.6 s and 18.6 s.
      expect(longest).toBeLessThan(1000);
      expect(cursors.length).toBeGreaterThan(5);
    });
  }

  it('COUNT 100000 without MATCH: calls stop at the work bound, and the iteration returns every key once', () => {
    const { keys, cursors } = iterate(ask, ['COUNT', '100000']);
    expect(keys.length).toBe(records.length);
    expect(new Set(keys).size).toBe(records.length);
    expect(cursors.length).toBeGreaterThan(5);
  });

  it('a costly pattern stops a call early with a cursor to go on: fewer keys than COUNT, none skipped', () => {
    const long: Pair[] = Array.from({ length: 300 }, (_, i) => [`${'a'.repeat(2000)}${String(i).padStart(4, '0')}`, 'v']);
    const { ask: askLong } = serving(long);
    const pattern = `*${'a'.repeat(999)}b*`; // each key: ~1M steps of matching, never a match
    const [next, batch] = askLong('SCAN', '0', 'MATCH', pattern, 'COUNT', '1000') as [Buffer, Buffer[]];
    expect(batch).toEqual([]);
    expect(text(next)).not.toBe('0'); // stopped after a few keys (SCAN_WORK steps), not after all 300
    expect(SCAN_WORK).toBeLessThan(1_000_000);
    const all = iterate(askLong, ['MATCH', `*${'a'.repeat(999)}0*`, 'COUNT', '1000']);
    expect(all.keys.sort()).toEqual(long.map(([k]) => k as string).filter((k) => k.slice(2000).includes('0')).sort());
    expect(all.cursors.length).toBeGreaterThan(10);
  });
});
