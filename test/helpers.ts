// Test helpers: temporary folders, packing records into a file, running the CLIs.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PackWriter, type PackWriterOptions } from '../src/format/writer.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rokv-test-'));
}

export type Pair = [Buffer | string, Buffer | string];

export function packRecords(records: Pair[], file = path.join(tempDir(), 'test.data'), options?: PackWriterOptions): string {
  const writer = new PackWriter(file, options);
  for (const [key, value] of records) writer.add(Buffer.from(key), Buffer.from(value));
  writer.finish();
  return file;
}

/** Runs bin/NAME with arguments; input goes to its stdin. */
export function runBin(name: string, args: string[], input?: string | Buffer): SpawnSyncReturns<string> {
  return spawnSync(path.join(ROOT, 'bin', name), args, { input, encoding: 'utf8', cwd: ROOT });
}

export function runTool(script: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(ROOT, script), ...args], { encoding: 'utf8', cwd: ROOT });
}

/** bytes split into chunks at the given positions (taken modulo its length + 1). */
export function cut(bytes: Buffer, positions: number[]): Buffer[] {
  const cuts = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const c of cuts) {
    chunks.push(bytes.subarray(last, c));
    last = c;
  }
  chunks.push(bytes.subarray(last));
  return chunks;
}
