// Helpers for integration tests: start bin/server on an ephemeral port, talk raw
// bytes over real TCP, and split response bytes into frames.

import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { encodeFrame } from '../src/protocol/rokv/frames.ts';
import { type Pair, ROOT, packRecords } from './helpers.ts';

export interface RunningServer {
  port: number;
  /** The RESP port, when started with --resp-port. */
  respPort: number;
  process: ChildProcess;
  stdout: string;
  stderr: () => string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts bin/server (or `command`, another way of running it) on `file`, on port 0. */
export function startServer(file: string, args: string[] = [], env: Record<string, string> = {}, command = path.join(ROOT, 'bin', 'server')): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [file, '--port', '0', '--quiet', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      const match = /listening on \S+:(\d+)[,:]/.exec(stdout);
      if (match) {
        resolve({
          port: Number(match[1]),
          respPort: Number(/RESP on \S+:(\d+)[,:]/.exec(stdout)?.[1] ?? 0),
          process: child,
          stdout,
          stderr: () => stderr,
          stop: (signal = 'SIGTERM') => {
            if (child.exitCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
}

export interface Frame {
  status: number;
  payload: Buffer;
}

export function parseFrames(bytes: Buffer): { frames: Frame[]; rest: number } {
  const frames: Frame[] = [];
  let pos = 0;
  while (bytes.length - pos >= 4) {
    const length = bytes.readUInt32BE(pos);
    if (bytes.length - pos - 4 < length) break;
    frames.push({ status: bytes[pos + 4], payload: bytes.subarray(pos + 5, pos + 4 + length) });
    pos += 4 + length;
  }
  return { frames, rest: bytes.length - pos };
}

export function frame(op: number, payload: Buffer | string = ''): Buffer {
  return encodeFrame(op, Buffer.from(payload));
}

/** A raw TCP connection that collects every byte the server sends. */
export class RawClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Waits until n whole frames have arrived (or the connection closed). */
  async frames(n: number, timeoutMs = 10_000): Promise<Frame[]> {
    await this.until(() => parseFrames(this.received).frames.length >= n || this.closed, timeoutMs);
    return parseFrames(this.received).frames;
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.closed, timeoutMs);
  }

  /** Waits until done() holds (checked on every arrival) or the time runs out. */
  async until(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the server');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Writes `bytes` over and over for `ms`, as fast as the socket takes them; returns bytes written. */
export function flood(socket: net.Socket, bytes: Buffer, ms: number): Promise<number> {
  let pushed = 0;
  const until = Date.now() + ms;
  return new Promise((resolve) => {
    const pump = () => {
      while (Date.now() < until) {
        pushed += bytes.length;
        if (!socket.write(bytes)) return void socket.once('drain', pump);
      }
      resolve(pushed);
    };
    pump();
    setTimeout(() => resolve(pushed), ms + 100);
  });
}

/** Reads the server's INFO over a fresh connection. */
export async function serverInfo(port: number): Promise<Record<string, number>> {
  const client = await RawClient.connect(port);
  client.socket.write(frame(3));
  const [reply] = await client.frames(1);
  client.socket.destroy();
  return JSON.parse(reply.payload.toString('utf8'));
}

/** Packs the records and runs one server on them for the test file; it must exit 0. */
export function serveRecords(records: Pair[], args: string[] = []): { file: string; server: RunningServer } {
  const shared = {} as { file: string; server: RunningServer };
  beforeAll(async () => {
    shared.file = packRecords(records);
    shared.server = await startServer(shared.file, args);
  });
  afterAll(async () => {
    expect(await shared.server.stop()).toBe(0);
  });
  return shared;
}
