// npm run bench: tinybench micro-benchmarks of the hot path on testdata_1M.data:
// key hash, index lookup (hit, miss), frame decoding of a 64 KB chunk of pipelined
// GETs, and the server's whole per-chunk work (decode + lookup + encode) minus syscalls,
// for the binary protocol and for RESP.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Bench } from 'tinybench';
import { murmur3 } from '../src/format/hash.ts';
import { loadDataFile } from '../src/format/load.ts';
import { respWire } from '../src/client/resp.ts';
import { respCodec } from '../src/protocol/resp/session.ts';
import { MAX_REQUEST_PAYLOAD } from '../src/protocol/rokv/constants.ts';
import { FrameDecoder } from '../src/protocol/rokv/decoder.ts';
import { encodeGet } from '../src/protocol/rokv/frames.ts';
import { rokvCodec } from '../src/protocol/rokv/session.ts';
import { Service } from '../src/service/service.ts';
import { memoryVersionOf } from '../src/storage/tiers.ts';
import { fakeConnection } from './fake-connection.ts';

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

/** A request for a random existing key in one protocol. */
const rokvGet = () => encodeGet(data.key(offsets[Math.floor(Math.random() * offsets.length)]));
const respGet = () => {
  const key = data.key(offsets[Math.floor(Math.random() * offsets.length)]);
  const out = Buffer.alloc(respWire.getSize(key.length));
  respWire.writeGet(out, 0, key, 0, key.length);
  return out;
};

// 64 chunks of 64 KB of pipelined GETs for random existing keys, in each protocol.
function getChunks(request: () => Buffer): { chunks: Buffer[]; perChunk: number } {
  const chunks: Buffer[] = [];
  let requests = 0;
  while (chunks.length < 64) {
    const frames: Buffer[] = [];
    let size = 0;
    for (;;) {
      const frame = request();
      if (size + frame.length > CHUNK_BYTES) break;
      frames.push(frame);
      size += frame.length;
    }
    requests += frames.length;
    chunks.push(Buffer.concat(frames));
  }
  return { chunks, perChunk: Math.round(requests / chunks.length) };
}
const rokvChunks = getChunks(rokvGet);
const respChunks = getChunks(respGet);
const framesPerChunk = rokvChunks.perChunk;
let next = 0;
const nextChunk = () => rokvChunks.chunks[next++ & 63];
let nextResp = 0;
const nextRespChunk = () => respChunks.chunks[nextResp++ & 63];
let cursor = 0;
const nextBatch = () => (cursor = (cursor + BATCH) % POOL);

let sink = 0;
const counter = { onFrame: (op: number) => ((sink += op), true), onBadLength: () => {} };

// The server's per-chunk work without a network: a connection over a socket that accepts every write.
const service = new Service(memoryVersionOf(data), { file: FILE });
const rokvSide = fakeConnection(rokvCodec, service, { keep: false });
const respSide = fakeConnection(respCodec, service, { keep: false });
const onData = rokvSide.feed;
const onRespData = respSide.feed;

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
  })
  .add(`server, RESP: decode + lookup + encode 64 KB (~${respChunks.perChunk} GETs)`, () => {
    onRespData(nextRespChunk());
  });

await bench.run();

const perCall: Record<string, number> = {
  [bench.tasks[0].name]: BATCH, [bench.tasks[1].name]: BATCH, [bench.tasks[2].name]: BATCH,
  [bench.tasks[3].name]: framesPerChunk, [bench.tasks[4].name]: framesPerChunk, [bench.tasks[5].name]: respChunks.perChunk,
};
const rows = bench.tasks.map((task) => {
  const result = task.result as unknown as { throughput?: { mean: number }; hz?: number; latency?: { mean: number } };
  const callsPerSecond = result.throughput?.mean ?? result.hz ?? 0;
  const ops = callsPerSecond * perCall[task.name];
  return { benchmark: task.name, 'ops/s': Math.round(ops).toLocaleString('en-US'), 'ns/op': (1e9 / ops).toFixed(1) };
});
console.table(rows);
console.log(`(checksum of results ${(sink + rokvSide.socket.bytesWritten + respSide.socket.bytesWritten) & 1})`);
