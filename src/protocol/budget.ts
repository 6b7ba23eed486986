// A byte budget shared by the connections of one event loop: how many bytes of
// unfinished requests they may buffer, or of replies their clients have not taken.
// Each connection's charge is moved, never recounted; small charges always pass, so
// an ordinary client whose request was cut by a chunk boundary is never refused.

/** Charges up to this size are always allowed. */
export const FREE_BYTES = 4096;

export class Budget {
  readonly limit: number;
  /** Where the bytes in use are kept: a cell of the loop's counters, so INFO reports them. */
  private readonly cells: Float64Array<ArrayBufferLike>;
  private readonly at: number;

  constructor(limit: number, cells: Float64Array<ArrayBufferLike> = new Float64Array(1), at = 0) {
    this.limit = limit;
    this.cells = cells;
    this.at = at;
  }

  get used(): number {
    return this.cells[this.at];
  }

  /** Moves a charge from `from` to `to` bytes; false (and no change) if growing it would pass the limit. */
  recharge(from: number, to: number): boolean {
    if (to > from && to > FREE_BYTES && this.used + to - from > this.limit) return false;
    this.cells[this.at] += to - from;
    return true;
  }

  /** Moves a charge whatever the limit (a measure, such as unsent output, that cannot be refused). */
  move(from: number, to: number): void {
    this.cells[this.at] += to - from;
  }

  get exhausted(): boolean {
    return this.used >= this.limit;
  }
}

/** No limit: for decoders outside a server (the client library). */
export const UNLIMITED = new Budget(Infinity);
