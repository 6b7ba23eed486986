// What the load generator's main thread and its worker threads pass each other.

export interface WorkerTask {
  file: string;
  bytes: SharedArrayBuffer;
  /** Float64Array of record offsets, shared. */
  offsets: SharedArrayBuffer;
  host: string;
  port: number;
  protocol: 'rokv' | 'resp';
  connections: number;
  pipeline: number;
  /** Counted requests for this thread (ignored with durationMs). */
  requests: number;
  warmup: number;
  durationMs: number;
  missRatio: number;
  seed: string;
  intervalMs: number;
  /** Give up connecting after this many ms. */
  connectTimeoutMs: number;
  /** A connection whose requests see no answer for this many ms is lost (0 = never). */
  timeoutMs: number;
}

export interface Example {
  kind: string;
  key: string;
  expected: string;
  got: string;
}

/** Counted answers by kind, and what went wrong. */
export interface AnswerCounts {
  requests: number;
  hits: number;
  misses: number;
  errors: number;
  mismatches: number;
  lostConnections: number;
  lostRequests: number;
  /** Cluster mode: requests answered by a replica because the owner was down. */
  failovers: number;
}

export interface WorkerResult extends AnswerCounts {
  /** Wall-clock milliseconds (timeOrigin + now) of the first and last counted answer. */
  countStart: number;
  countEnd: number;
  /** HDR histograms of latency in microseconds, compressed base64. */
  histogram: string;
  intervals: string[];
  examples: Example[];
}

export const HISTOGRAM_OPTIONS = {
  lowestDiscernibleValue: 1,
  highestTrackableValue: 120_000_000,
  numberOfSignificantValueDigits: 3,
} as const;
