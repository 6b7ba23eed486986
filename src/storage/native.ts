// The typed loader of rokv's native addon (native/rokv_mmap.c, built by `make addon` into
// build/rokv_mmap.node), which the --storage mmap tier needs. The addon is loaded on first
// use, once; when it is not built or does not load, nativeStorage() is null and says why.
// The npm package ships no binary: there the addon is never found, and the memory and
// disk tiers are the ones available.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.ts';

/** The addon's functions; see native/rokv_mmap.c for each one's full contract. */
export interface NativeMmap {
  /** A read-only shared mapping of the first `length` bytes of `fd`, unmapped when collected. */
  map(fd: number, length: number): ArrayBuffer;
  /** madvise() on the pages holding bytes [offset, offset + length) of a mapping from map(). */
  advise(mapping: ArrayBuffer, advice: 'normal' | 'random' | 'sequential' | 'willneed' | 'dontneed', offset?: number, length?: number): void;
  /** Bytes of a mapping from map() (or of bytes [offset, offset + length) of it) that are in the page cache now. */
  residentBytes(mapping: ArrayBuffer, offset?: number, length?: number): number;
  /** Evicts the file's clean, unmapped pages in the range from the page cache (length 0: to the end). */
  fadviseDontNeed(fd: number, offset: number, length: number): void;
  pageSize(): number;
}

// The project root is two folders up from both src/storage/ and dist/storage/.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ADDON_PATH = path.join(ROOT, 'build', 'rokv_mmap.node');

type Loaded = { addon: NativeMmap; reason: null } | { addon: null; reason: string };
const loaded = new Map<string, Loaded>();

function load(file: string): Loaded {
  let result = loaded.get(file);
  if (!result) {
    try {
      result = { addon: createRequire(import.meta.url)(file) as NativeMmap, reason: null };
    } catch (error) {
      const err = error as NodeJS.ErrnoException;
      const reason = err.code === 'MODULE_NOT_FOUND' ? 'not found' : String(err.message).split('\n')[0];
      result = { addon: null, reason };
    }
    loaded.set(file, result);
  }
  return result;
}

/** The addon, or null when it is not built or does not load (then nativeStorageReason() says why). */
export function nativeStorage(file = ADDON_PATH): NativeMmap | null {
  return load(file).addon;
}

/** Why nativeStorage() is null, in a few words ("not found"), or null when it loaded. */
export function nativeStorageReason(file = ADDON_PATH): string | null {
  return load(file).reason;
}

/** The addon, or an InputError of one line saying it is not built and what to do instead. */
export function requireNativeStorage(tier: string, file = ADDON_PATH): NativeMmap {
  const { addon, reason } = load(file);
  if (addon) return addon;
  const shown = path.relative(ROOT, file).startsWith('..') ? file : path.relative(ROOT, file);
  throw new InputError(
    `--storage ${tier} needs rokv's native addon, which is not built here (${shown}: ${reason}); ` +
      `run 'make addon' (needs a C compiler), or use --storage memory or disk`,
  );
}

/** A Buffer over a read-only shared mapping of the first `length` (≥ 1) bytes of `fd`. */
export function mapReadOnly(fd: number, length: number): Buffer {
  return Buffer.from(requireNativeStorage('mmap').map(fd, length));
}
