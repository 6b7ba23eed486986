// inspect --dump: pack → dump → pack gives a byte-identical file in every format that
// can carry the records (base64: any bytes); a format that cannot carry a record is
// refused before anything is written.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Pair, ROOT, packRecords, tempDir } from './helpers.ts';

function bin(name: string, args: string[], input?: Buffer) {
  return spawnSync(path.join(ROOT, 'bin', name), args, { input, cwd: ROOT });
}

/** Dumps `file` in `format`, packs the dump again, and returns both files' bytes. */
function roundTrip(file: string, format: 'tsv' | 'ndjson' | 'base64'): { original: Buffer; repacked: Buffer; dump: Buffer } {
  const dumped = bin('inspect', [file, '--dump', '--format', format]);
  expect(dumped.stderr.toString()).toBe('');
  expect(dumped.status).toBe(0);
  const repacked = path.join(tempDir(), 'repacked.data');
  const packArgs = format === 'tsv' ? ['-f', 'tsv'] : format === 'ndjson' ? ['-f', 'ndjson'] : ['-f', 'ndjson', '--base64'];
  const packed = bin('pack', ['-', ...packArgs, '-o', repacked, '-q'], dumped.stdout);
  expect(packed.stderr.toString()).toBe('');
  expect(packed.status).toBe(0);
  return { original: fs.readFileSync(file), repacked: fs.readFileSync(repacked), dump: dumped.stdout };
}

const BINARY: Pair[] = [
  [Buffer.from([0xef, 0xbb, 0xbf, 0x41]), 'a key starting with a byte-order mark'],
  [Buffer.from('tab\there'), Buffer.from('line\nfeed')],
  [Buffer.from([0xff, 0xfe, 0x00, 0x80]), Buffer.from([0x00, 0x0d])],
  [Buffer.from('cr\rinside'), Buffer.from('ends with CR\r')],
  [Buffer.from([0xc3]), Buffer.alloc(0)],
  ...Array.from({ length: 50 }, (_, i): Pair => [Buffer.from([i, 0x0a, 0x09, 255 - i]), Buffer.alloc(i * 7, i)]),
];

describe('inspect --dump', () => {
  it('base64 carries any bytes: the repacked file is byte-identical', () => {
    const file = packRecords(BINARY);
    const { original, repacked, dump } = roundTrip(file, 'base64');
    expect(dump.toString().trim().split('\n')).toHaveLength(BINARY.length);
    expect(repacked.equals(original)).toBe(true);
  });

  it('ndjson carries UTF-8 text (quotes, backslashes, control characters, emoji) byte-identically', () => {
    const file = packRecords([
      ['plain', 'value'], ['quote"and\\backslash', 'tab\tnewline\ncr\r'], ['emoji 🚀', 'ünïcödé'], ['\u0000nul', '\u2028\u2029'], ['\ufeffbom first?', 'x'],
    ]);
    const { original, repacked } = roundTrip(file, 'ndjson');
    expect(repacked.equals(original)).toBe(true);
  });

  it('tsv round trip of the 1,000-record fixture style data is byte-identical, in file order', () => {
    const records: Pair[] = Array.from({ length: 1000 }, (_, i) => [`key-${i}`, `value ${i} with spaces\tand a tab`]);
    const file = packRecords(records);
    const { original, repacked, dump } = roundTrip(file, 'tsv');
    expect(repacked.equals(original)).toBe(true);
    expect(dump.toString().split('\n')[0]).toMatch(/^key-\d+\tvalue \d+ with spaces\tand a tab$/);
  });

  it('any binary records survive pack → dump (base64) → pack unchanged', () => {
    const bytes = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a));
    fc.assert(fc.property(fc.uniqueArray(fc.tuple(bytes.filter((k) => k.length > 0), bytes), { minLength: 1, maxLength: 30, selector: ([k]) => k.toString('hex') }), (records) => {
      const file = packRecords(records);
      const { original, repacked } = roundTrip(file, 'base64');
      return repacked.equals(original);
    }), { numRuns: 8 });
  }, 120_000);

  it('refuses a format that cannot carry a record, naming it, before writing anything', () => {
    const file = packRecords([['fine', 'x'], ['also fine', 'y'], [Buffer.from('tab\tkey'), 'z']]);
    const tsv = bin('inspect', [file, '--dump']);
    expect(tsv.status).toBe(1);
    expect(tsv.stdout.length).toBe(0);
    expect(tsv.stderr.toString()).toMatch(/^inspect: record \d cannot be written as tsv: its key holds a tab; use --format base64 \(any bytes\)\n$/);
    const binary = packRecords([['ok', 'x'], ['bad', Buffer.from([0xff])]]);
    const ndjson = bin('inspect', [binary, '--dump', '--format', 'ndjson']);
    expect(ndjson.status).toBe(1);
    expect(ndjson.stdout.length).toBe(0);
    expect(ndjson.stderr.toString()).toMatch(/^inspect: record \d cannot be written as ndjson: its value is not UTF-8 text; use --format base64/);
  });

  it('rejects --format without --dump, an unknown format and --dump with --json, in one line each', () => {
    const file = path.join(ROOT, 'data', 'fixture.data');
    for (const [args, message] of [
      [['--format', 'tsv'], /^inspect: --format goes with --dump; see --help\n$/],
      [['--dump', '--format', 'csv'], /^inspect: option '--format <format>' argument 'csv' is invalid\. Allowed choices are tsv, ndjson, base64; see --help\n$/],
      [['--dump', '--json'], /^inspect: --dump and --json do not go together; see --help\n$/],
    ] as const) {
      const run = bin('inspect', [file, ...args]);
      expect(run.stderr.toString()).toMatch(message);
      expect(run.status).toBe(2);
      expect(run.stdout.length).toBe(0);
    }
  });

  it('a corrupt file is refused without dumping a line', () => {
    const bytes = fs.readFileSync(packRecords([['a', '1'], ['b', '2']]));
    bytes[bytes.length - 20] ^= 0xff;
    const file = path.join(tempDir(), 'corrupt.data');
    fs.writeFileSync(file, bytes);
    const run = bin('inspect', [file, '--dump', '--format', 'base64']);
    expect(run.status).not.toBe(0);
    expect(run.stdout.length).toBe(0);
    expect(run.stderr.toString().trim().split('\n')).toHaveLength(1);
  });
});
