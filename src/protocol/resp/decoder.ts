// Incremental decoder of RESP requests: multibulk arrays of bulk strings, and inline
// commands (a line of words, as typed into telnet), read exactly as Redis 7 reads them
// (networking.c: processMultibulkBuffer, processInlineBuffer; sds.c: sdssplitargs).
// Arguments are offsets into one buffer (the chunk itself when the command is whole in
// it), so a GET costs no allocation. An unfinished command is copied, once, into a
// partial buffer that resumes where parsing stopped; only the bytes the command still
// needs are copied. Limits are checked before anything is buffered.
//
// Redis's reading, kept here byte for byte:
// - A `*N` or `$N` line ends at its first CR; the byte after the CR is skipped
//   unchecked (`*1\rX` is `*1\r\n`), and so are the two bytes after a bulk's data.
// - N is read by string2ll: no '+', no leading zero, no "-0" (invalid multibulk / bulk
//   length). `*N` with N ≤ 0 is skipped; N over 2^31 - 1 is refused. `$N` is refused
//   below 0 and over 512 MB (proto-max-bulk-len).
// - Redis looks for that CR (or an inline line's LF) with strchr, which stops at a NUL:
//   a NUL before it means the line never ends, and the connection is refused once 64 KiB
//   are waiting ("too big mbulk count string", "too big bulk count string", "too big
//   inline request"), as is a line with no CR (LF) in 64 KiB.
// - An inline line is split as sdssplitargs splits it: white space (space, \t, \n, \v,
//   \f, \r) between words; a word ends at a space, \t, \n or \r; "double quotes" with
//   \n \r \t \b \a \xHH escapes and 'single quotes' with \'; a closing quote must be
//   followed by white space or the end ("unbalanced quotes in request").
//
// Memory: a request may be as large as the loop's budget for unfinished requests
// (--max-partial-mb), which is charged for the partial buffer and for argument arrays
// grown past KEEP_ARGS; the arrays shrink back after the command, so an idle connection
// keeps a few KiB whatever it sent before.

import { type Budget, FREE_BYTES, UNLIMITED } from '../budget.ts';
import { HeldInput } from '../held-input.ts';
import { integerAt } from './arguments.ts';

/** Largest bulk argument, as Redis's proto-max-bulk-len (keys are at most 65,535 bytes; the budget bounds it too). */
export const MAX_BULK_LENGTH = 512 * 1024 * 1024;
/** Most arguments in one command (Redis: 2^31 - 1; rokv keeps one command's work bounded). */
export const MAX_ARGS = 1024 * 1024;
/** What one MULTI may queue, in bytes of commands (session.ts); a single request is bounded by the budget instead. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Longest inline command line, and longest `*N` / `$N` line without its CR (as Redis: PROTO_INLINE_MAX_SIZE). */
export const MAX_INLINE_BYTES = 64 * 1024;
/** Argument arrays up to this many entries are kept between commands (8 bytes each); larger ones are charged and shrunk after. */
export const KEEP_ARGS = 256;
const INT_MAX = 2 ** 31 - 1;

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
const STAR = 0x2a;
const DOLLAR = 0x24;
const SPACE = 0x20;
const TAB = 0x09;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;
const EMPTY = Buffer.alloc(0);
const MIN_PARTIAL = 256;

/** The arguments of one command: args i is buf[starts[i], ends[i]). */
export class ArgList {
  buf: Buffer = EMPTY;
  count = 0;
  starts = new Int32Array(8);
  ends = new Int32Array(8);

