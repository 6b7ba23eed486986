// The data file the load client checks answers against, held one of two ways
// (--storage): memory reads it whole into a SharedArrayBuffer that every load thread
// views, verified completely; mmap maps it read-only through the native addon, so a
// file larger than RAM works. With mmap the client trusts the file: the main thread
// checks its header only, and each load thread maps the file itself (a mapping cannot
// cross threads as a SharedArrayBuffer can).

import fs from 'node:fs';
import { FormatError } from '../errors.ts';
import { DataFile } from '../format/data-file.ts';
import { parseHeader } from '../format/header.ts';
import { HEADER_SIZE } from '../format/layout.ts';
import { loadDataFile } from '../format/load.ts';
import { readFully } from '../files.ts';
import { requireNativeStorage } from '../storage/native.ts';
import { openDataFile } from '../format/load.ts';

export const CLIENT_STORAGE = ['memory', 'mmap'] as const;
export type ClientStorage = (typeof CLIENT_STORAGE)[number];

/** What a load thread needs to see the main thread's bytes: the shared buffer, or the file's size to map it. */
export type DataShare = { storage: 'memory'; bytes: SharedArrayBuffer } | { storage: 'mmap'; size: number };

/** The main thread's view of `file`, and what its load threads need to view it too. */
export function openLoadData(file: string, storage: ClientStorage): { data: DataFile; share: DataShare } {
  if (storage === 'memory') {
    const data = loadDataFile(file, { shared: true });
    return { data, share: { storage, bytes: data.bytes.buffer as SharedArrayBuffer } };
  }
  const data = mapDataFile(file, null);
  return { data, share: { storage, size: data.bytes.byteLength } };
}

/** A load thread's view of the file the main thread opened (mmap: mapped again, here). */
export function attachLoadData(file: string, share: DataShare): DataFile {
  return share.storage === 'memory' ? DataFile.fromValidated(share.bytes, file) : mapDataFile(file, share.size);
}

/**
 * Maps `file` read-only after checking its header (nothing beyond it: trusted).
 * `size`: the size the main thread mapped, which the file must still have.
 */
function mapDataFile(file: string, size: number | null): DataFile {
  const native = requireNativeStorage('mmap');
  const opened = openDataFile(file);
  try {
    if (size !== null && opened.size !== size) throw new FormatError(`${file}: changed size during the run (${size} bytes, now ${opened.size})`);
    const first = Buffer.alloc(Math.min(opened.size, HEADER_SIZE));
    readFully(opened.fd, first, 0, file);
    parseHeader(first, opened.size, file);
    const mapping = native.map(opened.fd, opened.size); // stays valid once the descriptor is closed
    if (size !== null) native.advise(mapping, 'random'); // load threads read keys at random: no readahead
    return DataFile.fromValidated(mapping, file);
  } finally {
    fs.closeSync(opened.fd);
  }
}
