// bin/client --storage mmap against a real server (disk tier): each load thread maps the
// data file itself and checks every answer against it, as the default (memory) does;
// it still catches wrong answers, and refuses a file whose header is not a data file's.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeStorage } from '../src/storage/native.ts';
import { type Pair, packRecords, runBin, tempDir } from './helpers.ts';
import { serveRecords } from './server-helpers.ts';

const records: Pair[] = [];
for (let i = 0; i < 5000; i++) records.push([`key-${i}`, `value-${i}-${'y'.repeat(i % 70)}`]);
records.push(['empty', '']);

const running = serveRecords(records, ['--storage', 'disk']);

function client(args: string[], dataFile = running.file) {
  return runBin('client', [dataFile, '--port', String(running.server.port), '--json', '--clients', '4', '--threads', '2', '--pipeline', '8', ...args]);
}

describe('bin/client --storage', () => {
  it('memory, the default, still checks every answer', () => {
    const run = client(['--requests', '20000', '--miss-ratio', '0.1']);
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.requests).toBe(20_000);
    expect(r.hits + r.misses).toBe(20_000);
    expect(r.errors + r.mismatches + r.lost_connections).toBe(0);
  });

  it.skipIf(!nativeStorage())('mmap: every thread maps the file, 0 mismatches', () => {
    const run = client(['--storage', 'mmap', '--requests', '20000', '--miss-ratio', '0.1']);
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.requests).toBe(20_000);
    expect(r.threads).toBe(2);
    expect(r.hits).toBeGreaterThan(15_000);
    expect(r.hits + r.misses).toBe(20_000);
    expect(r.errors + r.mismatches + r.lost_connections).toBe(0);
  });

  it.skipIf(!nativeStorage())('mmap: wrong answers are caught', () => {
    const changed = records.map(([k, v], i): Pair => [k, i % 100 === 7 ? `${v}!` : v]);
    const expected = packRecords(changed, path.join(tempDir(), 'expected.data'));
    const run = client(['--storage', 'mmap', '--requests', '20000'], expected);
    expect(run.status).toBe(1);
    const r = JSON.parse(run.stdout);
    expect(r.mismatches).toBeGreaterThan(0);
    expect(r.hits + r.mismatches).toBe(20_000);
    expect(r.examples[0].expected).toMatch(/!"$/);
  });

  it.skipIf(!nativeStorage())('mmap: a file that is not a data file is refused by its header', () => {
    const bogus = path.join(tempDir(), 'bogus.data');
    fs.writeFileSync(bogus, Buffer.alloc(4096, 0x41));
    const run = client(['--storage', 'mmap', '--requests', '10'], bogus);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/not a rokv data file/);
    expect(run.stdout).toBe('');
  });

  it('--storage takes memory or mmap only', () => {
    const run = client(['--storage', 'disk']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--storage/);
  });
});
