// npm run bench: tinybench micro-benchmarks of the hot path on testdata_1M.data:
// key hash, index lookup (hit, miss), frame decoding of a 64 KB chunk of pipelined
// GETs, and the server's whole per-chunk work (decode + lookup + encode) minus syscalls.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Bench } from 'tinybench';
import { murmur3 } from '../src/format/hash.ts';
import { loadDataFile } from '../src/format/load.ts';
import { MAX_REQUEST_PAYLOAD, OP_GET } from '../src/protocol/constants.ts';
import { FrameDecoder } from '../src/protocol/decoder.ts';
import { encodeGet } from '../src/protocol/frames.ts';
import { Connection } from '../src/server/connection.ts';
import { Output } from '../src/protocol/output.ts';
import { Stats } from '../src/server/stats.ts';
import type { RokvServer } from '../src/server/server.ts';

const FILE = 'testdata_1M.data';
const BATCH = 1024; // operations per benchmark call, so timer overhead does not dominate
const POOL = 64 * BATCH; // keys cycled through, so lookups miss the CPU caches as real traffic does
const CHUNK_BYTES = 64 * 1024;

if (!fs.existsSync(FILE)) {
  process.stderr.write(`bench: ${FILE} is missing; generating it\n`);
  const run = spawnSync(process.execPath, ['tools/generate.ts', '--count', '1M', '-o', FILE], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
const data = loadDataFile(FILE);
const offsets = data.recordOffsets();

// POOL random existing keys and POOL absent keys, laid out in one buffer each.
function keyBatch(absent: boolean): { bytes: Buffer; starts: number[] } {
  const parts: Buffer[] = [];
  const starts: number[] = [];
  let at = 0;
  for (let i = 0; i < POOL; i++) {
    const key = absent ? Buffer.from(`absent-${i}-${'z'.repeat(28)}`) : data.key(offsets[Math.floor(Math.random() * offsets.length)]);
    starts.push(at);
    parts.push(key);
    at += key.length;
  }
  starts.push(at);
  return { bytes: Buffer.concat(parts), starts };
}
const hits = keyBatch(false);
const misses = keyBatch(true);

// 64 chunks of 64 KB of pipelined GETs for random existing keys.
function getChunk(): Buffer {
  const frames: Buffer[] = [];
  let size = 0;
  for (;;) {
    const frame = encodeGet(data.key(offsets[Math.floor(Math.random() * offsets.length)]));
    if (size + frame.length > CHUNK_BYTES) return Buffer.concat(frames);
    frames.push(frame);
    size += frame.length;
  }
}
const chunks = Array.from({ length: 64 }, getChunk);
const framesPerChunk = Math.round(chunks.reduce((a, c) => a + c.length, 0) / chunks.length / encodeGet(data.key(offsets[0])).length);
let next = 0;
const nextChunk = () => chunks[next++ & 63];
let cursor = 0;
const nextBatch = () => (cursor = (cursor + BATCH) % POOL);

let sink = 0;
const counter = { onFrame: (op: number) => ((sink += op), true), onBadLength: () => {} };

// The server's per-chunk work without a network: a socket that accepts every write.
const fakeSocket = {
  writableLength: 0,
  write: (b: Buffer) => ((sink += b.length), true),
  on: () => fakeSocket, setNoDelay: () => {}, pause: () => {}, resume: () => {}, end: () => {},
};
const fakeServer = { data, stats: new Stats(), output: new Output(), forget: () => {}, info: () => ({}) };
const connection = new Connection(fakeServer as unknown as RokvServer, fakeSocket as never);
const onData = (connection as unknown as { onData(c: Buffer): void }).onData.bind(connection);

const bench = new Bench({ time: 1000, warmup: true });
bench
  .add(`murmur3, 36-byte key (×${BATCH})`, () => {
    const first = nextBatch();
    for (let i = first; i < first + BATCH; i++) sink ^= murmur3(hits.bytes, hits.starts[i], hits.starts[i + 1], 1);
  })
  .add(`lookup hit, 1M records (×${BATCH})`, () => {
    const first = nextBatch();
    for (let i = first; i < first + BATCH; i++) sink ^= data.find(hits.bytes, hits.starts[i], hits.starts[i + 1]);
  })
  .add(`lookup miss, 1M records (×${BATCH})`, () => {
    const first = nextBatch();
    for (let i = first; i < first + BATCH; i++) sink ^= data.find(misses.bytes, misses.starts[i], misses.starts[i + 1]);
  })
  .add(`decode 64 KB of GET frames (~${framesPerChunk} frames)`, () => {
    new FrameDecoder(counter, MAX_REQUEST_PAYLOAD).push(nextChunk());
  })
  .add(`server: decode + lookup + encode 64 KB (~${framesPerChunk} GETs)`, () => {
    onData(nextChunk());
  });

await bench.run();

const perCall: Record<string, number> = {
  [bench.tasks[0].name]: BATCH, [bench.tasks[1].name]: BATCH, [bench.tasks[2].name]: BATCH,
  [bench.tasks[3].name]: framesPerChunk, [bench.tasks[4].name]: framesPerChunk,
};
const rows = bench.tasks.map((task) => {
  const result = task.result as unknown as { throughput?: { mean: number }; hz?: number; latency?: { mean: number } };
  const callsPerSecond = result.throughput?.mean ?? result.hz ?? 0;
  const ops = callsPerSecond * perCall[task.name];
  return { benchmark: task.name, 'ops/s': Math.round(ops).toLocaleString('en-US'), 'ns/op': (1e9 / ops).toFixed(1) };
});
console.table(rows);
console.log(`(${OP_GET === 1 ? 'rokv protocol v1' : ''}; checksum of results ${sink & 1})`);
