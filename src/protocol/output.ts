// The batch buffer replies (or requests) are encoded into: one slab shared by every
// connection of a thread, flushed with one socket write per batch. A region handed
// to a socket that has not sent it yet is never written again.

const SLAB_SIZE = 256 * 1024;

/** Where a batch goes: a connection, which writes it to its socket or keeps it queued. */
export interface OutputSink {
  /** Takes a view of the batch; true while something (the socket, a reply queue) still holds it. */
  send(view: Buffer): boolean;
}

/** A sink that writes straight to a socket (a client's connection). */
export function socketSink(socket: { write(view: Buffer): unknown; readonly writableLength: number }): OutputSink {
  return {
    send(view) {
      socket.write(view);
      return socket.writableLength > 0; // the socket keeps a view of the region
    },
  };
}

export class Output {
  buf = Buffer.allocUnsafe(SLAB_SIZE);
  /** Where the bytes handed to sockets are counted: counts[field]. */
  private readonly counts: Float64Array;
  private readonly field: number;
  /** First byte of the batch not yet handed to the socket. */
  start = 0;
  /** Next byte to write. */
  pos = 0;
  /** Some socket still holds a region of this slab. */
  private held = false;

  /** Bytes encoded and not yet handed to a socket. */
  get pending(): number {
    return this.pos - this.start;
  }

  /** `counts[field]` adds up the bytes handed to sockets (a server's BYTES_OUT); none by default. */
  constructor(counts: Float64Array = new Float64Array(1), field = 0) {
    this.counts = counts;
    this.field = field;
  }

  /** Counts n bytes handed to a socket around this buffer (a view of the data). */
  countSent(n: number): void {
    this.counts[this.field] += n;
  }

  /** Makes room for n contiguous bytes, flushing to the socket first if needed. */
  reserve(sink: OutputSink, n: number): Buffer {
    if (this.pos + n <= this.buf.length) return this.buf;
    this.flush(sink);
    if (this.pos + n > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
      this.start = this.pos = 0;
      this.held = false;
    }
    return this.buf;
  }

  /** Hands the batch to the sink: one write. */
  flush(sink: OutputSink): void {
    if (this.pos === this.start) return;
    this.counts[this.field] += this.pos - this.start;
    if (sink.send(this.buf.subarray(this.start, this.pos))) this.held = true; // a view of the region is kept
    if (this.held) this.start = this.pos;
    else this.start = this.pos = 0; // written through to the kernel: reuse from the top
  }

  /** Drops the batch not yet handed over (its connection was closed meanwhile). */
  discard(): void {
    this.pos = this.start;
  }
}
