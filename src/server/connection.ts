// One client connection, whatever its protocol: feeds socket bytes to the codec's
// session, hands the batch of replies to the socket in one write per chunk read,
// keeps replies in request order when some complete later (a disk read: the reply
// queue), stops reading while the client does not drain or too many replies wait
// (backpressure), and closes without ever writing after end().

import type { Socket } from 'node:net';
import { formatAddress } from '../addresses.ts';
import type { Budget } from '../protocol/budget.ts';
import type { Codec, Link, ReplySlot, Session } from '../protocol/codec.ts';
import type { Output, OutputSink } from '../protocol/output.ts';
import { type Hole, ReplyQueue } from './reply-queue.ts';
import type { Service } from '../service/service.ts';
import { BYTES_IN } from '../service/stats.ts';

/** Stop reading a connection while this many reply bytes wait to be sent. */
export const OUTPUT_HIGH_WATER = 1 << 20;
/** Stop reading a connection while this many of its replies wait for disk reads. */
export const MAX_DEFERRED_REPLIES = 64;
/** While the loop's unsent budget is exhausted, what a client with nothing waiting may still be sent per batch. */
export const EXHAUSTED_SHARE = 64 * 1024;
/** A connection we closed is destroyed this long after end() if its replies are still not sent... */
export const CLOSE_GRACE_MS = 1000;
/** ...and this long after they are (and our FIN is) if the peer has not closed its side. */
export const CLOSE_LINGER_MS = 1000;

/**
 * Ends a socket we are done with: sends what it holds, then FIN; reads and drops
 * whatever still arrives (so the peer's close is seen and unread bytes do not turn
 * our close into a reset). Unless `untilPeerCloses` (shutdown: the caller's grace
 * period bounds it), destroys it CLOSE_LINGER_MS after the FIN if the peer has not
 * closed by then, or CLOSE_GRACE_MS after this call if the replies are still not
 * sent, so no peer can hold a descriptor.
 */
export function closeGently(socket: Socket, last?: Buffer, { untilPeerCloses = false } = {}): void {
  socket.on('error', () => socket.destroy());
  socket.on('data', () => {});
  socket.resume();
  if (last) socket.end(last);
  else socket.end();
  if (untilPeerCloses) return;
  const destroy = () => socket.destroy();
  let timer = setTimeout(destroy, CLOSE_GRACE_MS).unref();
  socket.once('finish', () => {
    clearTimeout(timer);
    timer = setTimeout(destroy, CLOSE_LINGER_MS).unref();
  });
  socket.once('close', () => clearTimeout(timer)); // a closed socket is not kept alive by its timer
}

/** What a connection shares with the others of its event loop. */
export interface LoopShared {
  out: Output;
  /** Replies handed to sockets that the clients have not taken yet. */
  unsent: Budget;
  /** Unfinished requests buffered by decoders. */
  partials: Budget;
  /** The loop's counters (BYTES_IN). */
  counts: Float64Array;
}

export class Connection implements Link, OutputSink {
  readonly socket: Socket;
  readonly out: Output;
  readonly partials: Budget;
  private readonly counts: Float64Array;
  private readonly unsentBudget: Budget;
  /** This connection's share of unsentBudget: its socket's writableLength when last looked. */
  private unsentCharged = 0;
  readonly id: number;
  readonly session: Session;
  /** Requests answered when the idle sweep last looked. */
  answeredAtSweep = 0;
  idleSweeps = 0;
  stalledSweeps = 0;
  /** Bytes the kernel had taken from this socket at the last sweep. */
  takenAtSweep = 0;
  /** The kernel's send queue of this socket at the last sweep that looked (-1: unknown). */
  kernelQueueAtSweep = -1;
  /** end() was called: nothing is written any more. */
  private ended = false;
  /**
   * Input bytes still taken as requests. Infinity while serving; at shutdown, what
   * the kernel had received and we had not read; 0 once the peer has half-closed.
   * At 0, the connection ends as soon as the replies owed are handed over.
   */
  private inputLeft = Infinity;
  /** Shutting down: after end(), wait for the peer to close (the server's grace period bounds it). */
  private shuttingDown = false;
  /** Replies behind one that completes later, in request order. */
  private readonly queue = new ReplyQueue();
  /** closeAfterReply() while replies were still deferred: end once they are sent; take no more input. */
  private closing = false;
  /** The socket closed: deferred replies that complete now are dropped. */
  private closed = false;

