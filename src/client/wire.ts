// How the load generator speaks to a server: encoding a GET and decoding responses
// into (status, payload) for one protocol. rokv is ours; RESP lets the same client
// drive Redis for side-by-side benchmarks.

import { FRAME_HEADER_SIZE, MAX_RESPONSE_PAYLOAD, OP_GET } from '../protocol/rokv/constants.ts';
import { FrameDecoder, type FrameHandler } from '../protocol/rokv/decoder.ts';
import { writeFrameHeader } from '../protocol/rokv/frames.ts';

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
