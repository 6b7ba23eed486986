// The client library: connect() gives a connection whose calls are pipelined and
// resolve in order; ERROR frames reject with RokvError; a lost connection, a protocol
// error (unknown status, an answer nobody asked for, a PING or INFO answered with
// anything but OK) or a request unanswered for the response timeout rejects
// everything outstanding and closes the connection. Given a password, connect()
// authenticates (AUTH, protocol 1.1) before it resolves.

import net from 'node:net';
import tls from 'node:tls';
import { formatAddress } from '../addresses.ts';
import {
  DEFAULT_HOST, DEFAULT_PORT, ERROR_NAMES, MAX_REQUEST_PAYLOAD, MAX_RESPONSE_PAYLOAD, OP_AUTH, OP_GET, OP_INFO, OP_PING,
  STATUS_ERROR, STATUS_NOT_FOUND, STATUS_OK,
} from '../protocol/rokv/constants.ts';
import { FrameDecoder, type FrameHandler } from '../protocol/rokv/decoder.ts';
import { authPayload, encodeFrame } from '../protocol/rokv/frames.ts';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 10_000;

export interface ConnectOptions {
  host?: string;
  port?: number;
  /** Give up connecting after this many ms (default 5000). */
  connectTimeoutMs?: number;
  /** Fail the connection when a request has waited this many ms with no answer arriving (default 10000; 0 = never). */
  timeoutMs?: number;
  /** Speak TLS (a server's --tls-port) with these options: ca, cert, key, servername... */
  tls?: tls.ConnectionOptions;
  /** Authenticate as this user (default: `default`) ... */
  user?: string;
  /** ... with this password, before any other request (a server with --requirepass or --aclfile needs it). */
  password?: string;
}

/** An ERROR frame from the server. */
export class RokvError extends Error {
  readonly code: number;
  readonly codeName: string;
  constructor(code: number, message: string) {
    const codeName = ERROR_NAMES[code] ?? `code ${code}`;
    super(`${codeName}: ${message}`);
    this.name = 'RokvError';
    this.code = code;
    this.codeName = codeName;
  }
}

/**
 * The bytes of a key, checked before any call is queued or sent: a TypeError for
 * anything but a string or bytes, a RangeError past the protocol's 65,535 bytes (the
 * server would answer FRAME_TOO_LARGE and close the connection, failing every other
 * call in flight). A string is its UTF-8 bytes.
 */
export function keyBytes(key: unknown): Uint8Array {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`key must be a string or bytes (a Buffer or Uint8Array), not ${describe(key)}`);
  checkPayloadLength(bytes, 'key');
  return bytes;
}

/** A RangeError for a request payload over the protocol's limit. */
function checkPayloadLength(payload: Uint8Array, what: string): void {
  if (payload.length > MAX_REQUEST_PAYLOAD) {
    throw new RangeError(`${what} is ${payload.length.toLocaleString('en-US')} bytes; the protocol's limit is ${MAX_REQUEST_PAYLOAD.toLocaleString('en-US')} bytes`);
  }
}

/** What a value is, for an error message: null, an array, a number, an object... */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** The RokvError of an ERROR frame's payload: code byte, then a UTF-8 message. */
function errorFrom(bytes: Buffer, start: number, end: number): RokvError {
  return new RokvError(end > start ? bytes[start] : 0, bytes.toString('utf8', Math.min(start + 1, end), end));
}

interface Pending {
  /** OK: the payload; NOT_FOUND: null (only GET may be answered so). */
  resolve: (payload: Buffer | null) => void;
  reject: (error: Error) => void;
  /** The op asked: PING and INFO must be answered OK. */
  op: number;
}

export class RokvConnection implements FrameHandler {
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder(this, MAX_RESPONSE_PAYLOAD);
  private readonly pending: Pending[] = [];
  private head = 0;
  private failure: Error | null = null;
  private readonly timeoutMs: number;
  /** Runs while requests wait; refreshed by every answer. */
  private timer: NodeJS.Timeout | null = null;
  private readonly label: string;

  constructor(socket: net.Socket, options: { timeoutMs?: number; label?: string } = {}) {
    this.socket = socket;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.label = options.label ?? 'the server';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('error', (error) => this.fail(new Error(`connection lost: ${error.message}`)));
    socket.on('close', () => this.fail(new Error('connection lost: closed by the server')));
  }

