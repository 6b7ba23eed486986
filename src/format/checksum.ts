// CRC-32 (IEEE, zlib's) of any number of bytes: zlib takes 32-bit lengths, so
// inputs of 4 GiB and more are fed in chunks. The size is read as byteLength: V8's
// Maglev miscompiles `at < bytes.length` past 2^31 once this has run on small buffers
// (src/files.ts, IO_CHUNK), which made the CRC of a 2.76 GB index 0.

import { crc32 } from 'node:zlib';

const CHUNK = 1 << 30;

export function checksum(bytes: Uint8Array, previous = 0): number {
  let crc = previous;
  const total = bytes.byteLength;
  for (let at = 0; at < total; at += CHUNK) crc = crc32(bytes.subarray(at, Math.min(total, at + CHUNK)), crc);
  return crc;
}
