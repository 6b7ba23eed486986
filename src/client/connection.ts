// The client library: connect() gives a connection whose calls are pipelined and
// resolve in order; ERROR frames reject with RokvError, a lost connection rejects
// everything outstanding.

import net from 'node:net';
import {
  DEFAULT_HOST, DEFAULT_PORT, ERROR_NAMES, MAX_RESPONSE_PAYLOAD, OP_GET, OP_INFO, OP_PING,
  STATUS_ERROR, STATUS_NOT_FOUND, STATUS_OK,
} from '../protocol/rokv/constants.ts';
import { FrameDecoder, type FrameHandler } from '../protocol/rokv/decoder.ts';
import { encodeFrame } from '../protocol/rokv/frames.ts';

export interface ConnectOptions {
  host?: string;
  port?: number;
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

/** The RokvError of an ERROR frame's payload: code byte, then a UTF-8 message. */
function errorFrom(bytes: Buffer, start: number, end: number): RokvError {
  return new RokvError(end > start ? bytes[start] : 0, bytes.toString('utf8', Math.min(start + 1, end), end));
}

interface Pending {
  resolve: (payload: Buffer | null) => void;
  reject: (error: Error) => void;
}

export class RokvConnection implements FrameHandler {
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder(this, MAX_RESPONSE_PAYLOAD);
  private readonly pending: Pending[] = [];
  private head = 0;
  private failure: Error | null = null;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('error', (error) => this.fail(new Error(`connection lost: ${error.message}`)));
    socket.on('close', () => this.fail(new Error('connection lost: closed by the server')));
  }

  /** The value of a key, or null when the key is not in the data set. */
  get(key: Buffer | string): Promise<Buffer | null> {
    return this.send(OP_GET, typeof key === 'string' ? Buffer.from(key) : key);
  }

  /** Echo of the payload. */
  async ping(payload: Buffer | string = Buffer.alloc(0)): Promise<Buffer> {
    return (await this.send(OP_PING, Buffer.from(payload))) as Buffer;
  }

  async info(): Promise<Record<string, unknown>> {
    const payload = (await this.send(OP_INFO, Buffer.alloc(0))) as Buffer;
    return JSON.parse(payload.toString('utf8'));
  }

  /** Any op with any payload: OK resolves with the payload, NOT_FOUND with null. */
  send(op: number, payload: Uint8Array): Promise<Buffer | null> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(encodeFrame(op, payload));
    });
  }

  /** Closes after the outstanding calls are answered. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  onFrame(status: number, bytes: Buffer, start: number, end: number): boolean {
    const call = this.pending[this.head];
    if (call === undefined) {
      // BUSY comes unasked, right after accept.
      this.fail(status === STATUS_ERROR && end > start ? errorFrom(bytes, start, end) : new Error('protocol error: a response with no request'));
      return false;
    }
    this.pending[this.head++] = undefined as unknown as Pending;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (status === STATUS_OK) call.resolve(bytes.subarray(start, end));
    else if (status === STATUS_NOT_FOUND) call.resolve(null);
    else if (status === STATUS_ERROR) call.reject(errorFrom(bytes, start, end));
    else {
      call.reject(new Error(`protocol error: unknown status 0x${status.toString(16)}`));
      this.fail(new Error('connection closed after a protocol error'));
    }
    return true;
  }

  onBadLength(length: number): void {
    this.fail(new Error(`protocol error: response frame length ${length}`));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.decoder.stop();
    const waiting = this.pending.slice(this.head);
    this.pending.length = 0;
    this.head = 0;
    for (const call of waiting) if (call) call.reject(this.failure);
    this.socket.destroy();
  }
}

export function connect(options: ConnectOptions = {}): Promise<RokvConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host ?? DEFAULT_HOST, port: options.port ?? DEFAULT_PORT });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new RokvConnection(socket));
    });
    socket.once('error', reject);
  });
}
