// A server connection without a network, for unit tests of codecs and sessions and for
// the micro-benchmarks: the real Connection (src/server/connection.ts) — so the codec's
// session, the batch buffer, backpressure and closing behave exactly as on a socket —
// over a fake socket that keeps (or only counts) what is written to it.

import { EventEmitter } from 'node:events';
import type { Codec } from '../src/protocol/codec.ts';
import { Connection } from '../src/server/connection.ts';
import { loopShared } from '../src/server/server.ts';
import type { Service } from '../src/service/service.ts';

/** The part of a net.Socket a Connection uses. */
export class FakeSocket extends EventEmitter {
  /** Bytes "the kernel has not taken": raise it to make the connection's client look slow. */
  writableLength = 0;
  readableLength = 0;
  bytesWritten = 0;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 50_000;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 7070;
  /** end() was called: the connection sends nothing more. */
  ended = false;
  destroyed = false;
  /** pause() was called and resume() not since: the connection stopped reading. */
  paused = false;
  private readonly onWrite: (bytes: Buffer) => void;

  constructor(onWrite: (bytes: Buffer) => void) {
    super();
    this.onWrite = onWrite;
  }

  write(bytes: Buffer): boolean {
    this.bytesWritten += bytes.length;
    this.onWrite(bytes);
    return true;
  }

  end(last?: Buffer): this {
    if (last) this.write(last);
    this.ended = true;
    return this;
  }

  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit('close');
    }
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    return this;
  }
}

export interface FakeConnection {
  readonly socket: FakeSocket;
  readonly connection: Connection;
  /** Hands `chunk` to the connection as one read from the socket (the path every request takes). */
  feed(chunk: Buffer): void;
  /** Everything written to the socket since the last call (with `keep`), in order. */
  written(): Buffer;
  /** The buffers handed to socket.write() since the last written(), as they were (views of the data, of the batch slab). */
  readonly writes: Buffer[];
}

/**
 * A connection of `codec` serving `service`, on a loop of its own (no memory limits).
 * `keep` false only counts written bytes (socket.bytesWritten: the micro-benchmarks);
 * written() is then empty.
 */
export function fakeConnection(codec: Codec, service: Service, { keep = true, id = 1 } = {}): FakeConnection {
  const chunks: Buffer[] = [];
  const writes: Buffer[] = [];
  const socket = new FakeSocket(keep ? (bytes) => {
    writes.push(bytes);
    chunks.push(Buffer.from(bytes)); // the slab region is reused once written through
  } : () => {});
  const connection = new Connection(socket as never, loopShared(service, Infinity, Infinity), codec, service, id, () => {});
  // The 'data' handler's own body, bound once: what a socket read runs, with no event dispatch in between.
  const feed = (connection as unknown as { onData(chunk: Buffer): void }).onData.bind(connection);
  return {
    socket,
    connection,
    feed,
    writes,
    written: () => {
      const all = Buffer.concat(chunks);
      chunks.length = 0;
      writes.length = 0;
      return all;
    },
  };
}
