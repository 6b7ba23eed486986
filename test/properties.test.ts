// Property-based tests (fast-check): the frame decoder under any chunking and pausing,
// the format's round trip for any records, and the loader rejecting any damage.

import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.ts';
import { DataFile } from '../src/format/data-file.ts';
import { FrameDecoder } from '../src/protocol/rokv/decoder.ts';
import { encodeFrame } from '../src/protocol/rokv/frames.ts';
import { cut, packRecords } from './helpers.ts';

const MAX_PAYLOAD = 65_535;

interface Decoded {
  kind: number;
  payload: string;
}

/** Feeds chunks to a decoder whose handler pauses at the given frame numbers. */
function decodeAll(chunks: Buffer[], pauseAt: Set<number>): Decoded[] {
  const out: Decoded[] = [];
  const decoder: FrameDecoder = new FrameDecoder({
    onFrame: (kind, bytes, start, end) => {
      out.push({ kind, payload: bytes.toString('hex', start, end) });
      return !pauseAt.has(out.length);
    },
    onBadLength: () => out.push({ kind: -1, payload: '' }),
  }, MAX_PAYLOAD);
  for (const chunk of chunks) {
    decoder.push(chunk);
    while (decoder.paused) decoder.resume();
  }
  return out;
}


const frameArb = fc.record({ kind: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 600 }) });

describe('frame decoder', () => {
  it('any valid frames, cut anywhere and paused anywhere, decode as the uncut stream', () => {
    fc.assert(fc.property(
      fc.array(frameArb, { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.array(fc.nat({ max: 40 }), { maxLength: 5 }),
      (frames, positions, pauses) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.kind, f.payload)));
        const expected = frames.map((f) => ({ kind: f.kind, payload: Buffer.from(f.payload).toString('hex') }));
        expect(decodeAll([stream], new Set())).toEqual(expected);
        expect(decodeAll(cut(stream, positions), new Set(pauses))).toEqual(expected);
      },
    ), { numRuns: 400 });
  });

  it('a bad length anywhere stops decoding right there', () => {
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 10 }), fc.constantFrom(0, MAX_PAYLOAD + 2, 0xffffffff), fc.array(fc.nat(), { maxLength: 10 }), (frames, badLength, positions) => {
      const bad = Buffer.alloc(4);
      bad.writeUInt32BE(badLength, 0);
      const stream = Buffer.concat([...frames.map((f) => encodeFrame(f.kind, f.payload)), bad, encodeFrame(1, Buffer.from('after'))]);
      const decoded = decodeAll(cut(stream, positions), new Set());
      expect(decoded).toHaveLength(frames.length + 1);
      expect(decoded[frames.length].kind).toBe(-1);
    }), { numRuns: 200 });
  });
});

const keyArb = fc.oneof(
  { weight: 10, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 60_000, maxLength: 65_535 }) },
);
const valueArb = fc.oneof(
  { weight: 10, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 10_000, maxLength: 100_000 }) },
);

describe('format', () => {
  it('any distinct keys with any values round-trip; other keys are absent', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.tuple(keyArb, valueArb), { maxLength: 60, selector: ([k]) => Buffer.from(k).toString('hex') }),
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 20 }),
      (records, probes) => {
        const data = new DataFile(fs.readFileSync(packRecords(records.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]))));
        const present = new Set(records.map(([k]) => Buffer.from(k).toString('hex')));
        for (const [k, v] of records) expect(data.get(Buffer.from(k))?.equals(Buffer.from(v))).toBe(true);
        for (const probe of probes) {
          if (!present.has(Buffer.from(probe).toString('hex'))) expect(data.get(Buffer.from(probe))).toBeNull();
        }
        data.verifyKeys();
      },
    ), { numRuns: 120 });
  });
});

describe('loader', () => {
  const records = Array.from({ length: 300 }, (_, i): [Buffer, Buffer] => [Buffer.from(`key-${i}`), Buffer.alloc(i % 40, i)]);
  const good = fs.readFileSync(packRecords(records));

  it('any single changed byte is rejected', () => {
    fc.assert(fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
      const bad = Buffer.from(good);
      bad[at] ^= mask;
      expect(() => new DataFile(bad)).toThrow(FormatError);
    }), { numRuns: 3000 });
  });

  it('any truncation is rejected', () => {
    fc.assert(fc.property(fc.nat({ max: good.length - 1 }), (length) => {
      expect(() => new DataFile(good.subarray(0, length))).toThrow(FormatError);
    }), { numRuns: 1000 });
  });
});
