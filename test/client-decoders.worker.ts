// Runs in a worker thread for test/client-decoders.test.ts: fast-check properties of
// the client's two reply decoders (RESP replies, rokv binary frames), fed random bytes
// at random cuts. A decoder stuck in a loop would freeze the thread that calls it, so
// the test runs these here and ends the thread when it overstays; before each input
// this thread says which, so that the test can name the input a decoder got stuck on.

import fc from 'fast-check';
import { parentPort, workerData } from 'node:worker_threads';
import { respWire } from '../src/client/resp.ts';
import { rokvWire } from '../src/client/wire.ts';
import { encodeFrame } from '../src/protocol/rokv/frames.ts';

type Suite = 'resp-random' | 'resp-valid' | 'resp-limits' | 'frame-random' | 'frame-valid';
const { suite, numRuns, seed } = workerData as { suite: Suite; numRuns: number; seed: number };

/** The longest first line of a reply the RESP decoder takes, CRLF included (MAX_REPLY_LINE in src/client/resp.ts). */
const MAX_REPLY_LINE = 64 * 1024;
/** One push() may take this long at most: a decoder does bounded work per byte. */
const MAX_PUSH_MS = 2000;

/** bytes split at the given positions (each taken modulo its length + 1). */
function cut(bytes: Buffer, positions: number[]): Buffer[] {
  const cuts = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const c of cuts) {
    chunks.push(bytes.subarray(last, c));
    last = c;
  }
  chunks.push(bytes.subarray(last));
  return chunks;
}

/**
 * What a decoder reports for the chunks, in order: `status:hex payload` per reply or
 * frame, `protocol error` for the documented error (onBadLength). Anything thrown
 * fails the property; so does a push that takes over MAX_PUSH_MS.
 */
function decode(wire: typeof respWire, chunks: Buffer[]): string[] {
  const events: string[] = [];
  const decoder = wire.decoder({
    onFrame(status, bytes, start, end) {
      if (events.at(-1) === 'protocol error') throw new Error('an answer after the protocol error');
      if (start < 0 || end < start || end > bytes.length) throw new Error(`payload bounds [${start}, ${end}) outside ${bytes.length} bytes`);
      events.push(`${status}:${bytes.toString('hex', start, end)}`);
      return true;
    },
    onBadLength() {
      if (events.at(-1) === 'protocol error') throw new Error('a second protocol error');
      events.push('protocol error');
    },
  });
  for (const chunk of chunks) {
    // A copy: a decoder may keep no reference to a chunk's bytes past the push.
    const copy = Buffer.from(chunk);
    const started = performance.now();
    decoder.push(copy);
    const took = performance.now() - started;
    if (took > MAX_PUSH_MS) throw new Error(`push() of ${copy.length} bytes took ${took.toFixed(0)} ms`);
    copy.fill(0xee);
  }
  return events;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const tell = (input: Buffer, cuts: number[]) => parentPort?.postMessage({ trying: `${hex(input)} cut at ${JSON.stringify(cuts)}` });
const cuts = fc.array(fc.nat({ max: 4096 }), { maxLength: 12 });

/** Checks one input: the same events whole and cut, the error (if any) last. */
function sameWholeAndCut(wire: typeof respWire, input: Buffer, at: number[]): string[] {
  tell(input, at);
  const whole = decode(wire, [input]);
  const pieces = decode(wire, cut(input, at));
  if (JSON.stringify(pieces) !== JSON.stringify(whole)) throw new Error(`cut: ${JSON.stringify(pieces)}, whole: ${JSON.stringify(whole)}`);
  if (input.length <= 1024) {
    const bytewise = decode(wire, cut(input, Array.from({ length: input.length }, (_, i) => i)));
    if (JSON.stringify(bytewise) !== JSON.stringify(whole)) throw new Error(`byte by byte: ${JSON.stringify(bytewise)}, whole: ${JSON.stringify(whole)}`);
  }
  return whole;
}

// RESP: the replies a GET gets (bulk, nulls, status and error lines) and the pieces of
// broken ones: lengths without CR, huge or negative lengths, stray CR/LF, other types.
const lineText = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b.filter((x) => x !== 0x0d && x !== 0x0a)));
const respReply: fc.Arbitrary<[Buffer, string]> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((v): [Buffer, string] => [Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')]), `0:${hex(v)}`]),
  fc.constant<[Buffer, string]>([Buffer.from('$-1\r\n'), '1:']),
  fc.constant<[Buffer, string]>([Buffer.from('_\r\n'), '1:']),
  lineText.map((t): [Buffer, string] => [Buffer.concat([Buffer.from('+'), t, Buffer.from('\r\n')]), `0:${hex(t)}`]),
  lineText.map((t): [Buffer, string] => [Buffer.concat([Buffer.from('-'), t, Buffer.from('\r\n')]), `2:${hex(t)}`]),
);
const respPiece = fc.oneof(
  respReply.map(([bytes]) => bytes),
  fc.constantFrom('$', '$5\n', '$5\r', '$-1', '$-2\r\n', '$-', '-1', '\r', '\n', '\r\n', '+', '-', '_', ':1\r\n', '*1\r\n', '5', '0', '$0\r\n', '$99999999999\r\n', '$4294967294\r\n', '$4294967295\r\n', '$00000000000000001\r\n', '+OK\n', '_x\r\n', '$3\r\nabcXY').map((s) => Buffer.from(s, 'latin1')),
  fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
);

// Frames: any status byte and payload, and broken headers (length 0, huge lengths, a cut header).
const frame: fc.Arbitrary<[Buffer, string]> = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }))
  .map(([status, payload]): [Buffer, string] => [encodeFrame(status, payload), `${status}:${hex(payload)}`]);
