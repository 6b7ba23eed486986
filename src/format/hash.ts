// The key hash of format version 1: MurmurHash3 x86_32 over the key bytes, with the
// header's seed. Works on a byte range so callers never copy or convert a key.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const MIX = 0xe6546b64;
const FMIX1 = 0x85ebca6b;
const FMIX2 = 0xc2b2ae35;

export function murmur3(bytes: Uint8Array, start: number, end: number, seed: number): number {
  const length = end - start;
  const blocksEnd = start + (length & ~3);
  let h = seed | 0;
  let i = start;
  while (i < blocksEnd) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + MIX) | 0;
    i += 4;
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[i + 2] << 16;
    if (tail >= 2) k ^= bytes[i + 1] << 8;
    k ^= bytes[i];
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, FMIX1);
  h ^= h >>> 13;
  h = Math.imul(h, FMIX2);
  h ^= h >>> 16;
  return h >>> 0;
}
