// Incremental frame decoder for both directions: frames split across chunks at any
// byte, many frames per chunk, and a handler that can pause it (backpressure).
// Only the bytes of an unfinished frame are ever copied.

import type { Budget } from '../budget.ts';
import { HeldInput } from '../held-input.ts';
import { FRAME_HEADER_SIZE, LENGTH_SIZE } from './constants.ts';

export interface FrameHandler {
  /**
   * One whole frame: its op/status byte and payload bytes[start, end). The bytes are
   * only valid during the call. Return false to pause the decoder after this frame.
   */
  onFrame(kind: number, bytes: Buffer, start: number, end: number): boolean;
  /** A length of 0 or a payload over the limit; the decoder stops for good. */
  onBadLength(length: number): void;
  /** The budget for unfinished frames refused this one's bytes; the decoder stops for good. */
  onBufferLimit?(): void;
}

/** First room for an unfinished frame: an idle half frame costs about its own bytes. */
const MIN_PARTIAL_ROOM = 256;

export class FrameDecoder extends HeldInput {
  private readonly handler: FrameHandler;
  private readonly maxPayload: number;
  private partialFill = 0;
  /** Total bytes of the unfinished frame, length header included. */
  private partialLength = 0;
  private readonly lengthBytes = Buffer.alloc(LENGTH_SIZE);
  constructor(handler: FrameHandler, maxPayload: number, budget?: Budget) {
    super(budget, () => handler.onBufferLimit?.());
    this.handler = handler;
    this.maxPayload = maxPayload;
  }

  /** A frame length of 0, or one whose payload is over the limit. */
  private isBadLength(length: number): boolean {
    return length === 0 || length - 1 > this.maxPayload;
  }

  protected decode(chunk: Buffer): void {
    let pos = 0;
    if (this.partial !== null || this.partialFill > 0) {
      pos = this.continuePartial(chunk);
      if (pos < 0) return;
    }
    const end = chunk.length;
    while (end - pos >= LENGTH_SIZE) {
      const length = chunk.readUInt32BE(pos);
      if (this.isBadLength(length)) {
        this.stop();
        this.handler.onBadLength(length);
        return;
      }
      const frameEnd = pos + LENGTH_SIZE + length;
      if (frameEnd > end) break;
      const more = this.handler.onFrame(chunk[pos + LENGTH_SIZE], chunk, pos + FRAME_HEADER_SIZE, frameEnd);
      pos = frameEnd;
      if (this.stopped) return;
      if (!more) return this.pauseAt(chunk, pos);
    }
    if (pos < end) this.startPartial(chunk, pos);
  }

  /** Keeps the tail of a chunk that holds less than one frame. */
  private startPartial(chunk: Buffer, pos: number): void {
    const available = chunk.length - pos;
    if (available < LENGTH_SIZE) {
      chunk.copy(this.lengthBytes, 0, pos);
      this.partialFill = available;
      return;
    }
    this.partialLength = LENGTH_SIZE + chunk.readUInt32BE(pos);
    if (!this.setPartial(Buffer.allocUnsafe(Math.min(this.partialLength, Math.max(available, MIN_PARTIAL_ROOM))))) return;
    this.partialFill = chunk.copy(this.partial as Buffer, 0, pos);
  }

  /** Room for `need` more bytes of the unfinished frame (grows by doubling, never past the frame), or null if refused. */
  private reserve(need: number): Buffer | null {
    const partial = this.partial as Buffer;
    if (this.partialFill + need <= partial.length) return partial;
    const room = Math.min(this.partialLength, Math.max(this.partialFill + need, partial.length * 2));
    const grown = Buffer.allocUnsafe(room);
    partial.copy(grown, 0, 0, this.partialFill);
    return this.setPartial(grown) ? grown : null;
  }

  /** Feeds a chunk to the unfinished frame; returns where the rest of the chunk starts, or -1. */
  private continuePartial(chunk: Buffer): number {
    let pos = 0;
    if (this.partial === null) {
      // Still collecting the 4 length bytes.
      const need = LENGTH_SIZE - this.partialFill;
      const take = Math.min(need, chunk.length);
      chunk.copy(this.lengthBytes, this.partialFill, 0, take);
      this.partialFill += take;
      pos = take;
      if (this.partialFill < LENGTH_SIZE) return -1;
      const length = this.lengthBytes.readUInt32BE(0);
      if (this.isBadLength(length)) {
        this.stop();
        this.partialFill = 0;
        this.handler.onBadLength(length);
        return -1;
      }
      this.partialLength = LENGTH_SIZE + length;
      const room = Buffer.allocUnsafe(Math.min(this.partialLength, MIN_PARTIAL_ROOM));
      if (!this.setPartial(room)) return -1;
      this.lengthBytes.copy(room, 0);
    }
    const take = Math.min(this.partialLength - this.partialFill, chunk.length - pos);
    const frame = this.reserve(take);
    if (frame === null) return -1;
    chunk.copy(frame, this.partialFill, pos, pos + take);
    this.partialFill += take;
    pos += take;
    if (this.partialFill < this.partialLength) return -1;
    this.setPartial(null);
    this.partialFill = 0;
    const more = this.handler.onFrame(frame[LENGTH_SIZE], frame, FRAME_HEADER_SIZE, this.partialLength);
    if (this.stopped) return -1;
    if (!more) {
      this.pauseAt(chunk, pos);
      return -1;
    }
    return pos;
  }
}
