// RESP (the Redis protocol) for the load generator: GET as an array of bulk strings,
// replies decoded into the same (status, payload) calls as rokv frames.

import { STATUS_ERROR, STATUS_NOT_FOUND, STATUS_OK } from '../protocol/rokv/constants.ts';
import type { FrameHandler } from '../protocol/rokv/decoder.ts';
import type { ResponseDecoder, Wire } from './wire.ts';

const CR = 0x0d;
const LF = 0x0a;
const DOLLAR = 0x24;
const MINUS = 0x2d;
const PLUS = 0x2b;
const UNDERSCORE = 0x5f;
const ZERO = 0x30;
const GET_PREFIX = Buffer.from('*2\r\n$3\r\nGET\r\n$', 'latin1');
const CRLF_SIZE = 2;
const EMPTY = Buffer.alloc(0);

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : 5;
}

/**
 * GET replies decoded in place from each chunk; a reply cut by the chunk's end is
 * copied once (its own bytes only) into `partial`, which is completed from the next
 * chunks and then handed over.
 */
class RespDecoder implements ResponseDecoder {
  private readonly handler: FrameHandler;
  private partial: Buffer = EMPTY;
  private fill = 0;
  /** Whole length of the reply in `partial`, or -1 while its first line is incomplete. */
  private total = -1;

  constructor(handler: FrameHandler) {
    this.handler = handler;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    if (this.fill > 0) {
      pos = this.completePartial(chunk);
      if (pos < 0) return;
    }
    while (pos < chunk.length) {
      const used = this.reply(chunk, pos, chunk.length);
      if (used === -2) return;
      if (used < 0) {
        this.keep(chunk, pos);
        return;
      }
      pos = used;
    }
  }

  /** Keeps the cut reply at chunk[pos..]. */
  private keep(chunk: Buffer, pos: number): void {
    const have = chunk.length - pos;
    const total = replyLength(chunk, pos, chunk.length);
    this.total = total;
    this.partial = Buffer.allocUnsafe(Math.max(total, have, 64));
    this.fill = chunk.copy(this.partial, 0, pos);
  }

  /** Feeds the cut reply from chunk; returns where the rest of chunk starts, or -1. */
  private completePartial(chunk: Buffer): number {
    let pos = 0;
    if (this.total < 0) {
      const lf = chunk.indexOf(LF);
      const take = lf < 0 ? chunk.length : lf + 1;
      this.grow(this.fill + take);
      this.fill += chunk.copy(this.partial, this.fill, 0, take);
      pos = take;
      if (lf < 0) return -1;
      this.total = replyLength(this.partial, 0, this.fill);
      this.grow(this.total);
    }
    const take = Math.min(this.total - this.fill, chunk.length - pos);
    this.fill += chunk.copy(this.partial, this.fill, pos, pos + take);
    pos += take;
    if (this.fill < this.total) return -1;
    const used = this.reply(this.partial, 0, this.fill);
    this.fill = 0;
    this.total = -1;
    return used === -2 ? -1 : pos;
  }

  private grow(size: number): void {
    if (size <= this.partial.length) return;
    const grown = Buffer.allocUnsafe(Math.max(size, this.partial.length * 2));
    this.partial.copy(grown, 0, 0, this.fill);
    this.partial = grown;
  }

  /** Decodes one reply at buf[pos..end); returns where the next starts, -1 if incomplete, -2 on a protocol error. */
  private reply(buf: Buffer, pos: number, end: number): number {
    const total = replyLength(buf, pos, end);
    if (total < 0 || pos + total > end) return -1;
    const lineEnd = pos + total - 1;
    const type = buf[pos];
    if (type === DOLLAR) {
      if (buf[pos + 1] === MINUS) this.handler.onFrame(STATUS_NOT_FOUND, buf, pos, pos);
      else {
        const dataEnd = pos + total - CRLF_SIZE;
        this.handler.onFrame(STATUS_OK, buf, dataEnd - bulkLength(buf, pos), dataEnd);
      }
    } else if (type === UNDERSCORE) this.handler.onFrame(STATUS_NOT_FOUND, buf, pos, pos);
    else if (type === MINUS) this.handler.onFrame(STATUS_ERROR, buf, pos + 1, lineEnd - 1);
    else if (type === PLUS) this.handler.onFrame(STATUS_OK, buf, pos + 1, lineEnd - 1);
    else {
      this.handler.onBadLength(-1);
      return -2;
    }
    return pos + total;
  }
}

/** The length of a bulk string's payload from its `$N` line at buf[pos]. */
function bulkLength(buf: Buffer, pos: number): number {
  let length = 0;
  for (let i = pos + 1; buf[i] !== CR; i++) length = length * 10 + buf[i] - ZERO;
  return length;
}

/** Whole length of the reply at buf[pos..end), or -1 while its first line is incomplete. */
function replyLength(buf: Buffer, pos: number, end: number): number {
  const lf = buf.indexOf(LF, pos);
  if (lf < 0 || lf >= end) return -1;
  const lineLength = lf + 1 - pos;
  if (buf[pos] !== DOLLAR || buf[pos + 1] === MINUS) return lineLength;
  return lineLength + bulkLength(buf, pos) + CRLF_SIZE;
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
  decoder: (handler) => new RespDecoder(handler),
};
