// Encoding whole frames: requests (op + payload) and responses (status + payload),
// including ERROR frames. The server's hot path writes its own into a batch buffer.

import { AUTH_HEADER_SIZE, FRAME_HEADER_SIZE, LENGTH_SIZE, MAX_REQUEST_PAYLOAD, OP_AUTH, OP_GET, STATUS_ERROR } from './constants.ts';

/** Writes a frame header (length, then op or status) at buf[at]; returns where the payload goes. */
export function writeFrameHeader(buf: Buffer, at: number, kind: number, payloadLength: number): number {
  buf.writeUInt32BE(payloadLength + 1, at);
  buf[at + LENGTH_SIZE] = kind;
  return at + FRAME_HEADER_SIZE;
}

export function encodeFrame(kind: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  frame.set(payload, writeFrameHeader(frame, 0, kind, payload.length));
  return frame;
}

export function encodeGet(key: Uint8Array | string): Buffer {
  return encodeFrame(OP_GET, typeof key === 'string' ? Buffer.from(key) : key);
}

export function encodeError(code: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const payload = Buffer.allocUnsafe(1 + text.length);
  payload[0] = code;
  text.copy(payload, 1);
  return encodeFrame(STATUS_ERROR, payload);
}

/**
 * AUTH's payload (1.1): u16 length of the user name, the name (none: `default`), the
 * password, all UTF-8. A RangeError when they pass the request payload limit.
 */
export function authPayload(user: string | null, password: string): Buffer {
  const name = Buffer.from(user ?? '', 'utf8');
  const secret = Buffer.from(password, 'utf8');
  const length = AUTH_HEADER_SIZE + name.length + secret.length;
  if (length > MAX_REQUEST_PAYLOAD) throw new RangeError(`user name and password are ${length} bytes; AUTH's limit is ${MAX_REQUEST_PAYLOAD}`);
  const payload = Buffer.allocUnsafe(length);
  payload.writeUInt16BE(name.length, 0);
  name.copy(payload, AUTH_HEADER_SIZE);
  secret.copy(payload, AUTH_HEADER_SIZE + name.length);
  return payload;
}

/** A whole AUTH request frame. */
export function encodeAuth(user: string | null, password: string): Buffer {
  return encodeFrame(OP_AUTH, authPayload(user, password));
}
