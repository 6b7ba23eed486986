// CRC-32 (IEEE, zlib's) of any number of bytes: zlib takes 32-bit lengths, so
// inputs of 4 GiB and more are fed in chunks.

import { crc32 } from 'node:zlib';

const CHUNK = 1 << 30;

export function checksum(bytes: Uint8Array, previous = 0): number {
  let crc = previous;
  for (let at = 0; at < bytes.length; at += CHUNK) crc = crc32(bytes.subarray(at, Math.min(bytes.length, at + CHUNK)), crc);
  return crc;
}
