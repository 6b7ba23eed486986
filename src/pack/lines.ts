// Splits a byte stream into lines without converting to strings: yields each line as
// a Buffer view (CR before LF dropped) with its 1-based line number. A UTF-8 byte-order
// mark at the very start is dropped. A line longer than a chunk is joined once, at its
// end, so the work is linear in the line's length. refuseCrOnlyEndings() stops input
// whose first line break is a lone CR (CR-only line endings), which would otherwise
// be read as one line.

import { InputError } from '../errors.ts';

export const LF = 0x0a;
/** Dropped before LF (CRLF input). */
export const CR = 0x0d;
/** The UTF-8 byte-order mark, dropped at the very start of the input. */
export const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface Line {
  bytes: Buffer;
  number: number;
}

export async function* readLines(input: AsyncIterable<Buffer>): AsyncGenerator<Line> {
  /** Pieces of a line that began in an earlier chunk. */
  let carry: Buffer[] = [];
  let carried = 0;
  let number = 0;
  let first = true;
  const line: Line = { bytes: Buffer.alloc(0), number: 0 };
  const emit = (bytes: Buffer): Line => {
    if (number === 0 && bytes.subarray(0, BOM.length).equals(BOM)) bytes = bytes.subarray(BOM.length);
    line.bytes = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, -1) : bytes;
    line.number = ++number;
    return line;
  };
  for await (const chunk of input) {
    if (first && chunk.length === 0) continue;
    first = false;
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(LF, start);
      if (newline < 0) break;
      let bytes = chunk.subarray(start, newline);
      if (carried > 0) {
        bytes = Buffer.concat([...carry, bytes], carried + bytes.length);
        carry = [];
        carried = 0;
      }
      yield emit(bytes);
      start = newline + 1;
    }
    if (start < chunk.length) {
      carry.push(chunk.subarray(start));
      carried += chunk.length - start;
    }
  }
  if (carried > 0) yield emit(Buffer.concat(carry, carried));
}

/** Input whose first line break is a CR without LF; `line` is that line's number (1). */
export class LineEndingError extends InputError {
  readonly line = 1;
  constructor() {
    super("input uses CR-only line endings (old Mac): line 1 ends with a CR, not LF or CRLF; convert them to LF, e.g. tr '\\r' '\\n'");
    this.name = 'LineEndingError';
  }
}

/**
 * Passes the input through unchanged, but throws LineEndingError if its first line
 * break (the first CR or LF byte) is a CR not followed by LF, the end of the input
 * included. Only that first break decides: a lone CR after it is data (a TSV value
 * may hold one), as before. Looks at the bytes up to the first LF, once.
 */
export async function* refuseCrOnlyEndings(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let decided = false;
  /** The bytes so far hold no LF and end with their first CR: the next byte decides. */
  let crLast = false;
  for await (const chunk of input) {
    if (!decided && chunk.length > 0) {
      if (crLast) {
        if (chunk[0] !== LF) throw new LineEndingError();
        decided = true;
      } else {
        const lf = chunk.indexOf(LF);
        const head = lf < 0 ? chunk : chunk.subarray(0, lf);
        const cr = head.indexOf(CR);
        if (cr >= 0 && cr < head.length - 1) throw new LineEndingError();
        if (lf >= 0) decided = true;
        else crLast = cr >= 0;
      }
    }
    yield chunk;
  }
  if (!decided && crLast) throw new LineEndingError();
}
