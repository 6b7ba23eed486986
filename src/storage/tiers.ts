// Where a data version's records live — the one swap point between the tiers:
// memory (the whole file read into one Buffer), mmap (the file mapped read-only and
// served from the page cache) and disk (the index in memory, records read on demand).
//
// A version is opened and verified once (openVersion: off the event loop for a hot
// swap), as a VersionFile: plain data that crosses threads by postMessage, so every
// event loop of the process serves the same version (the same shared bytes, the same
// mapping's pages, the same descriptor). recordsOf() turns it into what one loop
// serves: a synchronous Records (memory, mmap), or DiskRecords (disk).

import fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { FormatError, InputError } from '../errors.ts';
import { DataFile, type LoadProgress, PROGRESS_STEP } from '../format/data-file.ts';
import { type HeaderSummary, parseHeader } from '../format/header.ts';
import { HEADER_SIZE } from '../format/layout.ts';
import { readFully } from '../files.ts';
import { DiskRecords, type ReadLimiter } from './disk.ts';
import { nativeStorage, requireNativeStorage } from './native.ts';
import type { Records } from './records.ts';
import type { KeyVisitor } from '../format/records-check.ts';
import { openDataFile } from '../format/load.ts';
import { verifyFile } from './verify.ts';

export const STORAGE_TIERS = ['memory', 'mmap', 'disk'] as const;
export type StorageTier = (typeof STORAGE_TIERS)[number];

/** A verified data version as it crosses threads: everything a loop needs to serve it. */
export interface VersionFile {
  tier: StorageTier;
  /** The path it was opened as, for messages. */
  source: string;
  /** The open descriptor (mmap, disk; -1 for memory): the verified file, whatever the path names later. */
  fd: number;
  size: number;
  header: HeaderSummary;
  /** memory: the whole file; disk: the index section; mmap: null (each loop maps fd). */
  shared: ArrayBufferLike | null;
}

export interface OpenOptions {
  /** The bytes will be served by several threads (memory: a SharedArrayBuffer). */
  shared?: boolean;
  /** Called with the header once it is read: returns a visitor for every key (the cluster shard check), or null. */
  onHeader?: (header: HeaderSummary) => KeyVisitor | null;
  /** Told how far reading and checking have come (the server's progress line at start). */
  onProgress?: LoadProgress;
}

/**
 * Opens `file` for `tier` and verifies it completely (header, checksums, structure).
 * Throws FormatError naming the first problem, having closed what it opened.
 * Checks the tier can run here (mmap: the native addon) before reading anything.
 */
export function openVersion(file: string, tier: StorageTier, options: OpenOptions = {}): VersionFile {
  if (tier === 'mmap') requireNativeStorage('mmap');
  const opened = openDataFile(file);
  let version: VersionFile | null = null;
  try {
    version = verifyOpened(opened, file, tier, options);
    return version;
  } finally {
    if (version === null || version.fd < 0) fs.closeSync(opened.fd);
  }
}

/**
 * Verifies the file open as `opened` for `tier` (any thread: a worker thread verifies
 * for the main one). The version keeps the descriptor (mmap, disk: fd is opened.fd) or
 * not (memory: fd is -1); either way the descriptor stays the opener's to close, since
 * one opened in a worker thread would be closed when that thread exits.
 */
export function verifyOpened(opened: { fd: number; size: number }, file: string, tier: StorageTier, options: OpenOptions = {}): VersionFile {
  const { fd, size } = opened;
  if (tier === 'memory') return readWhole(fd, size, file, options);
  // disk: the index is read straight into the shared memory it is served from (no second copy).
  const verified = verifyFile(fd, size, file, { shared: tier === 'disk', onHeader: options.onHeader, onProgress: options.onProgress });
  if (tier === 'mmap') {
    (verified.index.buffer as ArrayBuffer).transfer(0); // the mapping serves the index: free the copy now, not at some later GC
    return { tier, source: file, fd, size, header: verified.header, shared: null };
  }
  return { tier, source: file, fd, size, header: verified.header, shared: verified.index.buffer as SharedArrayBuffer };
}

/**
 * The memory tier: the whole file in one Buffer (shared memory for worker threads),
 * validated there. The header is judged first, from its own bytes and the file's real
 * size, so a file that is not a data file is refused before its size is allocated.
 */
