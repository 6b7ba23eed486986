// What a load run counts, shared by the thread load loop and the cluster loop:
// answers by kind, latency histograms (total and per interval), examples of wrong
// answers, and the keys it asks for that must be absent.

import * as hdr from 'hdr-histogram-js';
import { STATUS_ERROR, STATUS_NOT_FOUND, STATUS_OK } from '../protocol/rokv/constants.ts';
import type { Records } from '../storage/records.ts';
import { HISTOGRAM_OPTIONS, type WorkerResult } from './load-types.ts';

const MAX_EXAMPLES = 5;
const SHOWN_BYTES = 80;
const MICROSECONDS = 1000;
const MISS_KEYS = 1024;
const MISS_KEY_LENGTH = 36;
const PRINTABLE_FIRST = 0x21;
const PRINTABLE_COUNT = 94;

/** Keys that are not in the data set (checked against its index). */
export function makeMissKeys(data: Records, random: () => number): Buffer[] {
  const keys: Buffer[] = [];
  while (keys.length < MISS_KEYS) {
    const key = Buffer.alloc(MISS_KEY_LENGTH);
    for (let i = 0; i < MISS_KEY_LENGTH; i++) key[i] = PRINTABLE_FIRST + Math.floor(random() * PRINTABLE_COUNT);
    if (data.find(key, 0, key.length) < 0) keys.push(key);
  }
  return keys;
}

/** Bytes for a message: quoted text when printable, else hex; long ones cut. */
export function show(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, SHOWN_BYTES));
  const text = head.toString('latin1');
  const body = /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${head.toString('hex')}`;
  return bytes.length > SHOWN_BYTES ? `${body}… (${bytes.length} bytes)` : body;
}

export class Tally {
  readonly result: WorkerResult = {
    requests: 0, hits: 0, misses: 0, errors: 0, mismatches: 0, lostConnections: 0, lostRequests: 0, failovers: 0,
    countStart: 0, countEnd: 0, histogram: '', intervals: [], examples: [],
  };
  private readonly total = hdr.build(HISTOGRAM_OPTIONS);
  private readonly intervals: hdr.Histogram[] = [];
  private readonly intervalMs: number;
  private countStart = 0;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** A counted answer: its latency goes into the histograms. */
  record(now: number, sentAt: number): void {
    if (this.countStart === 0) this.countStart = now;
    this.result.requests++;
    const micros = Math.max(1, Math.round((now - sentAt) * MICROSECONDS));
    this.total.recordValue(micros);
    const interval = Math.floor((now - this.countStart) / this.intervalMs);
    while (this.intervals.length <= interval) this.intervals.push(hdr.build(HISTOGRAM_OPTIONS));
    this.intervals[interval].recordValue(micros);
    this.result.countEnd = now;
  }

  example(kind: string, key: string, expected: string, got: string): void {
    if (this.result.examples.length < MAX_EXAMPLES) this.result.examples.push({ kind, key, expected, got });
  }

  /** An answer that is not the expected value (null: NOT_FOUND was expected). */
  wrong(status: number, bytes: Buffer, start: number, end: number, key: Buffer, expected: Buffer | null): void {
    const want = expected === null ? 'NOT_FOUND' : `OK ${show(expected)}`;
    if (status === STATUS_ERROR) {
      this.result.errors++;
      this.example('error', show(key), want, `ERROR ${bytes.toString('utf8', start, end)}`);
    } else {
      this.result.mismatches++;
      const got = status === STATUS_OK ? `OK ${show(bytes.subarray(start, end))}` : status === STATUS_NOT_FOUND ? 'NOT_FOUND' : `status ${status}`;
      this.example('mismatch', show(key), want, got);
    }
  }

  lost(inFlight: number, reason: string): void {
    this.result.lostConnections++;
    this.result.lostRequests += inFlight;
    this.example('lost connection', '', '', reason);
  }

  /** The result with histograms encoded and times as wall-clock ms. */
  finish(): WorkerResult {
    const r = this.result;
    r.countStart = this.countStart === 0 ? 0 : performance.timeOrigin + this.countStart;
    r.countEnd = r.countEnd === 0 ? 0 : performance.timeOrigin + r.countEnd;
    r.histogram = hdr.encodeIntoCompressedBase64(this.total);
    r.intervals = this.intervals.map((h) => hdr.encodeIntoCompressedBase64(h));
    return r;
  }
}
