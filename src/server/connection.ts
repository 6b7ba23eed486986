// One client connection, whatever its protocol: feeds socket bytes to the codec's
// session, hands the batch of replies to the socket in one write per chunk read,
// stops reading while the client does not drain (backpressure), and closes without
// ever writing after end().

import type { Socket } from 'node:net';
import type { Codec, Link, Session } from '../protocol/codec.ts';
import type { Output } from '../protocol/output.ts';
import type { Service } from '../service/service.ts';

/** Stop reading a connection while this many reply bytes wait to be sent. */
export const OUTPUT_HIGH_WATER = 1 << 20;
/** A connection we closed is destroyed this long after end(), whatever the peer does. */
export const CLOSE_GRACE_MS = 1000;

function address(host: string | undefined, port: number | undefined): string {
  return host?.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Ends a socket we are done with: sends what it holds, then FIN; reads and drops
 * whatever still arrives (so the kernel's close is seen); destroys it after
 * CLOSE_GRACE_MS in any case, so a peer that never closes cannot hold a descriptor.
 */
export function closeGently(socket: Socket, last?: Buffer): void {
  socket.on('error', () => socket.destroy());
  socket.on('data', () => {});
  socket.resume();
  if (last) socket.end(last);
  else socket.end();
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(timer)); // a closed socket is not kept alive by its timer
}

export class Connection implements Link {
  readonly socket: Socket;
  readonly out: Output;
  readonly id: number;
  readonly session: Session;
  /** Requests answered when the idle sweep last looked. */
  answeredAtSweep = 0;
  idleSweeps = 0;
  stalledSweeps = 0;
  /** Bytes the kernel had taken from this socket at the last sweep. */
  sentAtSweep = 0;
  /** end() was called: nothing is written any more. */
  private ended = false;
  /** Shutting down: end() as soon as the replies owed are handed over. */
  private closing = false;

  constructor(socket: Socket, out: Output, codec: Codec, service: Service, id: number, onClose: (c: Connection) => void) {
    this.socket = socket;
    this.out = out;
    this.id = id;
    this.session = codec.open(this, service);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => onClose(this));
  }

  get peer(): string {
    return address(this.socket.remoteAddress, this.socket.remotePort);
  }

  get local(): string {
    return address(this.socket.localAddress, this.socket.localPort);
  }

  reserve(n: number): Buffer {
    return this.out.reserve(this.socket, n);
  }

  sendView(view: Buffer): void {
    this.out.flush(this.socket);
    this.socket.write(view);
  }

  hasRoom(): boolean {
    return this.socket.writableLength + this.out.pending < OUTPUT_HIGH_WATER;
  }

  closeAfterReply(): void {
    if (this.ended) return;
    this.out.flush(this.socket);
    this.end();
  }

  /** Stop taking requests; answer what was received; close once that is handed over. */
  shutdown(): void {
    this.closing = true;
    if (!this.session.paused) this.end();
  }

  /** Bytes not yet taken by the kernel: replies written but not drained by the client. */
  get unsent(): number {
    return this.socket.writableLength;
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.session.push(chunk);
    this.settle();
  }

  private onDrain(): void {
    if (this.ended || !this.session.paused) return;
    this.session.resume();
    this.settle();
    if (!this.session.paused && !this.ended) {
      if (this.closing) this.end();
      else this.socket.resume();
    }
  }

  /** After decoding: hand the batch over (or drop it if the session closed us), pause if full. */
  private settle(): void {
    if (this.ended) this.out.discard();
    else this.out.flush(this.socket);
    if (this.session.paused && !this.ended) this.socket.pause();
  }

  private end(): void {
    this.ended = true;
    closeGently(this.socket);
  }
}
