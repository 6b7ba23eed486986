// Files a tool writes: checks an output path before any work is done (its folder
// exists and is writable, it is not a folder, it is not one of the inputs), creates
// output folders one level at a time, and turns system errors into one line that
// names the path and the reason. Also writeFully/readFully: a buffer of any size written
// or read at a file position in bounded calls (one fs call takes less than 2 GiB).

import fs from 'node:fs';
import path from 'node:path';
import { FormatError, InputError } from './errors.ts';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'it already exists',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
  EFBIG: 'file too large',
};

/** A system error's reason in words ("no space left on device"), or its message. */
export function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  return (code && REASONS[code]) ?? (error as Error)?.message ?? String(error);
}

/** An InputError "cannot write PATH: reason" for a system error while writing. */
export function writeError(file: string, error: unknown): Error {
  if (error instanceof InputError) return error;
  return new InputError(`cannot write ${file}: ${reasonOf(error)}`);
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}

/** Throws one clear InputError unless `output` can be written as a new file beside nothing it must not replace. */
export function checkOutputFile(output: string, inputs: string[] = []): void {
  if (output === '') throw new InputError('the output path is empty');
  for (const input of inputs) {
    if (input !== '-' && fs.existsSync(output) && sameFile(input, output)) {
      throw new InputError(`${output} is also the input: writing it would destroy the input; choose another output`);
    }
  }
  let stat: fs.Stats | null = null;
  try {
    stat = fs.statSync(output);
  } catch {
    // a new file
  }
  if (stat?.isDirectory()) throw new InputError(`cannot write ${output}: it is a folder (give a file name)`);
  const folder = path.dirname(path.resolve(output));
  let folderStat: fs.Stats;
  try {
    folderStat = fs.statSync(folder);
  } catch (error) {
    throw new InputError(`cannot write ${output}: folder ${folder} ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${reasonOf(error)})`}`);
  }
  if (!folderStat.isDirectory()) throw new InputError(`cannot write ${output}: ${folder} is not a folder`);
  try {
    fs.accessSync(folder, fs.constants.W_OK);
  } catch (error) {
    throw new InputError(`cannot write ${output}: folder ${folder} is not writable (${reasonOf(error)})`);
  }
}

/** Creates `folder` and any missing parents, one level at a time; one clear InputError on failure. */
export function makeFolder(folder: string): void {
  const missing: string[] = [];
  let at = path.resolve(folder);
  for (;;) {
    let stat: fs.Stats | null = null;
    try {
      stat = fs.statSync(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`cannot create folder ${folder}: ${reasonOf(error)}`);
    }
    if (stat) {
      if (!stat.isDirectory()) throw new InputError(`cannot create folder ${folder}: ${at} is not a folder`);
      break;
    }
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const level of missing) {
    try {
      fs.mkdirSync(level);
    } catch (error) {
      throw new InputError(`cannot create folder ${folder}: ${reasonOf(error)}`);
    }
  }
}

/** Throws unless `file` is a regular file (a FIFO or device would block or never end). */
export function checkRegularFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw new InputError(`cannot open ${file}: ${reasonOf(error)}`);
  }
  if (!stat.isFile()) throw new InputError(`${file}: not a regular file${stat.isFIFO() ? ' (a FIFO: pipe it through standard input instead)' : stat.isDirectory() ? ' (a folder)' : ''}`);
}

/** Writes `text` to `file` through a temporary file and a rename: never a partial file. */
export function writeFileAtomic(file: string, text: string): void {
  const temp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw writeError(file, error);
  }
}

/**
 * The most writeFully/readFully hand to one fs.writeSync/readSync: Node refuses a
 * length of 2^31 or more (ERR_OUT_OF_RANGE), and Linux moves at most 2^31 − 4096
 * bytes per call, so an index or value past 2 GiB must go in several calls.
 *
 * Code that compares or subtracts the size of a buffer that may pass 2 GiB reads
 * `byteLength`, not `length`: on Node 26.10 (V8 14.6) Maglev miscompiles
 * `b.length > n` and `b.length - n` for a typed array past 2^31 in a function that
 * has run on small ones (the loop below then ends at once and writes nothing).
 */
export const IO_CHUNK = 1 << 30;

/** `chunk` as given to writeFully/readFully: an integer in 1..IO_CHUNK (tests lower it; nothing raises it). */
export function checkIoChunk(chunk: number): number {
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > IO_CHUNK) throw new RangeError(`I/O chunk ${chunk} is not an integer in 1..${IO_CHUNK}`);
  return chunk;
}

/**
 * Writes all of `bytes` to `fd` at file offset `position`, in calls of at most `chunk`
 * bytes (IO_CHUNK unless a test passes a smaller one to exercise the loop), going on
 * after short writes. System errors are thrown as they are (callers name the file).
 */
export function writeFully(fd: number, bytes: Uint8Array, position: number, chunk = IO_CHUNK): void {
  checkIoChunk(chunk);
  const total = bytes.byteLength; // not .length: see IO_CHUNK
  for (let done = 0; done < total;) {
    done += fs.writeSync(fd, bytes, done, Math.min(chunk, total - done), position + done);
  }
}

/**
 * Fills all of `bytes` from `fd` starting at file offset `position`, in calls of at
 * most `chunk` bytes, going on after short reads. A read that returns nothing before
 * the end is a FormatError naming `file`: the file shrank while being read.
 */
export function readFully(fd: number, bytes: Uint8Array, position: number, file: string, chunk = IO_CHUNK): void {
  checkIoChunk(chunk);
  const total = bytes.byteLength; // not .length: see IO_CHUNK
  for (let done = 0; done < total;) {
    const n = fs.readSync(fd, bytes, done, Math.min(chunk, total - done), position + done);
    if (n === 0) throw new FormatError(`${file}: file shrank while being read`);
    done += n;
  }
}
