// Encodes RESP replies into a link's batch buffer, as RESP2 or (after HELLO 3) RESP3:
// the types differ only for null, maps, sets, doubles, booleans and verbatim text.
// Values are copied from the data Buffer; large ones go out as views of it.

import { LARGE_VALUE, type Link } from '../codec.ts';

const CR = 0x0d;
const LF = 0x0a;
const ZERO = 0x30;
/** A type byte, up to 20 digits (a minus sign included), CRLF. */
const HEADER_ROOM = 24;

/** Writes a non-negative integer's decimal digits at buf[at]; returns the end. */
function writeDigits(buf: Buffer, at: number, n: number): number {
  if (n < 10) {
    buf[at] = ZERO + n;
    return at + 1;
  }
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  let i = at + digits;
  while (n >= 10) {
    const q = Math.floor(n / 10);
    buf[--i] = ZERO + (n - q * 10);
    n = q;
  }
  buf[--i] = ZERO + n;
  return at + digits;
}

export class RespWriter {
  /** 2 or 3. */
  proto = 2;
  private readonly link: Link;

  constructor(link: Link) {
    this.link = link;
  }

  /** A type byte and an integer, then CRLF: `$5`, `*2`, `:42`. */
  header(type: number, n: number): void {
    const out = this.link.out;
    const buf = this.link.reserve(HEADER_ROOM);
    let at = out.pos;
    buf[at++] = type;
    if (n < 0) {
      buf[at++] = 0x2d;
      n = -n;
    }
    at = writeDigits(buf, at, n);
    buf[at++] = CR;
    buf[at++] = LF;
    out.pos = at;
  }

  /** A bulk string of bytes[start, end). */
  bulk(bytes: Buffer, start: number, end: number): void {
    const length = end - start;
    const link = this.link;
    const out = link.out;
    if (length >= LARGE_VALUE) {
      this.header(0x24, length);
      link.sendView(bytes.subarray(start, end));
      this.crlf();
      return;
    }
    const buf = link.reserve(HEADER_ROOM + length);
    let at = out.pos;
    buf[at++] = 0x24;
    at = writeDigits(buf, at, length);
    buf[at++] = CR;
    buf[at++] = LF;
    at += bytes.copy(buf, at, start, end);
    buf[at++] = CR;
    buf[at++] = LF;
    out.pos = at;
  }

  bulkText(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.bulk(bytes, 0, bytes.length);
  }

  /** Raw bytes (latin1 text keeps every byte as it came). */
  private line(type: number, text: string): void {
    const out = this.link.out;
    const buf = this.link.reserve(text.length + 3);
    buf[out.pos] = type;
    const at = out.pos + 1 + buf.write(text, out.pos + 1, 'latin1');
    buf[at] = CR;
    buf[at + 1] = LF;
    out.pos = at + 2;
  }

  simple(text: string): void {
    this.line(0x2b, text);
  }

  /** An error reply; `text` starts with its code (ERR, READONLY, …); CR and LF become spaces. */
  error(text: string): void {
    this.line(0x2d, text.replace(/[\r\n]/g, ' '));
  }

  integer(n: number): void {
    this.header(0x3a, n);
  }

  nil(): void {
    if (this.proto === 3) this.line(0x5f, '');
    else this.line(0x24, '-1');
  }

  array(n: number): void {
    this.header(0x2a, n);
  }

  /** A map of n pairs (RESP2: an array of 2n). */
  map(n: number): void {
    if (this.proto === 3) this.header(0x25, n);
    else this.header(0x2a, 2 * n);
  }

  /** A set of n elements (RESP2: an array). */
  set(n: number): void {
    this.header(this.proto === 3 ? 0x7e : 0x2a, n);
  }

  /** Text for humans (INFO, CLIENT INFO): RESP3 verbatim "txt", RESP2 a bulk string. */
  verbatim(text: string): void {
    if (this.proto !== 3) return this.bulkText(text);
    const bytes = Buffer.from(`txt:${text}`, 'utf8');
    this.header(0x3d, bytes.length);
    const buf = this.link.reserve(bytes.length + 2);
    const out = this.link.out;
    out.pos += bytes.copy(buf, out.pos);
    this.crlf();
  }

  private crlf(): void {
    const buf = this.link.reserve(2);
    const out = this.link.out;
    buf[out.pos++] = CR;
    buf[out.pos++] = LF;
  }
}
