// How the load generator speaks to a server: encoding a GET and decoding responses
// into (status, payload) for one protocol. rokv is ours; RESP lets the same client
// drive Redis for side-by-side benchmarks.

import { ERROR_NAMES, FRAME_HEADER_SIZE, MAX_RESPONSE_PAYLOAD, OP_GET } from '../protocol/rokv/constants.ts';
import { FrameDecoder, type FrameHandler } from '../protocol/rokv/decoder.ts';
import { encodeAuth, writeFrameHeader } from '../protocol/rokv/frames.ts';

export interface ResponseDecoder {
  push(chunk: Buffer): void;
}

export interface Wire {
  readonly name: string;
  /** Bytes of a GET request for a key of this length. */
  getSize(keyLength: number): number;
  /** Encodes a GET for bytes[keyStart, keyEnd) at out[at]; returns the end. */
  writeGet(out: Buffer, at: number, bytes: Buffer, keyStart: number, keyEnd: number): number;
  decoder(handler: FrameHandler): ResponseDecoder;
}

export const rokvWire: Wire = {
  name: 'rokv',
  getSize: (keyLength) => FRAME_HEADER_SIZE + keyLength,
  writeGet(out, at, bytes, keyStart, keyEnd) {
    const payloadAt = writeFrameHeader(out, at, OP_GET, keyEnd - keyStart);
    return payloadAt + bytes.copy(out, payloadAt, keyStart, keyEnd);
  },
  decoder: (handler) => new FrameDecoder(handler, MAX_RESPONSE_PAYLOAD),
};

/** Who the load generator authenticates as (--user, --password): user null is `default`. */
export interface Credentials {
  user: string | null;
  password: string;
}

/** The AUTH request of a protocol: rokv's AUTH frame, or RESP's `AUTH [user] password`. */
export function authRequest(protocol: 'rokv' | 'resp', { user, password }: Credentials): Buffer {
  if (protocol === 'rokv') return encodeAuth(user, password);
  const args = (user === null ? ['AUTH', password] : ['AUTH', user, password]).map((a) => Buffer.from(a, 'utf8'));
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.flatMap((a) => [Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n')])]);
}

/** An error answer as text: rokv's payload is a code byte then a message; RESP's is the error line. */
export function errorText(protocol: 'rokv' | 'resp', bytes: Buffer, start: number, end: number): string {
  if (protocol === 'resp' || end === start) return bytes.toString('utf8', start, end);
  return `${ERROR_NAMES[bytes[start]] ?? `code ${bytes[start]}`}: ${bytes.toString('utf8', start + 1, end)}`;
}