const framePiece = fc.oneof(
  frame.map(([bytes]) => bytes),
  fc.constantFrom([0, 0, 0, 0], [0, 0, 0, 1], [0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xfe, 0], [0x7f, 0xff, 0xff, 0xff], [0, 1, 0, 0, 0], [0]).map((b) => Buffer.from(b)),
  fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
);

const suites: Record<Suite, () => void> = {
  'resp-random': () => {
    // Inputs that hung or broke the decoder before the fix come first.
    const examples = ['$5\n', '$5\nhello\r\n', '$\r\n', '$abc\r\n', '$99999999999999999999\r\n', '$-5\r\n', '+OK\n', '$3\r\nabcXY'].map((s): [Buffer, number[]] => [Buffer.from(s, 'latin1'), []]);
    fc.assert(fc.property(fc.array(respPiece, { maxLength: 30 }).map((p) => Buffer.concat(p)), cuts, (input, at) => {
      sameWholeAndCut(respWire, input, at);
    }), { numRuns, seed, examples });
  },
  'resp-valid': () => {
    fc.assert(fc.property(fc.array(respReply, { maxLength: 30 }), cuts, (replies, at) => {
      const got = sameWholeAndCut(respWire, Buffer.concat(replies.map(([bytes]) => bytes)), at);
      if (JSON.stringify(got) !== JSON.stringify(replies.map(([, event]) => event))) throw new Error(`decoded ${JSON.stringify(got)}`);
    }), { numRuns, seed });
  },
  'resp-limits': () => {
    const expectEvents = (input: Buffer, want: string[]) => {
      for (const at of [[], [1, 2, 1000, 40_000, MAX_REPLY_LINE - 1, MAX_REPLY_LINE, MAX_REPLY_LINE + 1], Array.from({ length: 80 }, (_, i) => i * 1000)]) {
        const got = sameWholeAndCut(respWire, input, at);
        if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${hex(input.subarray(0, 16))}…: decoded ${JSON.stringify(got).slice(0, 200)}`);
      }
    };
    const text = (n: number) => Buffer.alloc(n, 0x61);
    const ok = text(MAX_REPLY_LINE - 3);
    expectEvents(Buffer.concat([Buffer.from('+'), ok, Buffer.from('\r\n$1\r\nx\r\n')]), [`0:${hex(ok)}`, `0:${hex(Buffer.from('x'))}`]);
    expectEvents(Buffer.concat([Buffer.from('-'), text(MAX_REPLY_LINE - 2), Buffer.from('\r\n')]), ['protocol error']);
    expectEvents(Buffer.concat([Buffer.from('+'), text(MAX_REPLY_LINE)]), ['protocol error']);
    expectEvents(Buffer.concat([Buffer.from('+'), text(MAX_REPLY_LINE - 2)]), []);
    expectEvents(Buffer.from('$4294967294\r\nabc'), []);
    expectEvents(Buffer.from('$4294967295\r\nabc'), ['protocol error']);
  },
  'frame-random': () => {
    fc.assert(fc.property(fc.array(framePiece, { maxLength: 30 }).map((p) => Buffer.concat(p)), cuts, (input, at) => {
      sameWholeAndCut(rokvWire, input, at);
    }), { numRuns, seed });
  },
  'frame-valid': () => {
    fc.assert(fc.property(fc.array(frame, { maxLength: 30 }), cuts, (frames, at) => {
      const got = sameWholeAndCut(rokvWire, Buffer.concat(frames.map(([bytes]) => bytes)), at);
      if (JSON.stringify(got) !== JSON.stringify(frames.map(([, event]) => event))) throw new Error(`decoded ${JSON.stringify(got)}`);
    }), { numRuns, seed });
  },
};

try {
  suites[suite]();
  parentPort?.postMessage({ done: true, ok: true });
} catch (error) {
  parentPort?.postMessage({ done: true, ok: false, message: (error as Error).message });
}
