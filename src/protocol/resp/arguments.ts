// Arguments read as Redis reads them: integers as string2ll accepts them, SCAN cursors
// as strtoul reads them, and names that may not hold spaces or special characters.

/** Redis's error for an argument that is not a signed 64-bit integer. */
export const NOT_INTEGER = 'ERR value is not an integer or out of range';
const INT64_MAX = '9223372036854775807';
const INT64_MIN_DIGITS = '9223372036854775808';
const UINT64_MAX = 18446744073709551615n;
const MINUS = 0x2d;
const PLUS = 0x2b;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * A signed 64-bit decimal as Redis's string2ll accepts it, or null: an optional '-',
 * then "0" alone or digits without a leading zero ("-0", "007", "+1", " 1" are refused),
 * at most 20 characters, within [-2^63, 2^63 - 1]. Beyond 2^53 the number is rounded
 * (callers only compare such values).
 */
export function parseInteger(text: string): number | null {
  const match = /^(-?)(0|[1-9]\d*)$/.exec(text);
  if (!match || text === '-0') return null;
  const digits = match[2];
  if (digits.length > 19 || (digits.length === 19 && digits > (match[1] ? INT64_MIN_DIGITS : INT64_MAX))) return null;
  return Number(text);
}

/** string2ll over bytes[from, to), without making a string (the request decoder's counts); null if refused. */
export function integerAt(bytes: Uint8Array, from: number, to: number): number | null {
  const length = to - from;
  if (length <= 0 || length >= 21) return null;
  if (length === 1 && bytes[from] === ZERO) return 0;
  let i = from;
  const negative = bytes[i] === MINUS;
  if (negative) i++;
  if (i === to || bytes[i] <= ZERO || bytes[i] > NINE) return null; // first digit 1-9
  let n = 0;
  for (; i < to; i++) {
    const c = bytes[i];
    if (c < ZERO || c > NINE) return null;
    n = n * 10 + (c - ZERO);
  }
  const digits = to - from - (negative ? 1 : 0);
  if (digits === 19) {
    // Only here can the value leave the 64-bit range: compare the digits exactly.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + to - 19, 19).toString('latin1');
    if (text > (negative ? INT64_MIN_DIGITS : INT64_MAX)) return null;
  } else if (digits > 19) {
    return null;
  }
  return negative ? -n : n;
}

/**
 * A SCAN cursor as Redis reads it (parseScanCursorOrReply: strtoul in base 10), or
 * null for "ERR invalid cursor". Like strtoul: an optional '+' or '-' (which negates
 * modulo 2^64, so "-1" is 2^64 - 1), leading zeros, the empty string (0), and bytes
 * after a NUL ignored (C stops there); refused: a first byte that is white space,
 * anything else after the digits, a sign without digits, a magnitude over 2^64 - 1.
 */
export function parseCursor(bytes: Uint8Array): bigint | null {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  if (end === 0) return 0n;
  const first = bytes[0];
  if (first === 0x20 || (first >= 0x09 && first <= 0x0d)) return null;
  let i = 0;
  const negative = first === MINUS;
  if (first === MINUS || first === PLUS) i++;
  if (i === end) return null;
  let n = 0n;
  for (let j = i; j < end; j++) {
    const c = bytes[j];
    if (c < ZERO || c > NINE) return null;
  }
  // At most 20 significant digits fit; more (after leading zeros) overflow.
  let s = i;
  while (s < end - 1 && bytes[s] === ZERO) s++;
  if (end - s > 20) return null;
  n = BigInt(Buffer.from(bytes.buffer, bytes.byteOffset + s, end - s).toString('latin1'));
  if (n > UINT64_MAX) return null;
  return negative && n !== 0n ? (1n << 64n) - n : n;
}

/** A name without spaces, newlines or special characters (CLIENT SETNAME, SETINFO). */
export function plainName(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
