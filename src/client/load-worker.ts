// One load-generator thread: its share of the connections, each keeping `pipeline`
// GETs in flight for random keys of the data file, every answer checked byte for
// byte, latencies into HDR histograms (total and per interval).

import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import seedrandom from 'seedrandom';
import { STATUS_ERROR, STATUS_NOT_FOUND, STATUS_OK } from '../protocol/rokv/constants.ts';
import type { FrameHandler } from '../protocol/rokv/decoder.ts';
import { Output, type OutputSink, socketSink } from '../protocol/output.ts';
import { keyChooser } from './key-choice.ts';
import { attachLoadData } from './load-data.ts';
import type { WorkerTask } from './load-types.ts';
import { Tally, makeMissKeys } from './tally.ts';
import { type ResponseDecoder, type Wire, authRequest, errorText, rokvWire } from './wire.ts';
import { respWire } from './resp.ts';

const READ_BUFFER_SIZE = 256 * 1024;
const PROGRESS_EVERY = 1023; // answers between updates of the shared progress counter

const task = workerData as WorkerTask & { progress: Float64Array; index: number };
const data = attachLoadData(task.file, task.data);
const offsets = new Float64Array(task.offsets);
const wire: Wire = task.protocol === 'resp' ? respWire : rokvWire;
const random = seedrandom.alea(task.seed);
const output = new Output();
const tally = new Tally(task.intervalMs);
const missKeys = makeMissKeys(data, random);
const chooseKey = keyChooser(task.distribution, offsets.length, task.hotKeySeed, random);
const budget = task.warmup + task.requests;
let issued = 0;
let completed = 0;
let deadline = Infinity; // with --duration: no new requests after this
let stopped = false; // the main thread asked to stop (Ctrl-C): no new requests
let openConnections = 0;

function counting(): boolean {
  return completed >= task.warmup;
}

function takeRequest(now: number): boolean {
  if (stopped) return false;
  if (task.durationMs > 0) return now < deadline;
  if (issued >= budget) return false;
  issued++;
  return true;
}

class LoadConnection implements FrameHandler {
  private readonly socket: net.Socket;
  private readonly sink: OutputSink;
  private readonly decoder: ResponseDecoder;
  /** Per request in flight: record offset of the key asked for, or -(miss key index + 1). */
  private readonly asked: Float64Array;
  private readonly sentAt: Float64Array;
  private head = 0;
  private tail = 0;
  private inFlight = 0;
  private done = false;
  /** When the last answer arrived (the response timeout counts from it, or from the oldest request). */
  private lastAnswerAt = 0;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.sink = socketSink(socket);
    this.decoder = wire.decoder(this);
    this.asked = new Float64Array(task.pipeline);
    this.sentAt = new Float64Array(task.pipeline);
  }

  onRead(chunk: Buffer): void {
    this.decoder.push(chunk);
    this.fill(performance.now());
  }

  /** Tops the pipeline up and sends the new requests in one write. */
  fill(now: number): void {
    while (this.inFlight < task.pipeline && takeRequest(now)) this.send(now);
    output.flush(this.sink);
    if (this.inFlight === 0) this.finish();
  }

  private send(now: number): void {
    let asked: number;
    let key: Buffer;
    let keyStart: number;
    let keyLength: number;
    if (task.missRatio > 0 && random() < task.missRatio) {
      const index = Math.floor(random() * missKeys.length);
      asked = -(index + 1);
      key = missKeys[index];
      keyStart = 0;
      keyLength = key.length;
    } else {
      asked = offsets[chooseKey()];
      key = data.bytes;
      keyStart = data.keyStart(asked);
      keyLength = data.keyLength(asked);
    }
    const buf = output.reserve(this.sink, wire.getSize(keyLength));
    output.pos = wire.writeGet(buf, output.pos, key, keyStart, keyStart + keyLength);
    this.asked[this.tail] = asked;
    this.sentAt[this.tail] = now;
    this.tail = this.tail + 1 === this.asked.length ? 0 : this.tail + 1;
    this.inFlight++;
  }

  /** Lost when requests are waiting and nothing has arrived for the timeout. */
  checkTimeout(now: number): void {
    if (this.done || this.inFlight === 0) return;
    if (now - Math.max(this.lastAnswerAt, this.sentAt[this.head]) > task.timeoutMs) {
      this.lost(`no answer for ${task.timeoutMs / 1000} s (${this.inFlight} requests waiting)`);
    }
  }

  onFrame(status: number, bytes: Buffer, start: number, end: number): boolean {
    if (status !== STATUS_OK && status !== STATUS_NOT_FOUND && status !== STATUS_ERROR) {
      this.lost(`protocol error: unknown status 0x${status.toString(16).padStart(2, '0')}`);
      return false;
    }
    const now = performance.now();
    this.lastAnswerAt = now;
    const asked = this.asked[this.head];
    const sentAt = this.sentAt[this.head];
    this.head = this.head + 1 === this.asked.length ? 0 : this.head + 1;
    this.inFlight--;
    const count = counting();
    completed++;
    if ((completed & PROGRESS_EVERY) === 0) task.progress[task.index] = tally.result.requests;
    if (asked >= 0) {
      const valueStart = data.valueStart(asked);
      const valueEnd = valueStart + data.valueLength(asked);
      if (status === STATUS_OK && bytes.compare(data.bytes, valueStart, valueEnd, start, end) === 0) {
        if (count) tally.result.hits++;
      } else tally.wrong(status, bytes, start, end, data.key(asked), data.value(asked));
    } else if (status === STATUS_NOT_FOUND) {
      if (count) tally.result.misses++;
    } else tally.wrong(status, bytes, start, end, missKeys[-asked - 1], null);
    if (count) tally.record(now, sentAt);
    if (task.durationMs > 0 && deadline === Infinity && count) deadline = now + task.durationMs;
    return true;
  }

  onBadLength(length: number): void {
    // The RESP reply decoder reports -1: a reply that is not RESP (or not one a GET gets).
    this.lost(length < 0 ? 'protocol error: malformed RESP reply' : `bad response frame length ${length}`);
  }

  lost(reason: string): void {
    if (this.done) return;
    tally.lost(this.inFlight, reason);
    this.inFlight = 0;
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.socket.end();
    if (--openConnections === 0) report();
  }
}

