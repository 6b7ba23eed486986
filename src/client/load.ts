// Runs a load test: opens the data file once (load-data.ts), spreads the
// connections over worker threads, starts them together and merges their results
// (exact: histograms are merged, not averaged).

import os from 'node:os';
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { runClusterLoad } from './cluster-load.ts';
import { describeKeyDistribution, hotKeySeed } from './key-choice.ts';
import { type DataShare, openLoadData } from './load-data.ts';
import { type AnswerCounts, HISTOGRAM_OPTIONS, type Example, type LoadTestOptions, type WorkerResult, type WorkerTask } from './load-types.ts';

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadReport extends AnswerCounts {
  server: string;
  protocol: string;
  clients: number;
  pipeline: number;
  threads: number;
  /** How the keys asked for were spread over the file's keys: "uniform" or "zipf:S". */
  keyDistribution: string;
  /** Keys in the data file. */
  keyCount: number;
  seconds: number;
  throughput: number;
  /** Microseconds. */
  latency: LatencySummary;
  clientCpuSeconds: number;
  intervalSeconds: number;
  /** Per interval since the first counted answer: count and latency percentiles (µs). */
  timeline: { t: number; count: number; p50: number; p99: number; max: number }[];
  /** Latency (µs) at percentiles from 0 to 99.999, for the distribution chart. */
  distribution: { percentile: number; micros: number }[];
  examples: Example[];
  /** The run was stopped (Ctrl-C) before its requests or duration were done. */
  interrupted: boolean;
}

const PROGRESS_MS = 500;
/** The worker's module beside this one: .ts when run from source (tests), .js from dist/. */
const WORKER_MODULE = import.meta.url.endsWith('.ts') ? './load-worker.ts' : './load-worker.js';
const DISTRIBUTION_PERCENTILES = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];

/** Threads the client uses when not told: leave a core for the server on small machines. */
export function defaultThreads(clients: number): number {
  return Math.max(1, Math.min(clients, Math.floor(os.availableParallelism() / 2)));
}

function summarize(h: hdr.Histogram): LatencySummary {
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: h.mean,
  };
}

export async function runLoad(options: LoadTestOptions): Promise<LoadReport> {
  const { data, share } = openLoadData(options.file, options.storage);
  if (data.recordCount === 0) throw Object.assign(new Error(`${options.file} has no records to ask for`), { exitCode: 1 });
  const offsetsShared = new SharedArrayBuffer(data.recordCount * Float64Array.BYTES_PER_ELEMENT);
  new Float64Array(offsetsShared).set(data.recordOffsets());
  const threads = options.cluster ? 1 : Math.max(1, Math.min(options.threads, options.clients));
  const cpuBefore = process.cpuUsage();
  const parts = options.cluster
    ? [await runClusterLoad(options, options.cluster, data, new Float64Array(offsetsShared))]
    : await runWorkers(options, threads, share, offsetsShared);
  const cpu = process.cpuUsage(cpuBefore);
  return assemble(options, threads, data.recordCount, parts, cpu);
}

