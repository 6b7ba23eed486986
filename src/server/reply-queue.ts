// One connection's replies in request order when some complete later (a record read
// from disk): memcached's reply slots. A session opens a Hole where a reply will go;
// every byte written after it waits here, behind it, until it is filled; filled holes
// and the bytes behind them leave in order. While nothing is deferred the queue is
// empty and replies go straight to the socket.
//
// Contract: accept(view) keeps a view of output bytes (true) or says to write it now
// (false); open() appends a hole; fill(hole, write) runs write() with every output
// byte going into that hole, then marks it filled; drain(send) hands over, in order,
// everything up to the first hole not yet filled. Holes never nest: a fill writes
// bytes only.

import type { ReplySlot } from '../protocol/codec.ts';

export class Hole implements ReplySlot {
  /** Output written into this hole while it was being filled. */
  parts: Buffer[] = [];
  filled = false;
}

export class ReplyQueue {
  /** Bytes waiting and holes, in request order, from `head`. */
  private items: (Buffer | Hole)[] = [];
  private head = 0;
  /** The hole being filled: output goes into it. */
  private fillingHole: Hole | null = null;
  /** Bytes this queue holds (behind holes, and inside filled ones). */
  bytes = 0;
  /** Holes opened and not yet filled. */
  open = 0;

  /** A fill is running: output goes into its hole. */
  get filling(): boolean {
    return this.fillingHole !== null;
  }

  /** Nothing waits: output may go straight to the socket. */
  get empty(): boolean {
    return this.head === this.items.length && this.fillingHole === null;
  }

  /** Keeps `view` (into the hole being filled, or behind a hole): true; false when it should be written now. */
  accept(view: Buffer): boolean {
    if (this.fillingHole !== null) {
      this.fillingHole.parts.push(view);
    } else if (this.head < this.items.length) {
      this.items.push(view);
    } else {
      return false;
    }
    this.bytes += view.length;
    return true;
  }

  /** A place for a reply that completes later; what is written after it waits for it. */
  openHole(): Hole {
    const hole = new Hole();
    this.items.push(hole);
    this.open++;
    return hole;
  }

  /** Runs `write` with all output going into `hole`, then marks it filled. `flush` hands the batch over before the end. */
  fill(hole: Hole, write: () => void, flush: () => void): void {
    this.fillingHole = hole;
    try {
      write();
      flush();
    } finally {
      this.fillingHole = null;
      if (!hole.filled) this.open--;
      hole.filled = true;
    }
  }

  /** Hands over every byte up to the first hole not yet filled, in order. */
  drain(send: (view: Buffer) => void): void {
    const items = this.items;
    while (this.head < items.length) {
      const item = items[this.head];
      if (item instanceof Hole) {
        if (!item.filled) return;
        for (const part of item.parts) {
          this.bytes -= part.length;
          send(part);
        }
      } else {
        this.bytes -= item.length;
        send(item);
      }
      items[this.head++] = EMPTY;
    }
    items.length = this.head = 0;
  }

  /** The connection closed: drop everything (late fills are dropped by their session). */
  clear(): void {
    this.items.length = this.head = 0;
    this.bytes = 0;
    this.open = 0;
  }
}

const EMPTY = Buffer.alloc(0);
