// Incremental decoder of RESP requests: multibulk arrays of bulk strings, and inline
// commands (a line of words, as typed into telnet). Arguments are offsets into one
// buffer (the chunk itself when the command is whole in it), so a GET costs no
// allocation. An unfinished command is copied, once, into a partial buffer that
// resumes where parsing stopped; only the bytes the command still needs are copied.
// Limits are checked before anything is buffered.

import type { Budget } from '../budget.ts';
import { HeldInput } from '../held-input.ts';

/** Largest bulk argument. Keys are at most 65,535 bytes, so this costs nothing real. */
export const MAX_BULK_LENGTH = 64 * 1024;
/** Most arguments in one command (an MGET of 65,535 keys). */
export const MAX_ARGS = 64 * 1024;
/** Largest whole multibulk command, headers included: what one connection may buffer. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Longest inline command line (as Redis: PROTO_INLINE_MAX_SIZE). */
export const MAX_INLINE_BYTES = 64 * 1024;
/** A `*N` or `$N` line longer than this cannot hold a valid count. */
const MAX_HEADER_LINE = 32;

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;
const DOLLAR = 0x24;
const MINUS = 0x2d;
const ZERO = 0x30;
const SPACE = 0x20;
const TAB = 0x09;
const EMPTY = Buffer.alloc(0);
const MIN_PARTIAL = 256;

/** The arguments of one command: args i is buf[starts[i], ends[i]). */
export class ArgList {
  buf: Buffer = EMPTY;
  count = 0;
  starts = new Int32Array(8);
  ends = new Int32Array(8);

  /** Argument i as text; names and numbers are ASCII, so latin1 keeps every byte. */
  text(i: number): string {
    return this.buf.toString('latin1', this.starts[i], this.ends[i]);
  }

  lower(i: number): string {
    return this.text(i).toLowerCase();
  }

  bytes(i: number): Buffer {
    return this.buf.subarray(this.starts[i], this.ends[i]);
  }

  /** Room for n arguments, keeping those already recorded. */
  ensure(n: number): void {
    if (n <= this.starts.length) return;
    let size = this.starts.length;
    while (size < n) size *= 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }

  /** A copy that owns its bytes (for MULTI's queue). */
  clone(): ArgList {
    const copy = new ArgList();
    const first = this.count > 0 ? this.starts[0] : 0;
    const last = this.count > 0 ? this.ends[this.count - 1] : 0;
    copy.buf = Buffer.from(this.buf.subarray(first, last));
    copy.count = this.count;
    copy.ensure(this.count);
    for (let i = 0; i < this.count; i++) {
      copy.starts[i] = this.starts[i] - first;
      copy.ends[i] = this.ends[i] - first;
    }
    return copy;
  }
}

export interface RequestHandler {
  /** One whole command (count ≥ 1); the args are valid only during the call. Return false to pause. */
  onCommand(args: ArgList): boolean;
  /** Malformed input or a limit passed: the decoder has stopped for good. */
  onProtocolError(message: string): void;
  /** The budget for unfinished requests refused this one's bytes; the decoder has stopped for good. */
  onBufferLimit?(): void;
}

const INCOMPLETE = -1;
const STOPPED = -2;

export class RespRequestDecoder extends HeldInput {
  readonly args = new ArgList();
  private readonly handler: RequestHandler;
  /** An unfinished command sits in partial[0, fill). */
  private pending = false;
  private fill = 0;
  // Parse state of the current command, in the coordinates of the buffer being parsed.
  private cmdStart = 0;
  private at = 0;
  /** Arguments the `*N` header announced; -1 before the header is read. */
  private argc = -1;
  /** Length of the bulk argument whose bytes are awaited; -1 while its `$` line is awaited. */
  private bulk = -1;

  constructor(handler: RequestHandler, budget?: Budget) {
    super(budget, () => handler.onBufferLimit?.());
    this.handler = handler;
  }

  /** Stops for good and gives back what it buffered. */
  override stop(): void {
    this.pending = false;
    super.stop();
  }

  /** Bytes buffered for an unfinished command. */
  get buffered(): number {
    return this.pending ? this.fill : 0;
  }