function report(): void {
  parentPort?.postMessage({ type: 'result', result: tally.finish() });
}

/** A connection, once connected and (with credentials) authenticated, within the connect timeout. */
function open(): Promise<LoadConnection> {
  return new Promise((resolve, reject) => {
    let connection: LoadConnection | null = null;
    /** Reads the answer to AUTH, the only one before the connection is ready. */
    let greeting: ResponseDecoder | null = null;
    const fail = (reason: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(reason));
    };
    const timer = setTimeout(() => fail(`no answer within ${task.connectTimeoutMs / 1000} s`), task.connectTimeoutMs);
    const socket = net.connect({
      host: task.host,
      port: task.port,
      noDelay: true,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE),
        callback: (bytes: number, buf: Uint8Array) => {
          const chunk = (buf as Buffer).subarray(0, bytes);
          if (connection) connection.onRead(chunk);
          else greeting?.push(chunk);
          return true;
        },
      },
    });
    const ready = () => {
      clearTimeout(timer);
      connection = new LoadConnection(socket);
      socket.off('close', closedEarly);
      socket.on('error', (error) => connection?.lost(error.message));
      socket.on('close', () => connection?.lost('closed by the server'));
      resolve(connection);
    };
    const closedEarly = () => fail('closed by the server');
    socket.once('connect', () => {
      socket.once('close', closedEarly);
      if (task.credentials === null) return ready();
      greeting = wire.decoder({
        onFrame: (status, bytes, start, end) => {
          greeting = null;
          if (status === STATUS_OK) ready();
          else fail(`AUTH refused: ${errorText(task.protocol, bytes, start, end)}`);
          return false;
        },
        onBadLength: () => fail('protocol error: a malformed answer to AUTH'),
      });
      socket.write(authRequest(task.protocol, task.credentials));
    });
    socket.once('error', (error) => fail(error.message));
  });
}

const connections = await Promise.all(Array.from({ length: task.connections }, open)).catch((error: Error) => {
  parentPort?.postMessage({ type: 'failed', message: `cannot connect to ${task.host}:${task.port}: ${error.message}` });
  process.exit(1);
});
openConnections = connections.length;
if (task.timeoutMs > 0) {
  setInterval(() => {
    const now = performance.now();
    for (const connection of connections) connection.checkTimeout(now);
  }, Math.min(1000, task.timeoutMs / 4)).unref();
}
parentPort?.postMessage({ type: 'ready' });
// 'start', then perhaps 'stop'.
parentPort?.on('message', (message: string) => {
  if (message === 'stop') {
    stopped = true;
    return;
  }
  const now = performance.now();
  for (const connection of connections) connection.fill(now);
});