  constructor(socket: Socket, shared: LoopShared, codec: Codec, service: Service, id: number, onClose: (c: Connection) => void) {
    this.socket = socket;
    this.out = shared.out;
    this.partials = shared.partials;
    this.counts = shared.counts;
    this.unsentBudget = shared.unsent;
    this.id = id;
    this.session = codec.open(this, service);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onPeerEnd());
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closed = true;
      this.queue.clear();
      this.session.dispose();
      this.unsentBudget.move(this.unsentCharged, 0);
      this.unsentCharged = 0;
      onClose(this);
    });
  }

  get peer(): string {
    return formatAddress({ host: this.socket.remoteAddress, port: this.socket.remotePort });
  }

  get local(): string {
    return formatAddress({ host: this.socket.localAddress, port: this.socket.localPort });
  }

  reserve(n: number): Buffer {
    return this.out.reserve(this, n);
  }

  /**
   * Output's sink: a view of the batch, or a large value. It goes into the reply being
   * filled, or behind a reply that waits, or to the socket; after end() (or, outside a
   * fill, once closing) it is dropped. True while a view of it is still held.
   */
  send(view: Buffer): boolean {
    if (this.ended) return false;
    if (this.closing && !this.queue.filling) return false;
    if (this.queue.accept(view)) return true;
    this.socket.write(view);
    return this.socket.writableLength > 0;
  }

  sendView(view: Buffer): void {
    this.out.flush(this);
    this.out.countSent(view.length);
    this.send(view);
  }

  defer(): ReplySlot {
    this.out.flush(this); // what was written before the slot goes before it
    return this.queue.openHole();
  }

  fill(slot: ReplySlot, write: () => void): void {
    if (this.closed) return;
    this.queue.fill(slot as Hole, write, () => this.out.flush(this));
    this.queue.drain((view) => this.writeQueued(view));
    this.chargeUnsent();
    if (this.queue.empty && this.closing) return this.end();
    this.wake();
    this.endWhenAnswered();
  }

  private writeQueued(view: Buffer): void {
    if (!this.ended) this.socket.write(view);
  }

  /**
   * Room for more replies: under this connection's high-water mark; while the loop's
   * unsent output is over its budget, only for a client that has taken all it was
   * sent, and only EXHAUSTED_SHARE at a time (the others wait for their own 'drain').
   */
  hasRoom(): boolean {
    if (this.queue.open >= MAX_DEFERRED_REPLIES) return false;
    const unsent = this.socket.writableLength + this.queue.bytes;
    const queued = unsent + this.out.pending;
    if (!this.unsentBudget.exhausted) return queued < OUTPUT_HIGH_WATER;
    return unsent === 0 && queued < EXHAUSTED_SHARE;
  }

  closeAfterReply(): void {
    if (this.ended || this.closing) return;
    this.out.flush(this);
    if (this.queue.empty) this.end();
    else this.closing = true; // the replies still deferred go out first
  }

  /**
   * Shutdown: answer what was received (what the session holds, and `unread`, the
   * bytes the kernel received that the socket has not read yet), take nothing after that,
   * and end once those answers are handed over.
   */
  shutdown(unread: number): void {
    this.shuttingDown = true;
    // Bytes the socket read from the kernel but, paused, has not emitted yet are owed too.
    this.inputLeft = Math.min(this.inputLeft, unread + this.socket.readableLength);
    this.endWhenAnswered();
  }

  /** Replies written but not yet taken (or waiting behind a deferred one): the stall timeout and budgets watch it. */
  get unsent(): number {
    return this.socket.writableLength + this.queue.bytes;
  }

  /**
   * Bytes the kernel has taken from this socket: what the client drained. libuv's
   * write queue (bytes handed to the handle but not yet in the kernel) is the only
   * measure at that grain: a large reply is one write that completes only when all
   * of it is taken, so counting completed writes would call a slow steady reader stalled.
   */
  get taken(): number {
    const handle = (this.socket as unknown as { _handle?: { writeQueueSize?: number } })._handle;
    return this.socket.bytesWritten - (handle?.writeQueueSize ?? 0);
  }

  private onData(chunk: Buffer): void {
    this.counts[BYTES_IN] += chunk.length;
    if (this.ended || this.closing || this.inputLeft === 0) return;
    if (chunk.length > this.inputLeft) chunk = chunk.subarray(0, this.inputLeft);
    this.inputLeft -= chunk.length;
    this.session.push(chunk);
    this.settle();
    this.endWhenAnswered();
  }

  /** The peer half-closed: what it sent is all there is; answer it, then end. */
  private onPeerEnd(): void {
    this.inputLeft = 0;
    this.endWhenAnswered();
  }

  private onDrain(): void {
    this.chargeUnsent();
    this.wake();
    this.endWhenAnswered();
  }

  /** A paused session goes on when there is room again (the client drained, or deferred replies went out). */
  private wake(): void {
    if (this.ended || this.closing || !this.session.paused || !this.hasRoom()) return;
    this.session.resume();
    this.settle();
    if (!this.session.paused && !this.ended) this.socket.resume();
  }

  /** Ends the connection once no input is owed an answer and neither the session nor the reply queue holds one. */
  private endWhenAnswered(): void {
    if (this.inputLeft === 0 && !this.session.paused && !this.ended && this.queue.empty) this.end();
  }

  /** After decoding: hand the batch over (or drop it if the session closed us), pause if full. */
  private settle(): void {
    if (this.ended) this.out.discard();
    else this.out.flush(this);
    this.chargeUnsent();
    if (this.session.paused && !this.ended) this.socket.pause();
  }

  /** Moves this connection's charge in the loop's unsent budget to its unsent bytes now. */
  private chargeUnsent(): void {
    const unsent = this.unsent;
    this.unsentBudget.move(this.unsentCharged, unsent);
    this.unsentCharged = unsent;
  }

  private end(): void {
    this.ended = true;
    closeGently(this.socket, undefined, { untilPeerCloses: this.shuttingDown });
  }
}
