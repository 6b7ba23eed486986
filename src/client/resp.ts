// RESP (the Redis protocol) for the load generator: GET as an array of bulk strings,
// replies decoded into the same (status, payload) calls as rokv frames.

import { MAX_RESPONSE_PAYLOAD, STATUS_ERROR, STATUS_NOT_FOUND, STATUS_OK } from '../protocol/rokv/constants.ts';
import type { FrameHandler } from '../protocol/rokv/decoder.ts';
import type { ResponseDecoder, Wire } from './wire.ts';

const CR = 0x0d;
const LF = 0x0a;
const DOLLAR = 0x24;
const MINUS = 0x2d;
const PLUS = 0x2b;
const UNDERSCORE = 0x5f;
const ZERO = 0x30;
const NINE = 0x39;
const GET_PREFIX = Buffer.from('*2\r\n$3\r\nGET\r\n$', 'latin1');
const CRLF_SIZE = 2;
const EMPTY = Buffer.alloc(0);
/** `$-1\r\n` after its `$`: RESP2's null bulk string, the only negative length. */
const NULL_BULK_TAIL = Buffer.from('-1\r\n', 'latin1');
/** Longest first line of a reply (`+…`, `-…`, `$N`), CRLF included: a server that sends more without one is broken. */
export const MAX_REPLY_LINE = 64 * 1024;
/** Longest bulk string taken: the binary protocol's largest response payload. */
export const MAX_REPLY_BULK = MAX_RESPONSE_PAYLOAD;
const MAX_BULK_DIGITS = String(MAX_REPLY_BULK).length;
/** replyLength(): the reply's first line is not all there yet. */
const INCOMPLETE = -1;
/** replyLength(): not a reply this client takes, a protocol error. */
const MALFORMED = -2;
/** First room for a cut reply; it grows by doubling as its bytes arrive, never past the reply. */
const MIN_PARTIAL_ROOM = 256;

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : 5;
}

/**
 * GET replies decoded in place from each chunk; a reply cut by the chunk's end is
 * copied once (its own bytes only) into `partial`, which is completed from the next
 * chunks and then handed over.
 */
class RespReplyDecoder implements ResponseDecoder {
  private readonly handler: FrameHandler;
  private partial: Buffer = EMPTY;
  private fill = 0;
  /** Whole length of the reply in `partial`, or INCOMPLETE while its first line is. */
  private total = INCOMPLETE;
  /** Length of the first line (CRLF included) of the reply measured last by replyLength(). */
  private line = 0;
  /** Length of the first line of the reply in `partial`, once its total is known. */
  private partialLine = 0;
  /** After a protocol error, or a handler that returned false: nothing more is decoded. */
  private stopped = false;

  constructor(handler: FrameHandler) {
    this.handler = handler;
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    let pos = 0;
    if (this.fill > 0) {
      pos = this.completePartial(chunk);
      if (pos < 0) return;
    }
    while (pos < chunk.length && !this.stopped) {
      const total = this.replyLength(chunk, pos, chunk.length);
      if (total === MALFORMED) return this.malformed();
      if (total === INCOMPLETE || pos + total > chunk.length) return this.keep(chunk, pos, total);
      this.reply(chunk, pos, total, this.line);
      pos += total;
    }
  }

  /** Keeps the cut reply at chunk[pos..] (its whole length, or INCOMPLETE). */
  private keep(chunk: Buffer, pos: number, total: number): void {
    const have = chunk.length - pos;
    this.total = total;
    this.partialLine = this.line;
    this.partial = Buffer.allocUnsafe(total === INCOMPLETE ? Math.max(have, MIN_PARTIAL_ROOM) : Math.min(total, Math.max(have, MIN_PARTIAL_ROOM)));
    this.fill = chunk.copy(this.partial, 0, pos);
  }

  /** Feeds the cut reply from chunk; returns where the rest of chunk starts, or -1. */
  private completePartial(chunk: Buffer): number {
    let pos = 0;
    if (this.total === INCOMPLETE) {
      // The first LF decides the first line (ends it, or makes it malformed); never past the longest line.
      const lf = chunk.indexOf(LF);
      const take = Math.min(lf < 0 ? chunk.length : lf + 1, MAX_REPLY_LINE - this.fill);
      this.grow(this.fill + take);
      this.fill += chunk.copy(this.partial, this.fill, 0, take);
      const total = this.replyLength(this.partial, 0, this.fill);
      if (total === MALFORMED) {
        this.malformed();
        return -1;
      }
      if (total === INCOMPLETE) return -1;
      this.total = total;
      this.partialLine = this.line;
      pos = take - Math.max(0, this.fill - total);
      this.fill = Math.min(this.fill, total);
    }
    const take = Math.min(this.total - this.fill, chunk.length - pos);
    this.grow(this.fill + take);
    this.fill += chunk.copy(this.partial, this.fill, pos, pos + take);
    pos += take;
    if (this.fill < this.total) return -1;
    const total = this.total;
    this.fill = 0;
    this.total = INCOMPLETE;
    this.reply(this.partial, 0, total, this.partialLine);
    return this.stopped ? -1 : pos;
  }

