// Splits a byte stream into lines without converting to strings: yields each line as
// a Buffer view (CR before LF dropped) with its 1-based line number.

const LF = 0x0a;
const CR = 0x0d;

export interface Line {
  bytes: Buffer;
  number: number;
}

export async function* readLines(input: AsyncIterable<Buffer>): AsyncGenerator<Line> {
  let carry: Buffer | null = null;
  let number = 0;
  const line: Line = { bytes: Buffer.alloc(0), number: 0 };
  for await (const chunk of input) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(LF, start);
      if (newline < 0) break;
      let bytes = chunk.subarray(start, newline);
      if (carry) {
        bytes = Buffer.concat([carry, bytes]);
        carry = null;
      }
      line.bytes = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, -1) : bytes;
      line.number = ++number;
      yield line;
      start = newline + 1;
    }
    if (start < chunk.length) carry = carry ? Buffer.concat([carry, chunk.subarray(start)]) : Buffer.from(chunk.subarray(start));
  }
  if (carry && carry.length > 0) {
    line.bytes = carry[carry.length - 1] === CR ? carry.subarray(0, -1) : carry;
    line.number = ++number;
    yield line;
  }
}