  /** The value of a key, or null when the key is not in the data set. */
  get(key: Uint8Array | string): Promise<Buffer | null> {
    let bytes: Uint8Array;
    try {
      bytes = keyBytes(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.send(OP_GET, bytes);
  }

  /** Echo of the payload. */
  async ping(payload: Buffer | string = Buffer.alloc(0)): Promise<Buffer> {
    return (await this.send(OP_PING, Buffer.from(payload))) as Buffer;
  }

  async info(): Promise<Record<string, unknown>> {
    const payload = (await this.send(OP_INFO, Buffer.alloc(0))) as Buffer;
    let info: unknown;
    try {
      info = JSON.parse(payload.toString('utf8'));
    } catch {
      info = null;
    }
    if (typeof info !== 'object' || info === null || Array.isArray(info)) {
      const error = new Error('protocol error: the INFO answer is not a JSON object');
      this.fail(error);
      throw error;
    }
    return info as Record<string, unknown>;
  }

  /**
   * Any op with any payload: OK resolves with the payload, NOT_FOUND (GET only) with null.
   * A payload that is not bytes (TypeError) or over 65,535 bytes (RangeError) is refused
   * before anything is queued or sent: the other calls are untouched.
   */
  send(op: number, payload: Uint8Array): Promise<Buffer | null> {
    if (this.failure) return Promise.reject(this.failure);
    let frame: Buffer;
    try {
      if (!(payload instanceof Uint8Array)) throw new TypeError(`payload must be bytes (a Buffer or Uint8Array), not ${describe(payload)}`);
      checkPayloadLength(payload, 'payload');
      frame = encodeFrame(op, payload);
    } catch (error) {
      return Promise.reject(error);
    }
    // Queued only once its frame exists: a call that throws leaves no answer unclaimed.
    return new Promise((resolve, reject) => {
      if (this.head === this.pending.length) this.armTimer();
      this.pending.push({ resolve, reject, op });
      this.socket.write(frame);
    });
  }

  /**
   * Authenticates the connection (AUTH): resolves with the user's name; a wrong password
   * or an unknown or disabled user rejects with RokvError WRONGPASS (answered late by the server).
   */
  async auth(user: string | null, password: string): Promise<string> {
    return ((await this.send(OP_AUTH, authPayload(user, password))) as Buffer).toString('utf8');
  }

  /** Closes after the outstanding calls are answered; later calls fail with "closed by the client". */
  async close(): Promise<void> {
    this.failure ??= new Error('connection closed by the client (close() was called)');
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  destroy(): void {
    this.failure ??= new Error('connection closed by the client (destroy() was called)');
    this.socket.destroy();
  }

  onFrame(status: number, bytes: Buffer, start: number, end: number): boolean {
    const call = this.pending[this.head];
    if (call === undefined) {
      // BUSY comes unasked, right after accept; anything else unasked breaks the stream.
      this.fail(status === STATUS_ERROR && end > start ? errorFrom(bytes, start, end) : new Error('protocol error: an answer to no request'));
      return false;
    }
    if (status !== STATUS_OK && status !== STATUS_ERROR && !(status === STATUS_NOT_FOUND && call.op === OP_GET)) {
      const what = status === STATUS_NOT_FOUND ? `NOT_FOUND in answer to op 0x0${call.op}` : `unknown status 0x${status.toString(16)}`;
      this.fail(new Error(`protocol error: ${what}`));
      return false;
    }
    this.pending[this.head++] = undefined as unknown as Pending;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (this.head === this.pending.length) this.clearTimer();
    else this.timer?.refresh();
    if (status === STATUS_OK) call.resolve(bytes.subarray(start, end));
    else if (status === STATUS_NOT_FOUND) call.resolve(null);
    else call.reject(errorFrom(bytes, start, end));
    return true;
  }

  onBadLength(length: number): void {
    this.fail(new Error(`protocol error: response frame length ${length}`));
  }

  private armTimer(): void {
    if (this.timeoutMs <= 0) return;
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.fail(new Error(`no answer from ${this.label} within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      this.timer.unref();
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.clearTimer();
    this.decoder.stop();
    const waiting = this.pending.slice(this.head);
    this.pending.length = 0;
    this.head = 0;
    for (const call of waiting) if (call) call.reject(this.failure);
    this.socket.destroy();
  }
}

/**
 * A connection to a server: over TLS when `options.tls` is given (the binary protocol on
 * --tls-port), authenticated first when `options.password` is (a refused AUTH rejects
 * with RokvError WRONGPASS and closes the connection).
 */
export async function connect(options: ConnectOptions = {}): Promise<RokvConnection> {
  const connection = await open(options);
  if (options.password === undefined) return connection;
  try {
    await connection.auth(options.user ?? null, options.password);
  } catch (error) {
    connection.destroy();
    throw error;
  }
  return connection;
}

/** The connection, once TCP (and TLS) is up, within the connect timeout. */
function open(options: ConnectOptions): Promise<RokvConnection> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const label = formatAddress({ host, port });
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = options.tls ? tls.connect({ servername: net.isIP(host) ? undefined : host, ...options.tls, host, port }) : net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`cannot connect to ${label}: no answer within ${connectTimeoutMs / 1000} s`));
    }, connectTimeoutMs);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(new RokvConnection(socket, { timeoutMs: options.timeoutMs, label }));
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to ${label}: ${error.message}`));
    };
    socket.once('error', onError);
  });
}