  /** Entries the arrays hold. */
  get capacity(): number {
    return this.starts.length;
  }

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
    this.resize(size);
  }

  /** Arrays of exactly `size` entries, keeping the first min(count, size). */
  resize(size: number): void {
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    const keep = Math.min(this.count, size);
    starts.set(this.starts.subarray(0, keep));
    ends.set(this.ends.subarray(0, keep));
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
/** lineEnd(): a NUL came first, so (as with Redis's strchr) this line never ends. */
const NEVER = -3;

export class RespRequestDecoder extends HeldInput {
  readonly args = new ArgList();
  private readonly handler: RequestHandler;
  private readonly budgetOf: Budget;
  /** Bytes of argument arrays charged to the budget (arrays past KEEP_ARGS). */
  private argsCharged = 0;
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
  /** The line being looked for (a header's CR, an inline LF) is not in [.., scanned); -1: not scanned yet. */
  private scanned = -1;
  /** A NUL came before the line's end: it never ends (Redis waits for 64 KiB, then refuses). */
  private never = false;
  /** Inline lines with quotes are unescaped into this (≤ 64 KiB, kept for reuse). */
  private scratch: Buffer = EMPTY;

  constructor(handler: RequestHandler, budget?: Budget) {
    super(budget, () => handler.onBufferLimit?.());
    this.handler = handler;
    this.budgetOf = budget ?? UNLIMITED;
  }

  /** Stops for good and gives back what it buffered. */
  override stop(): void {
    this.pending = false;
    // The arrays stay as they are (a handler may be running: stop() can come from it); their charge goes back.
    this.budgetOf.move(this.argsCharged, 0);
    this.argsCharged = 0;
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
      const cr = this.lineEnd(buf, this.at, end, CR);
      if (cr < 0) return this.waitLine(end, 'too big mbulk count string');
      if (cr + 1 >= end) return INCOMPLETE; // the byte after the CR is skipped, but must be there
      const n = integerAt(buf, this.at + 1, cr);
      if (n === null || n > INT_MAX) return this.fail('invalid multibulk length');
      if (n > MAX_ARGS) return this.fail(`multibulk count over ${MAX_ARGS}`);
      this.at = cr + 2;
      this.scanned = -1;
      if (n <= 0) return this.finish(buf, 0); // *0, *-1 (and any N ≤ 0) are skipped, as Redis does
      this.argc = n;
      this.args.count = 0;
    }
    const args = this.args;
    while (args.count < this.argc) {
      if (this.bulk < 0) {
        if (this.at >= end) return INCOMPLETE;
        const cr = this.lineEnd(buf, this.at, end, CR);
        if (cr < 0) return this.waitLine(end, 'too big bulk count string');
        if (cr + 1 >= end) return INCOMPLETE;
        if (buf[this.at] !== DOLLAR) return this.fail(`expected '$', got '${String.fromCharCode(buf[this.at])}'`);
        const n = integerAt(buf, this.at + 1, cr);
        if (n === null || n < 0 || n > MAX_BULK_LENGTH) return this.fail('invalid bulk length');
        const need = cr + 2 - this.cmdStart + n + 2;
        if (need > FREE_BYTES && need > this.budgetOf.limit) {
          return this.fail(`request over the ${this.budgetOf.limit}-byte budget for unfinished requests`);
        }
        this.bulk = n;
        this.at = cr + 2;
        this.scanned = -1;
      }
      const dataEnd = this.at + this.bulk;
      if (dataEnd + 2 > end) return INCOMPLETE;
      if (args.count === args.starts.length && !this.growArgs()) return STOPPED;
      args.starts[args.count] = this.at;
      args.ends[args.count] = dataEnd;
      args.count++;
      this.at = dataEnd + 2; // the two bytes after the data are not checked (Redis skips them)
      this.bulk = -1;
    }
    return this.finish(buf, args.count);
  }

  /** No end of line yet (or never, after a NUL): refused once more than 64 KiB wait, as Redis does. */
  private waitLine(end: number, problem: string): number {
    if (end - this.at > MAX_INLINE_BYTES) return this.fail(problem);
    return INCOMPLETE;
  }

  /**
   * Where the line starting at `at` ends (the first `byte`, CR or LF), looking only at
   * bytes not looked at before; INCOMPLETE if not there yet, NEVER after a NUL.
   */
  private lineEnd(buf: Buffer, at: number, end: number, byte: number): number {
    if (this.never) return NEVER;
    for (let i = this.scanned < at ? at : this.scanned; i < end; i++) {
      const c = buf[i];
      if (c === byte) return i;
      if (c === NUL) {
        this.never = true;
        return NEVER;
      }
    }
    this.scanned = end;
    return INCOMPLETE;
  }

  /** An inline command: the line up to LF (one CR before it dropped), split as sdssplitargs does. */
  private parseInline(buf: Buffer, end: number): number {
    const lf = this.lineEnd(buf, this.cmdStart, end, LF);
    if (lf < 0) return this.waitLine(end, 'too big inline request');
    if (lf - this.cmdStart > MAX_INLINE_BYTES) return this.fail('too big inline request');
    let lineEnd = lf;
    if (lineEnd > this.cmdStart && buf[lineEnd - 1] === CR) lineEnd--;
    this.scanned = -1;
    this.args.count = 0;
    this.at = lf + 1;
    const line = buf.subarray(this.cmdStart, lineEnd);
    if (line.indexOf(DQUOTE) >= 0 || line.indexOf(SQUOTE) >= 0) {
      const count = this.splitQuoted(buf, this.cmdStart, lineEnd);
      if (count === STOPPED) return STOPPED;
      if (count < 0) return this.fail('unbalanced quotes in request');
      const next = this.finish(this.scratch, count);
      if (this.scratch.length > FREE_BYTES) this.scratch = EMPTY; // a connection keeps little between requests
      return next;
    }
    const args = this.args;
    let i = this.cmdStart;
    while (i < lineEnd) {
      while (i < lineEnd && isSpace(buf[i])) i++;
      if (i === lineEnd) break;
      const start = i;
      while (i < lineEnd && !endsWord(buf[i])) i++;
      if (args.count === args.starts.length && !this.growArgs()) return STOPPED;
      args.starts[args.count] = start;
      args.ends[args.count] = i;
      args.count++;
    }
    return this.finish(buf, args.count);
  }

  /** sdssplitargs with quotes: the words of buf[from, to) unescaped into scratch; their count, -1 (unbalanced quotes) or STOPPED. */
  private splitQuoted(buf: Buffer, from: number, to: number): number {
    if (this.scratch.length < to - from) this.scratch = Buffer.allocUnsafe(Math.max(MIN_PARTIAL, to - from));
    const out = this.scratch;
    const args = this.args;
    const at = (i: number) => (i < to ? buf[i] : NUL); // C reads the line's terminating NUL
    let o = 0;
    let p = from;
    for (;;) {
      while (p < to && isSpace(buf[p])) p++;
      if (p >= to) return args.count;
      const start = o;
      let inDouble = false;
      let inSingle = false;
      for (let done = false; !done;) {
        const c = at(p);
        if (inDouble) {
          if (c === BACKSLASH && at(p + 1) === 0x78 && isHex(at(p + 2)) && isHex(at(p + 3))) {
            out[o++] = hexValue(at(p + 2)) * 16 + hexValue(at(p + 3));
            p += 3;
          } else if (c === BACKSLASH && at(p + 1) !== NUL) {
            p++;
            const e = at(p);
            out[o++] = e === 0x6e ? LF : e === 0x72 ? CR : e === 0x74 ? TAB : e === 0x62 ? 0x08 : e === 0x61 ? 0x07 : e;
          } else if (c === DQUOTE) {
            if (at(p + 1) !== NUL && !isSpace(at(p + 1))) return -1;
            done = true;
          } else if (c === NUL) {
            return -1;
          } else {
            out[o++] = c;
          }
        } else if (inSingle) {
          if (c === BACKSLASH && at(p + 1) === SQUOTE) {
            p++;
            out[o++] = SQUOTE;
          } else if (c === SQUOTE) {
            if (at(p + 1) !== NUL && !isSpace(at(p + 1))) return -1;
            done = true;
          } else if (c === NUL) {
            return -1;
          } else {
            out[o++] = c;
          }
        } else if (c === SPACE || c === LF || c === CR || c === TAB || c === NUL) {
          done = true;
        } else if (c === DQUOTE) {
          inDouble = true;
        } else if (c === SQUOTE) {
          inSingle = true;
        } else {
          out[o++] = c;
        }
        if (p < to) p++;
      }
      if (args.count === args.starts.length && !this.growArgs()) return STOPPED;
      args.starts[args.count] = start;
      args.ends[args.count] = o;
      args.count++;
    }
  }

  /** A whole command: hands it over (an empty one is skipped) and resets the parse state. */
  private finish(buf: Buffer, count: number): number {
    const next = this.at;
    this.argc = -1;
    this.bulk = -1;
    this.scanned = -1;
    this.args.count = count;
    if (count > 0) {
      this.args.buf = buf;
      const more = this.handler.onCommand(this.args);
      this.args.buf = EMPTY;
      if (this.args.starts.length > KEEP_ARGS) this.shrinkArgs();
      if (this.stopped) return STOPPED;
      if (!more) this.paused = true; // decode() holds the rest of the chunk
    }
    return next;
  }

  /** Doubles the argument arrays (up to the command's count), charging past KEEP_ARGS; false if the budget refused. */
  private growArgs(): boolean {
    const args = this.args;
    const size = Math.max(args.capacity + 1, Math.min(args.capacity * 2, this.argc > 0 ? this.argc : Infinity));
    if (size > KEEP_ARGS) {
      const bytes = size * 8;
      if (!this.budgetOf.rechargeOrEvict(this, this.argsCharged, bytes)) {
        this.stop();
        this.handler.onBufferLimit?.();
        return false;
      }
      this.argsCharged = bytes;
    }
    args.resize(size);
    return true;
  }

  /** After a command: arrays grown past KEEP_ARGS go back to KEEP_ARGS entries, and their charge is returned. */
  private shrinkArgs(): void {
    const args = this.args;
    if (args.capacity > KEEP_ARGS) {
      args.resize(KEEP_ARGS);
      this.budgetOf.move(this.argsCharged, 0);
      this.argsCharged = 0;
    }
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
    if (this.bulk >= 0) room = Math.max(have, this.at - from + this.bulk + 2);
    if ((this.partial === null || this.partial.length < room) && !this.setPartial(Buffer.allocUnsafe(this.roomFor(room, have)))) return;
    this.fill = chunk.copy(this.partial as Buffer, 0, from);
    this.pending = true;
    this.rebase(from);
  }

  /** `wanted` bytes of room, or less (but at least `need`) when the budget has no more to give. */
  private roomFor(wanted: number, need: number): number {
    const charged = this.partial === null ? 0 : this.partial.length;
    const available = this.budgetOf.limit - this.budgetOf.used + charged;
    return Math.max(need, Math.min(wanted, available));
  }

  private rebase(by: number): void {
    const args = this.args;
    for (let i = 0; i < args.count; i++) {
      args.starts[i] -= by;
      args.ends[i] -= by;
    }
    this.at -= by;
    if (this.scanned >= 0) this.scanned -= by;
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
        const lf = chunk.indexOf(this.argc < 0 && this.partial?.[0] !== STAR ? LF : CR, pos);
        // A header line ends one byte after its CR; an inline line at its LF.
        take = lf < 0 ? chunk.length - pos : Math.min(chunk.length, lf + 2) - pos;
      }
      if (!this.append(chunk, pos, take)) return STOPPED;
      pos += take;
      const partial = this.partial as Buffer;
      const result = this.parse(partial, this.fill);
      if (result === STOPPED) return STOPPED;
      if (result !== INCOMPLETE) {
        // The command may end before the bytes just taken do: those go back to the chunk.
        pos -= this.fill - result;
        this.pending = false;
        this.fill = 0;
        this.never = false;
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
      const grown = Buffer.allocUnsafe(this.roomFor(Math.max(need, partial.length * 2), need));
      partial.copy(grown, 0, 0, this.fill);
      if (!this.setPartial(grown)) return false;
      partial = grown;
    }
    this.fill += chunk.copy(partial, this.fill, from, from + n);
    return true;
  }
}

/** C's isspace: space, \t, \n, \v, \f, \r (skipped between inline words). */
function isSpace(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= CR);
}

/** What ends an unquoted inline word (sdssplitargs): space, \n, \r, \t (not \v or \f). */
function endsWord(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}
