// Reads a data file from disk into one Buffer (in chunks, so files past 2 GiB load),
// optionally backed by a SharedArrayBuffer for worker threads, and validates it.

import fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { FormatError } from '../errors.ts';
import { checkRegularFile, readFully, reasonOf } from '../files.ts';
import { DataFile } from './data-file.ts';

export interface LoadOptions {
  /** Back the Buffer with a SharedArrayBuffer that worker threads can view. */
  shared?: boolean;
}

/** Opens `file` for reading (a regular file, checked before open so a FIFO cannot block). */
export function openDataFile(file: string): { fd: number; size: number } {
  try {
    checkRegularFile(file);
  } catch (error) {
    throw new FormatError((error as Error).message);
  }
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new FormatError(`cannot open ${file}: ${reasonOf(error)}`);
  }
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    fs.closeSync(fd);
    throw new FormatError(`${file}: not a regular file`);
  }
  return { fd, size: stat.size };
}

function readFileBytes(file: string, options: LoadOptions = {}): Buffer {
  const { fd, size } = openDataFile(file);
  try {
    if (size > bufferConstants.MAX_LENGTH) {
      throw new FormatError(`${file}: ${size} bytes is more than one Buffer can hold here (${bufferConstants.MAX_LENGTH})`);
    }
    const bytes = options.shared ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafeSlow(size);
    readFully(fd, bytes, 0, file); // in chunks of at most 1 GiB
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}

export function loadDataFile(file: string, options: LoadOptions = {}): DataFile {
  return new DataFile(readFileBytes(file, options), file);
}
