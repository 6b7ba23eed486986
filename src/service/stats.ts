// Counters of a server: one row of numbers per event loop, in a Float64Array that
// may sit on a SharedArrayBuffer so INFO (and /metrics) on any thread reports the
// totals. The hot path only increments numbers here; totals are summed when read.

export const REQUESTS = 0;
/** Keys looked up and found, and not found (GET, MGET, EXISTS, …: Service.lookup). */
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
/** Bytes read from clients' sockets, and bytes of replies handed to them. */
export const BYTES_IN = 10;
export const BYTES_OUT = 11;
/** The event loop's lag over the last second, mean and max, in ms (levels, from LoopLag). */
export const LOOP_LAG_MEAN_MS = 12;
export const LOOP_LAG_MAX_MS = 13;
/** The disk tier: record reads done, their total latency in seconds, and reads in flight now (a level). */
export const DISK_READS = 14;
export const DISK_READ_SECONDS = 15;
export const DISK_READS_IN_FLIGHT = 16;
/** Authentications refused (wrong password, unknown or disabled user), and commands refused for a key the user may not read (Redis 7.2's acl_access_denied_auth, acl_access_denied_key). */
export const AUTH_FAILURES = 17;
export const DENIED_KEYS = 18;
/** The fields that are levels, not counts: a loop that died holds nothing any more. */
const LEVELS = [OPEN, UNSENT_BYTES, PARTIAL_BYTES, LIVE, LOOP_LAG_MEAN_MS, LOOP_LAG_MAX_MS, DISK_READS_IN_FLIGHT];

/** Requests by protocol, command and outcome: a block of counters after the fields above. */
export const PROTOCOLS = ['rokv', 'resp'] as const;
export const PROTOCOL_ROKV = 0;
export const PROTOCOL_RESP = 1;
/**
 * How a request ended, for requestField(): a single-key GET found its key or not, any
 * other request answered, or an error reply. (Not HITS/MISSES above: those count keys
 * looked up, by any command.)
 */
export const OUTCOMES = ['hit', 'miss', 'ok', 'error'] as const;
export const OUTCOME_HIT = 0;
export const OUTCOME_MISS = 1;
export const OUTCOME_OK = 2;
export const OUTCOME_ERROR = 3;
/** Command slots per protocol: each protocol numbers its commands from 0 (see requestField). */
export const COMMAND_SLOTS = 192;
const REQUEST_FIELDS = 19;
const FIELDS = REQUEST_FIELDS + PROTOCOLS.length * COMMAND_SLOTS * OUTCOMES.length;

/** Where requests of `command` (its protocol's number) with `outcome` are counted in a row. */
export function requestField(protocol: number, command: number, outcome: number): number {
  return REQUEST_FIELDS + (protocol * COMMAND_SLOTS + command) * OUTCOMES.length + outcome;
}

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

  /** How many event loops have a row. */
  get loops(): number {
    return this.all.length / FIELDS;
  }

  /** `field` of event loop `loop`. */
  of(loop: number, field: number): number {
    return this.all[loop * FIELDS + field];
  }

  total(field: number): number {
    let sum = 0;
    for (let i = field; i < this.all.length; i += FIELDS) sum += this.all[i];
    return sum;
  }
}
