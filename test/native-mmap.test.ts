// The mmap tier's native addon (native/rokv_mmap.c) and its loader (src/storage/native.ts),
// on real files in the temp directory. Without a C compiler the addon is not built; then
// only the loader's "not built" error is tested.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.ts';
import { ADDON_PATH, mapReadOnly, nativeStorage, nativeStorageReason, requireNativeStorage } from '../src/storage/native.ts';
import { ROOT, tempDir } from './helpers.ts';

const native = nativeStorage();
const hasCompiler = spawnSync('sh', ['-c', 'command -v cc']).status === 0;

/** A file of `size` random bytes, written and fsynced; returns its path, bytes and a read-only fd. */
function randomFile(size: number): { file: string; bytes: Buffer; fd: number } {
  const file = path.join(tempDir(), 'mapped.bin');
  const bytes = crypto.randomBytes(size);
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  fs.fsyncSync(fd);
  return { file, bytes, fd };
}

function mappedInThisProcess(file: string): boolean {
  return fs.readFileSync('/proc/self/maps', 'utf8').includes(file);
}

/** Collects garbage until `done()` (finalizers run after a collection, from the event loop). */
async function collectUntil(done: () => boolean): Promise<boolean> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 20 && !done(); i++) {
    gc();
    await sleep(20);
  }
  return done();
}

