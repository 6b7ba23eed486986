// tools/generate.ts: deterministic for a seed, the default record shape, other shapes.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { runTool, tempDir } from './helpers.ts';

function generate(args: string[]): string {
  const output = path.join(tempDir(), 'gen.data');
  const run = runTool('tools/generate.ts', ['--quiet', '-o', output, ...args]);
  expect(run.status, run.stderr).toBe(0);
  return output;
}

describe('generator', () => {
  it('same count and seed give the same bytes; another seed another data set', () => {
    const a = fs.readFileSync(generate(['--count', '5000', '--seed', '42']));
    const b = fs.readFileSync(generate(['--count', '5000', '--seed', '42']));
    const c = fs.readFileSync(generate(['--count', '5000', '--seed', '43']));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('default shape: UUIDv4 keys, a–z values of 1..99 bytes', () => {
    const data = loadDataFile(generate(['--count', '10K']));
    expect(data.recordCount).toBe(10_000);
    const lengths = new Set<number>();
    for (const record of data.recordOffsets()) {
      expect(data.key(record).toString('latin1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const value = data.value(record).toString('latin1');
      expect(value).toMatch(/^[a-z]{1,99}$/);
      lengths.add(value.length);
    }
    expect(lengths.size).toBe(99); // every length 1..99 occurs in 10,000 records
  });

  it('other shapes: alnum keys and fixed-length byte values', () => {
    const data = loadDataFile(generate(['--count', '300', '--keys', 'alnum', '--key-length', '12-16', '--values', 'bytes', '--value-length', '7']));
    for (const record of data.recordOffsets()) {
      expect(data.key(record).toString('latin1')).toMatch(/^[A-Za-z0-9]{12,16}$/);
      expect(data.value(record).length).toBe(7);
    }
  });

  it('refuses a bad count with a clear message', () => {
    const run = runTool('tools/generate.ts', ['--count', 'lots']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/"lots" is not a count/);
  });
});