function readWhole(fd: number, size: number, file: string, options: OpenOptions): VersionFile {
  const first = Buffer.alloc(Math.min(size, HEADER_SIZE));
  readFully(fd, first, 0, file);
  parseHeader(first, size, file);
  if (size > bufferConstants.MAX_LENGTH) {
    throw new FormatError(`${file}: ${size} bytes is more than one Buffer can hold here (${bufferConstants.MAX_LENGTH}); serve it with --storage mmap or disk`);
  }
  const shared = new SharedArrayBuffer(size);
  const bytes = Buffer.from(shared);
  for (let at = 0; at < size; at += PROGRESS_STEP) {
    readFully(fd, bytes.subarray(at, Math.min(size, at + PROGRESS_STEP)), at, file);
    options.onProgress?.('reading', Math.min(size, at + PROGRESS_STEP), size);
  }
  const data = new DataFile(bytes, file, { onHeader: options.onHeader, onProgress: options.onProgress });
  return { tier: 'memory', source: file, fd: -1, size, header: data.header, shared };
}


/** What one event loop serves of a version: synchronous records, or the disk tier's. */
export interface Served {
  /** memory and mmap: every record, synchronously. */
  records: DataFile | null;
  /** disk: the index, with records fetched on demand. */
  disk: DiskRecords | null;
}

/** Turns a verified version into what this loop serves (mmap: maps its descriptor here). */
export function recordsOf(version: VersionFile, limiter: ReadLimiter): Served {
  switch (version.tier) {
    case 'memory':
      return { records: DataFile.fromValidated(version.shared as ArrayBufferLike, version.source), disk: null };
    case 'mmap': {
      const native = requireNativeStorage('mmap');
      const mapping = native.map(version.fd, version.size);
      // Lookups touch pages at random: readahead would read megabytes per fault.
      native.advise(mapping, 'random');
      return { records: DataFile.fromValidated(mapping, version.source), disk: null };
    }
    case 'disk':
      return { records: null, disk: new DiskRecords(version.fd, version.header, Buffer.from(version.shared as SharedArrayBuffer), version.source, limiter) };
  }
}

/** The memory tier's version of a DataFile already loaded in this thread (tests, tools). */
export function memoryVersionOf(data: DataFile): VersionFile {
  const bytes = data.bytes;
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) throw new Error('memoryVersionOf: the DataFile must own its whole buffer');
  return { tier: 'memory', source: data.source, fd: -1, size: bytes.byteLength, header: data.header, shared: bytes.buffer };
}

/**
 * A probe of how many bytes of `version`'s file are in memory now, for /metrics: the
 * whole file (memory), or its pages in the page cache (mmap, disk: mincore over a
 * mapping of the probe's own, made now while the descriptor is open and unmapped when
 * the probe is collected; asked at most once a second); -1 without the native addon.
 * Reads nothing of the file.
 */
export function residencyProbe(version: VersionFile): () => number {
  const native = nativeStorage();
  if (version.tier === 'memory') return () => version.size;
  if (native === null) return () => -1;
  const mapping = native.map(version.fd, version.size);
  return atMostEvery(RESIDENCY_EVERY_MS, () => native.residentBytes(mapping));
}

/** How often the kernel is asked what of a file is cached (mincore walks every page: ~ms per GB). */
export const RESIDENCY_EVERY_MS = 1000;

/** `read`, called at most once per `ms`: between, its last answer. */
export function atMostEvery(ms: number, read: () => number): () => number {
  let at = -Infinity;
  let value = 0;
  return () => {
    const now = performance.now();
    if (now - at >= ms) {
      value = read();
      at = now;
    }
    return value;
  };
}

/** Closes what the version holds open (its descriptor); its loops must be done with it. */
export function closeVersion(version: VersionFile): void {
  if (version.fd >= 0) fs.closeSync(version.fd);
}

/** Parses --storage. */
export function parseTier(text: string): StorageTier {
  if ((STORAGE_TIERS as readonly string[]).includes(text)) return text as StorageTier;
  throw new InputError(`--storage must be one of ${STORAGE_TIERS.join(', ')} (got '${text}')`);
}

export type { Records };