describe('the native addon loader', () => {
  it('is built wherever there is a C compiler (make build runs make addon)', () => {
    if (hasCompiler) expect(nativeStorageReason(), `${ADDON_PATH}: run 'make addon'`).toBeNull();
  });

  it('gives one line naming the missing addon and what to do instead', () => {
    const missing = path.join(ROOT, 'build', 'no-such-addon.node');
    expect(nativeStorage(missing)).toBeNull();
    expect(nativeStorageReason(missing)).toBe('not found');
    const error = (() => {
      try {
        requireNativeStorage('mmap', missing);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      "--storage mmap needs rokv's native addon, which is not built here (build/no-such-addon.node: not found); " +
        "run 'make addon' (needs a C compiler), or use --storage memory or disk",
    );
  });

  it('gives one line when the file is not a loadable addon', () => {
    const bogus = path.join(tempDir(), 'bogus.node');
    fs.writeFileSync(bogus, 'not an ELF file\n');
    expect(() => requireNativeStorage('mmap', bogus)).toThrow(InputError);
    const reason = nativeStorageReason(bogus) as string;
    expect(reason).toMatch(/\S/);
    expect(reason).not.toContain('\n');
  });
});

describe.skipIf(!native)('the native mmap addon', () => {
  const addon = native!;
  const page = native?.pageSize() ?? 4096; // a skipped describe's body still runs

  it('maps a file to exactly its bytes, and two maps of it see the same bytes', () => {
    const { file, bytes, fd } = randomFile(3 * 1024 * 1024 + 123);
    const one = Buffer.from(addon.map(fd, bytes.length));
    const two = mapReadOnly(fd, bytes.length);
    expect(one.length).toBe(bytes.length);
    expect(one.equals(fs.readFileSync(file))).toBe(true);
    expect(two.equals(one)).toBe(true);
    expect(two.buffer).not.toBe(one.buffer);
    // MAP_SHARED: both see a write to the file (the server's data files are never written).
    const writer = fs.openSync(file, 'r+');
    fs.writeSync(writer, Buffer.from([one[5000] ^ 0xff]), 0, 1, 5000);
    fs.closeSync(writer);
    expect(one[5000]).toBe(bytes[5000] ^ 0xff);
    expect(two[5000]).toBe(one[5000]);
    fs.closeSync(fd);
  });

  it('reports resident bytes, and fadviseDontNeed evicts the file', () => {
    const { bytes, fd } = randomFile(8 * 1024 * 1024 + 123);
    const mapping = addon.map(fd, bytes.length);
    addon.fadviseDontNeed(fd, 0, 0);
    // Pages this process has not touched are evicted (the cache may keep a few).
    expect(addon.residentBytes(mapping)).toBeLessThan(bytes.length);
    const view = new Uint8Array(mapping);
    let sum = 0;
    for (let i = 0; i < view.length; i += page) sum += view[i];
    expect(sum).toBeGreaterThan(0);
    // Every page read; only the last page's mapped bytes count. Memory pressure may evict a few.
    const resident = addon.residentBytes(mapping);
    expect(resident).toBeLessThanOrEqual(bytes.length);
    expect(resident).toBeGreaterThan(bytes.length * 0.9);
    // Pages mapped into this process stay until advise('dontneed') drops them from it.
    addon.advise(mapping, 'dontneed');
    addon.fadviseDontNeed(fd, 0, 0);
    expect(addon.residentBytes(mapping)).toBeLessThan(resident);
    expect(view[7]).toBe(bytes[7]);
    fs.closeSync(fd);
  });

  it('takes every advice over any range of the mapping, and refuses others', () => {
    const { bytes, fd } = randomFile(5 * page + 10);
    const mapping = addon.map(fd, bytes.length);
    for (const advice of ['normal', 'random', 'sequential', 'willneed', 'dontneed'] as const) {
      expect(addon.advise(mapping, advice)).toBeUndefined();
      addon.advise(mapping, advice, page + 1, 2 * page);
      addon.advise(mapping, advice, bytes.length - 1, 1);
      addon.advise(mapping, advice, bytes.length);
    }
    expect(Buffer.from(mapping).equals(bytes)).toBe(true);
    expect(() => addon.advise(mapping, 'bogus' as 'random')).toThrow(/advice must be 'normal', 'random'/);
    expect(() => addon.advise(mapping, 'random', bytes.length + 1)).toThrow(/offset must be an integer from 0 to/);
    expect(() => addon.advise(mapping, 'random', 10, bytes.length)).toThrow(/length must be an integer from 0 to/);
    // Only mappings: MADV_DONTNEED would zero a heap ArrayBuffer.
    expect(() => addon.advise(new ArrayBuffer(page), 'dontneed')).toThrow(/expected an ArrayBuffer returned by map\(\)/);
    expect(() => addon.residentBytes(new Uint8Array(mapping) as unknown as ArrayBuffer)).toThrow(TypeError);
    fs.closeSync(fd);
  });

  it('unmaps a mapping once its last view is collected, not before', async () => {
    const { file, bytes, fd } = randomFile(64 * 1024);
    let view: Uint8Array | null = (() => {
      const whole = mapReadOnly(fd, bytes.length);
      return whole.subarray(100, 200);
    })();
    fs.closeSync(fd);
    expect(mappedInThisProcess(file)).toBe(true);
    await collectUntil(() => false);
    expect(mappedInThisProcess(file)).toBe(true);
    expect(view[0]).toBe(bytes[100]);
    view = null;
    expect(await collectUntil(() => !mappedInThisProcess(file))).toBe(true);
  });

  it('refuses length 0, a length past the end, a bad fd and a file that cannot be mapped (with the errno)', () => {
    const { fd } = randomFile(100);
    expect(() => addon.map(fd, 0)).toThrow(/map: length must be at least 1 byte \(an empty file cannot be mapped\)/);
    expect(() => addon.map(fd, -1)).toThrow(RangeError);
    expect(() => addon.map(fd, 1.5)).toThrow(RangeError);
    expect(() => addon.map(fd, 101)).toThrow('map: length 101 is past the end of the file (100 bytes)');
    expect(() => addon.map('3' as unknown as number, 1)).toThrow(TypeError);
    fs.closeSync(fd);
    expect(() => addon.map(fd, 100)).toThrow(expect.objectContaining({ code: 'EBADF', message: `mmap(fd ${fd}, 100 bytes): Bad file descriptor` }));
    const dir = fs.openSync(tempDir(), 'r');
    expect(() => addon.map(dir, 100)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    fs.closeSync(dir);
    expect(() => addon.fadviseDontNeed(fd, 0, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  // The hazard the tier's documentation states: a data file truncated under a server that maps it.
  it('dies of SIGBUS touching mapped bytes after the file was truncated from outside', async () => {
    const { file, fd } = randomFile(1024 * 1024);
    fs.closeSync(fd);
    const script = `
      const fs = require('node:fs');
      const addon = require(${JSON.stringify(ADDON_PATH)});
      const fd = fs.openSync(${JSON.stringify(file)}, 'r');
      const bytes = new Uint8Array(addon.map(fd, fs.fstatSync(fd).size));
      console.log('first byte ' + bytes[0]);
      process.stdin.once('data', () => { console.log('touching'); console.log('read ' + bytes[0]); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let told = false;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      // Once: a later chunk ('touching') would write again to a child that died meanwhile (EPIPE, 1 of 3 full runs).
      if (!told && stdout.includes('first byte')) {
        told = true;
        fs.truncateSync(file, 0);
        child.stdin.write('go\n');
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect({ code, signal, stderr }).toEqual({ code: null, signal: 'SIGBUS', stderr: '' });
    expect(stdout).toMatch(/^first byte \d+\ntouching\n$/);
  });
});