  /** Room for `size` bytes of the cut reply: doubling, never past the reply (or the longest first line). */
  private grow(size: number): void {
    if (size <= this.partial.length) return;
    const cap = this.total === INCOMPLETE ? MAX_REPLY_LINE : this.total;
    const grown = Buffer.allocUnsafe(Math.max(size, Math.min(this.partial.length * 2, cap)));
    this.partial.copy(grown, 0, 0, this.fill);
    this.partial = grown;
  }

  /** Hands over the whole reply at buf[pos, pos + total) whose first line is `line` bytes. */
  private reply(buf: Buffer, pos: number, total: number, line: number): void {
    const type = buf[pos];
    let more: boolean;
    if (type === DOLLAR) {
      if (total === line) more = this.handler.onFrame(STATUS_NOT_FOUND, buf, pos, pos);
      else {
        const dataEnd = pos + total - CRLF_SIZE;
        if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) return this.malformed();
        more = this.handler.onFrame(STATUS_OK, buf, pos + line, dataEnd);
      }
    } else if (type === UNDERSCORE) more = this.handler.onFrame(STATUS_NOT_FOUND, buf, pos, pos);
    else more = this.handler.onFrame(type === MINUS ? STATUS_ERROR : STATUS_OK, buf, pos + 1, pos + line - CRLF_SIZE);
    // There is no resume: a handler that wants no more (it closed the connection) gets no more.
    if (!more) this.stop();
  }

  private stop(): void {
    this.stopped = true;
    this.partial = EMPTY;
    this.fill = 0;
  }

  /** A protocol error: stops for good and tells the handler (length -1: not a frame length). */
  private malformed(): void {
    this.stop();
    this.handler.onBadLength(-1);
  }

  /**
   * Whole length of the reply at buf[pos..end) (its first line's length in this.line);
   * INCOMPLETE while the bytes so far cannot tell; MALFORMED for anything but a `$N`
   * bulk string (N up to MAX_REPLY_BULK, or -1), `_`, or a `+`/`-` line, each line
   * ended by CRLF with no CR or LF inside and at most MAX_REPLY_LINE bytes. Reads no
   * byte at or past `end`, and decides from at most MAX_REPLY_LINE bytes.
   */
  private replyLength(buf: Buffer, pos: number, end: number): number {
    const type = buf[pos];
    if (type === DOLLAR) return this.bulkLength(buf, pos, end);
    if (type !== PLUS && type !== MINUS && type !== UNDERSCORE) return MALFORMED;
    const limit = Math.min(end, pos + MAX_REPLY_LINE);
    for (let i = pos + 1; i < limit; i++) {
      const byte = buf[i];
      if (byte === LF) return MALFORMED;
      if (byte !== CR) continue;
      if (i + 1 >= limit) break;
      if (buf[i + 1] !== LF || (type === UNDERSCORE && i !== pos + 1)) return MALFORMED;
      this.line = i + CRLF_SIZE - pos;
      return this.line;
    }
    return end - pos < MAX_REPLY_LINE ? INCOMPLETE : MALFORMED;
  }

  /** replyLength() of a `$` reply: `$-1` CRLF, or 1 to 10 digits, CRLF, the bytes, CRLF. */
  private bulkLength(buf: Buffer, pos: number, end: number): number {
    if (pos + 1 < end && buf[pos + 1] === MINUS) {
      for (let k = 0; k < NULL_BULK_TAIL.length; k++) {
        if (pos + 1 + k >= end) return INCOMPLETE;
        if (buf[pos + 1 + k] !== NULL_BULK_TAIL[k]) return MALFORMED;
      }
      this.line = 1 + NULL_BULK_TAIL.length;
      return this.line;
    }
    let length = 0;
    for (let i = pos + 1; i < end; i++) {
      const byte = buf[i];
      if (byte >= ZERO && byte <= NINE) {
        length = length * 10 + byte - ZERO;
        if (i - pos > MAX_BULK_DIGITS || length > MAX_REPLY_BULK) return MALFORMED;
        continue;
      }
      if (byte !== CR || i === pos + 1) return MALFORMED;
      if (i + 1 >= end) return INCOMPLETE;
      if (buf[i + 1] !== LF) return MALFORMED;
      this.line = i + CRLF_SIZE - pos;
      return this.line + length + CRLF_SIZE;
    }
    return INCOMPLETE;
  }
}

export const respWire: Wire = {
  name: 'resp',
  getSize: (keyLength) => GET_PREFIX.length + digits(keyLength) + CRLF_SIZE + keyLength + CRLF_SIZE,
  writeGet(out, at, bytes, keyStart, keyEnd) {
    let pos = at + GET_PREFIX.copy(out, at);
    pos += out.write(String(keyEnd - keyStart), pos, 'latin1');
    out[pos++] = CR;
    out[pos++] = LF;
    pos += bytes.copy(out, pos, keyStart, keyEnd);
    out[pos++] = CR;
    out[pos++] = LF;
    return pos;
  },
  decoder: (handler) => new RespReplyDecoder(handler),
};
