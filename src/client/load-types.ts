// What the parts of the load generator pass each other: the options of a run (main
// thread, cluster loop), a worker thread's task and its result.

import type { NodeAddress } from '../addresses.ts';
import type { ClusterMap } from '../cluster/map.ts';
import type { KeyDistribution } from './key-choice.ts';
import type { ClientStorage, DataShare } from './load-data.ts';
import type { Credentials } from './wire.ts';

/** A load test as bin/client runs it (runLoad). */
export interface LoadTestOptions {
  file: string;
  /** How the client holds the data file it checks answers against (load-data.ts). */
  storage: ClientStorage;
  host: string;
  port: number;
  protocol: 'rokv' | 'resp';
  clients: number;
  pipeline: number;
  threads: number;
  requests: number;
  durationSeconds: number;
  warmup: number;
  missRatio: number;
  /** How the keys asked for are spread over the file's keys (--distribution). */
  distribution: KeyDistribution;
  seed: string;
  intervalMs: number;
  /** Give up connecting after this many ms. */
  connectTimeoutMs: number;
  /** A connection whose requests see no answer for this many ms is lost (0 = never). */
  timeoutMs: number;
  /** Authenticate every connection first (--user, --password); null: do not. */
  credentials: Credentials | null;
  /** Route by this cluster map to `servers` (servers[i] serves shard i) instead of one server. */
  cluster?: ClusterMap;
  servers?: NodeAddress[];
  /** Called about twice a second with counted answers so far. */
  onProgress?: (answered: number) => void;
  /** When aborted (Ctrl-C), no new requests are sent; the answers in flight are awaited and reported. */
  stop?: AbortSignal;
}

/** One load thread's share of a run (load-worker.ts). */
export interface WorkerTask {
  file: string;
  /** The main thread's data file, as this thread views it too. */
  data: DataShare;
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
  distribution: KeyDistribution;
  /** This thread's random stream (key choice, misses). */
  seed: string;
  /** Which keys are hot (keyChooser's scatterSeed): the same for every thread of a run. */
  hotKeySeed: string;
  intervalMs: number;
  /** Give up connecting after this many ms. */
  connectTimeoutMs: number;
  /** A connection whose requests see no answer for this many ms is lost (0 = never). */
  timeoutMs: number;
  credentials: Credentials | null;
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
