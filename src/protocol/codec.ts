// The one swap point between the transport and a wire protocol. The transport
// (src/server/) owns sockets and knows no protocol; a Codec opens a Session per
// connection, which decodes requests, asks the service, and encodes replies into
// the connection's Link. rokv's binary protocol and RESP are the two codecs.

import type { Budget } from './budget.ts';
import type { Output } from './output.ts';
import type { Service } from '../service/service.ts';

/** Values at least this long are sent as views of the data Buffer (Link.sendView), not copied. */
export const LARGE_VALUE = 64 * 1024;

/** What a session may do to its connection. Implemented by the transport. */
export interface Link {
  /** The thread's batch buffer: write replies at out.pos, after reserve(). */
  readonly out: Output;
  /** The loop's budget for buffered unfinished requests: decoders charge their partial buffers to it. */
  readonly partials: Budget;
  /** Unique id of the connection within the process (CLIENT ID). */
  readonly id: number;
  /** "host:port" of the peer, and of our end (CLIENT INFO). */
  readonly peer: string;
  readonly local: string;
  /** Room for n contiguous bytes at out.pos (may flush the batch to this socket first). */
  reserve(n: number): Buffer;
  /** Sends a view of long-lived bytes (a large value) after what is batched, without copying. */
  sendView(view: Buffer): void;
  /** False once unsent replies reach the backpressure limit: the session should pause. */
  hasRoom(): boolean;
  /** Sends what is batched, then closes; further input is discarded (protocol error, QUIT). */
  closeAfterReply(): void;
  /**
   * A place in this connection's output, here, for a reply that completes later (a
   * record read from disk): everything written after it is sent after it. Replies stay
   * in request order whatever order fetches complete in.
   */
  defer(): ReplySlot;
  /**
   * Writes the deferred reply: runs `write`, whose output goes into `slot`, then sends
   * what is now in order. Call it once per slot, from an event callback (not while
   * answering another request). Nothing is written if the connection closed meanwhile.
   */
  fill(slot: ReplySlot, write: () => void): void;
}

/** A deferred reply's place (opaque to sessions). */
export interface ReplySlot {
  readonly filled: boolean;
}

/** One connection's protocol state. */
export interface Session {
  /** Decodes and answers every whole request in chunk; keeps an unfinished one. */
  push(chunk: Buffer): void;
  /** True when the session stopped decoding because the link had no room. */
  readonly paused: boolean;
  /** Continues decoding held input after a pause. */
  resume(): void;
  /** Requests answered so far (the transport's idle timeout watches it). */
  readonly answered: number;
  /** The connection closed: give back every buffer (and budget charge) the session holds. */
  dispose(): void;
}

export interface Codec {
  /** 'rokv' or 'resp': names the protocol in logs and INFO. */
  readonly name: string;
  open(link: Link, service: Service): Session;
  /** The bytes that refuse a connection (at the connection limit, or shutting down), sent before closing. */
  refusal(reason: 'limit' | 'shutdown', limit: number): Buffer;
}