async function runWorkers(options: LoadTestOptions, threads: number, share: DataShare, offsetsShared: SharedArrayBuffer): Promise<WorkerResult[]> {
  const progress = new Float64Array(new SharedArrayBuffer(threads * Float64Array.BYTES_PER_ELEMENT));

  const workers: Worker[] = [];
  const results: Promise<WorkerResult>[] = [];
  const ready: Promise<void>[] = [];
  let assignedRequests = 0;
  for (let i = 0; i < threads; i++) {
    const connections = Math.floor(options.clients / threads) + (i < options.clients % threads ? 1 : 0);
    const requests = i === threads - 1 ? options.requests - assignedRequests : Math.floor((options.requests * connections) / options.clients);
    assignedRequests += requests;
    const task: WorkerTask & { progress: Float64Array; index: number } = {
      file: options.file,
      data: share,
      offsets: offsetsShared,
      host: options.host,
      port: options.port,
      protocol: options.protocol,
      connections,
      pipeline: options.pipeline,
      requests,
      warmup: Math.floor((options.warmup * connections) / options.clients),
      durationMs: options.durationSeconds * 1000,
      missRatio: options.missRatio,
      distribution: options.distribution,
      seed: `${options.seed}/${i}`,
      hotKeySeed: hotKeySeed(options.seed),
      intervalMs: options.intervalMs,
      connectTimeoutMs: options.connectTimeoutMs,
      timeoutMs: options.timeoutMs,
      credentials: options.credentials,
      progress,
      index: i,
    };
    const worker = new Worker(new URL(WORKER_MODULE, import.meta.url), { workerData: task });
    workers.push(worker);
    let markReady: () => void;
    ready.push(new Promise<void>((resolve) => (markReady = resolve)));
    results.push(new Promise((resolve, reject) => {
      worker.on('message', (message: { type: string; result?: WorkerResult; message?: string }) => {
        if (message.type === 'ready') markReady();
        else if (message.type === 'result') resolve(message.result as WorkerResult);
        else if (message.type === 'failed') reject(Object.assign(new Error(message.message), { exitCode: 1 }));
      });
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`load thread ${i} exited (${code}) without a result`)));
    }));
  }

  const failed = Promise.race(results).then(() => new Promise<never>(() => {}));
  failed.catch(() => {}); // a failure also rejects Promise.all(results) below, where it is reported
  await Promise.race([Promise.all(ready), failed]);
  for (const worker of workers) worker.postMessage('start');
  const stopAll = () => {
    for (const worker of workers) worker.postMessage('stop');
  };
  if (options.stop?.aborted) stopAll();
  options.stop?.addEventListener('abort', stopAll, { once: true });
  const ticker = options.onProgress
    ? setInterval(() => options.onProgress?.(progress.reduce((a, b) => a + b, 0)), PROGRESS_MS)
    : null;
  try {
    return await Promise.all(results);
  } finally {
    if (ticker) clearInterval(ticker);
    options.stop?.removeEventListener('abort', stopAll);
    for (const worker of workers) void worker.terminate();
  }
}

function assemble(options: LoadTestOptions, threads: number, keyCount: number, parts: WorkerResult[], cpu: NodeJS.CpuUsage): LoadReport {
  const total = hdr.build(HISTOGRAM_OPTIONS);
  const timeline: hdr.Histogram[] = [];
  for (const part of parts) {
    total.add(hdr.decodeFromCompressedBase64(part.histogram));
    part.intervals.forEach((encoded, i) => {
      timeline[i] ??= hdr.build(HISTOGRAM_OPTIONS);
      timeline[i].add(hdr.decodeFromCompressedBase64(encoded));
    });
  }
  const sum = (field: keyof WorkerResult) => parts.reduce((a, p) => a + (p[field] as number), 0);
  const started = Math.min(...parts.filter((p) => p.countStart > 0).map((p) => p.countStart));
  const ended = Math.max(...parts.map((p) => p.countEnd));
  const seconds = Number.isFinite(started) && ended > started ? (ended - started) / 1000 : 0;
  const requests = sum('requests');
  return {
    server: options.cluster ? `cluster ${options.cluster.id} (${options.servers?.map((a) => `${a.host}:${a.port}`).join(', ')})` : `${options.host}:${options.port}`,
    protocol: options.protocol,
    clients: options.clients,
    pipeline: options.pipeline,
    threads,
    keyDistribution: describeKeyDistribution(options.distribution),
    keyCount,
    requests,
    seconds,
    throughput: seconds > 0 ? requests / seconds : 0,
    latency: summarize(total),
    hits: sum('hits'),
    misses: sum('misses'),
    errors: sum('errors'),
    mismatches: sum('mismatches'),
    lostConnections: sum('lostConnections'),
    lostRequests: sum('lostRequests'),
    failovers: sum('failovers'),
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    intervalSeconds: options.intervalMs / 1000,
    timeline: timeline.map((h, i) => ({
      t: (i * options.intervalMs) / 1000,
      count: h.totalCount,
      p50: h.getValueAtPercentile(50),
      p99: h.getValueAtPercentile(99),
      max: h.maxValue,
    })),
    distribution: DISTRIBUTION_PERCENTILES.map((percentile) => ({ percentile, micros: total.getValueAtPercentile(percentile) })),
    examples: parts.flatMap((p) => p.examples).slice(0, 5),
    interrupted: options.stop?.aborted ?? false,
  };
}
