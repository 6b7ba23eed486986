// Counters of a server: one row of numbers per event loop, in a Float64Array that
// may sit on a SharedArrayBuffer so INFO on any worker thread reports the totals.

export const REQUESTS = 0;
export const HITS = 1;
export const MISSES = 2;
export const ERRORS = 3;
export const ACCEPTED = 4;
export const REJECTED = 5;
export const OPEN = 6;
/** Bytes of replies handed to sockets that clients have not taken yet (a level, not a count). */
export const UNSENT_BYTES = 7;
/** Bytes buffered for unfinished requests (a level). */
export const PARTIAL_BYTES = 8;
/** 1 while the event loop serves, 0 once it stopped or died: INFO's count of live loops. */
export const LIVE = 9;
/** The fields that are levels, not counts: a loop that died holds nothing any more. */
const LEVELS = [OPEN, UNSENT_BYTES, PARTIAL_BYTES, LIVE];
const FIELDS = 10;

export class Stats {
  /** Every event loop's counters. */
  private readonly all: Float64Array;
  /** This event loop's counters: the hot path increments these. */
  readonly mine: Float64Array;

  static sharedBuffer(loops: number): SharedArrayBuffer {
    return new SharedArrayBuffer(loops * FIELDS * Float64Array.BYTES_PER_ELEMENT);
  }

  constructor(buffer: ArrayBufferLike = new ArrayBuffer(FIELDS * Float64Array.BYTES_PER_ELEMENT), loop = 0) {
    this.all = new Float64Array(buffer);
    this.mine = this.all.subarray(loop * FIELDS, (loop + 1) * FIELDS);
  }

  /** Zeroes the levels of a loop that died (its connections and buffers are gone); counts stay. */
  clearLevels(loop: number): void {
    for (const field of LEVELS) this.all[loop * FIELDS + field] = 0;
  }

  total(field: number): number {
    let sum = 0;
    for (let i = field; i < this.all.length; i += FIELDS) sum += this.all[i];
    return sum;
  }
}