  protected decode(chunk: Buffer): void {
    let pos = 0;
    if (this.pending) {
      pos = this.continuePartial(chunk);
      if (pos < 0) return;
    }
    const end = chunk.length;
    while (pos < end) {
      this.cmdStart = this.at = pos;
      const result = this.parse(chunk, end);
      if (result === STOPPED) return;
      if (result === INCOMPLETE) {
        this.startPartial(chunk, pos);
        return;
      }
      pos = result;
      if (this.paused) return this.pauseAt(chunk, pos);
    }
  }

  /**
   * Parses (or resumes parsing) the command at this.cmdStart in buf[.., end). Returns
   * the position after it once it is whole and handled, INCOMPLETE, or STOPPED.
   */
  private parse(buf: Buffer, end: number): number {
    if (this.argc < 0) {
      if (buf[this.cmdStart] !== STAR) return this.parseInline(buf, end);
      const lf = this.lineEnd(buf, this.at, end, 'invalid multibulk length');
      if (lf < 0) return lf;
      const n = readCount(buf, this.at + 1, lf);
      if (n === null || n > MAX_ARGS) return this.fail(n === null ? 'invalid multibulk length' : `multibulk count over ${MAX_ARGS}`);
      this.at = lf + 1;
      if (n <= 0) return this.finish(buf, 0); // *0 and *-1 are ignored, as Redis does
      this.argc = n;
      this.args.ensure(n);
      this.args.count = 0;
    }
    const args = this.args;
    while (args.count < this.argc) {
      if (this.bulk < 0) {
        if (this.at < end && buf[this.at] !== DOLLAR) {
          return this.fail(`expected '$', got '${printable(buf[this.at])}'`);
        }
        const lf = this.lineEnd(buf, this.at, end, 'invalid bulk length');
        if (lf < 0) return lf;
        const n = readCount(buf, this.at + 1, lf);
        if (n === null || n < 0) return this.fail('invalid bulk length');
        if (n > MAX_BULK_LENGTH) return this.fail(`bulk argument of ${n} bytes is over ${MAX_BULK_LENGTH}`);
        if (lf + 1 - this.cmdStart + n + 2 > MAX_REQUEST_BYTES) return this.fail(`request over ${MAX_REQUEST_BYTES} bytes`);
        this.bulk = n;
        this.at = lf + 1;
      }
      const dataEnd = this.at + this.bulk;
      if (dataEnd + 2 > end) return INCOMPLETE;
      if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) return this.fail('bulk argument not followed by CRLF');
      args.starts[args.count] = this.at;
      args.ends[args.count] = dataEnd;
      args.count++;
      this.at = dataEnd + 2;
      this.bulk = -1;
    }
    return this.finish(buf, args.count);
  }

  /** An inline command: words separated by spaces or tabs, up to LF (CR before it dropped). */
  private parseInline(buf: Buffer, end: number): number {
    let lf = buf.indexOf(LF, this.at);
    if (lf >= end) lf = -1;
    if (lf < 0) {
      if (end - this.cmdStart > MAX_INLINE_BYTES) return this.fail('too big inline request');
      this.at = end;
      return INCOMPLETE;
    }
    if (lf - this.cmdStart > MAX_INLINE_BYTES) return this.fail('too big inline request');
    let lineEnd = lf;
    if (lineEnd > this.cmdStart && buf[lineEnd - 1] === CR) lineEnd--;
    const args = this.args;
    args.count = 0;
    let i = this.cmdStart;
    while (i < lineEnd) {
      while (i < lineEnd && (buf[i] === SPACE || buf[i] === TAB)) i++;
      if (i === lineEnd) break;
      const start = i;
      while (i < lineEnd && buf[i] !== SPACE && buf[i] !== TAB) i++;
      if (args.count === MAX_ARGS) return this.fail(`inline command of more than ${MAX_ARGS} words`);
      args.ensure(args.count + 1);
      args.starts[args.count] = start;
      args.ends[args.count] = i;
      args.count++;
    }
    this.at = lf + 1;
    return this.finish(buf, args.count);
  }

  /** A whole command: hands it over (an empty one is skipped) and resets the parse state. */
  private finish(buf: Buffer, count: number): number {
    const next = this.at;
    this.argc = -1;
    this.bulk = -1;
    this.args.count = count;
    if (count > 0) {
      this.args.buf = buf;
      const more = this.handler.onCommand(this.args);
      this.args.buf = EMPTY;
      if (this.stopped) return STOPPED;
      if (!more) this.paused = true; // decode() holds the rest of the chunk
    }
    return next;
  }

  /** Where the header line starting at `at` ends (its LF), INCOMPLETE, or STOPPED if too long. */
  private lineEnd(buf: Buffer, at: number, end: number, problem: string): number {
    const limit = Math.min(end, at + MAX_HEADER_LINE);
    for (let i = at; i < limit; i++) {
      if (buf[i] === LF) return i;
    }
    if (limit - at >= MAX_HEADER_LINE) return this.fail(problem);
    return INCOMPLETE;
  }

  private fail(message: string): number {
    this.stop();
    this.handler.onProtocolError(`Protocol error: ${message}`);
    return STOPPED;
  }

  /** Keeps the unfinished command at chunk[from..] and rebases the parse state onto it. */
  private startPartial(chunk: Buffer, from: number): void {
    const have = chunk.length - from;
    let room = Math.max(MIN_PARTIAL, have * 2);
    if (this.bulk >= 0) room = Math.max(room, this.at - from + this.bulk + 2);
    if ((this.partial === null || this.partial.length < room) && !this.setPartial(Buffer.allocUnsafe(room))) return;
    this.fill = chunk.copy(this.partial as Buffer, 0, from);
    this.pending = true;
    this.rebase(from);
  }

  private rebase(by: number): void {
    const args = this.args;
    for (let i = 0; i < args.count; i++) {
      args.starts[i] -= by;
      args.ends[i] -= by;
    }
    this.at -= by;
    this.cmdStart = 0;
  }

  /** Feeds the unfinished command what it needs from chunk; returns where the rest starts, or STOPPED/INCOMPLETE. */
  private continuePartial(chunk: Buffer): number {
    let pos = 0;
    while (pos < chunk.length) {
      let take: number;
      if (this.argc >= 0 && this.bulk >= 0) {
        take = Math.min(this.at + this.bulk + 2 - this.fill, chunk.length - pos);
      } else {
        const lf = chunk.indexOf(LF, pos);
        take = lf < 0 ? chunk.length - pos : lf + 1 - pos;
      }
      if (!this.append(chunk, pos, take)) return STOPPED;
      pos += take;
      const partial = this.partial as Buffer;
      const result = this.parse(partial, this.fill);
      if (result === STOPPED) return STOPPED;
      if (result !== INCOMPLETE) {
        this.pending = false;
        this.fill = 0;
        if (partial.length > MAX_INLINE_BYTES) this.setPartial(null); // keep only a small one for reuse
        if (this.paused) {
          this.pauseAt(chunk, pos);
          return INCOMPLETE;
        }
        return pos;
      }
    }
    return INCOMPLETE;
  }

  /** Appends chunk[from, from + n) to the partial command; false if the budget refused the room. */
  private append(chunk: Buffer, from: number, n: number): boolean {
    let partial = this.partial as Buffer;
    let need = this.fill + n;
    if (this.argc >= 0 && this.bulk >= 0) need = Math.max(need, this.at + this.bulk + 2);
    if (need > partial.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(partial.length * 2, MAX_REQUEST_BYTES + MAX_HEADER_LINE)));
      partial.copy(grown, 0, 0, this.fill);
      if (!this.setPartial(grown)) return false;
      partial = grown;
    }
    this.fill += chunk.copy(partial, this.fill, from, from + n);
    return true;
  }
}

/** A decimal count in buf[from, lf) (a CR before lf is dropped): digits with an optional '-'; null if malformed. */
function readCount(buf: Buffer, from: number, lf: number): number | null {
  let end = lf;
  if (end > from && buf[end - 1] === CR) end--;
  let i = from;
  let negative = false;
  if (i < end && buf[i] === MINUS) {
    negative = true;
    i++;
  }
  if (i === end || end - i > 10) return null;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - ZERO;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

function printable(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
}
