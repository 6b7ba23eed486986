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

class RespDecoder implements ResponseDecoder {
  private readonly handler: FrameHandler;
  private pending: Buffer = EMPTY;

  constructor(handler: FrameHandler) {
    this.handler = handler;
  }

  push(input: Buffer): void {
    const chunk = this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input;
    let pos = 0;
    for (;;) {
      const used = this.reply(chunk, pos);
      if (used < 0) break;
      pos = used;
    }
    this.pending = pos < chunk.length ? Buffer.from(chunk.subarray(pos)) : EMPTY;
  }

  /** Decodes one reply at pos; returns where the next starts, or -1 if incomplete. */
  private reply(chunk: Buffer, pos: number): number {
    const lineEnd = chunk.indexOf(LF, pos);
    if (lineEnd < 0) return -1;
    const type = chunk[pos];
    if (type === DOLLAR) {
      let length = 0;
      let i = pos + 1;
      if (chunk[i] === MINUS) {
        this.handler.onFrame(STATUS_NOT_FOUND, chunk, lineEnd, lineEnd);
        return lineEnd + 1;
      }
      while (chunk[i] !== CR) length = length * 10 + chunk[i++] - ZERO;
      const start = lineEnd + 1;
      if (start + length + CRLF_SIZE > chunk.length) return -1;
      this.handler.onFrame(STATUS_OK, chunk, start, start + length);
      return start + length + CRLF_SIZE;
    }
    if (type === UNDERSCORE) this.handler.onFrame(STATUS_NOT_FOUND, chunk, lineEnd, lineEnd);
    else if (type === MINUS) this.handler.onFrame(STATUS_ERROR, chunk, pos + 1, lineEnd - 1);
    else if (type === PLUS) this.handler.onFrame(STATUS_OK, chunk, pos + 1, lineEnd - 1);
    else {
      this.handler.onBadLength(-1);
      return -1;
    }
    return lineEnd + 1;
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
  decoder: (handler) => new RespDecoder(handler),
};
