// A byte budget shared by the connections of one event loop: how many bytes of
// unfinished requests they may buffer, or of replies their clients have not taken.
// Each connection's charge is moved, never recounted; small charges always pass, so
// an ordinary client whose request was cut by a chunk boundary is never refused. When
// a charge would pass the limit, the holder of the largest charge pays first
// (evictLargest): parked half-requests cannot lock out the next client's request.

/** Charges up to this size are always allowed. */
export const FREE_BYTES = 4096;

/** What holds a charge and can be made to give it up (a decoder holding an unfinished request). */
export interface BudgetHolder {
  /** Gives its charge back, ending what held it (the connection is closed with an error). */
  evict(): void;
}

export class Budget {
  readonly limit: number;
  /** Holders of charges above FREE_BYTES, with their charge: who pays when the budget is full. */
  private readonly holders = new Map<BudgetHolder, number>();
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

  /** Records `holder`'s charge now (only charges above FREE_BYTES are kept). */
  note(holder: BudgetHolder, charge: number): void {
    if (charge > FREE_BYTES) this.holders.set(holder, charge);
    else this.holders.delete(holder);
  }

  /**
   * The budget is full and `asker` wants `want` bytes: evicts the holder of the largest
   * charge if that is not the asker and holds more than it asks for; true if one was.
   */
  evictLargest(asker: BudgetHolder, want: number): boolean {
    let largest: BudgetHolder | null = null;
    let most = want;
    for (const [holder, charge] of this.holders) {
      if (holder !== asker && charge > most) {
        largest = holder;
        most = charge;
      }
    }
    if (largest === null) return false;
    this.holders.delete(largest);
    largest.evict();
    return true;
  }

  /** recharge(), and if the budget is full, once more after evicting the largest holder (evictLargest). */
  rechargeOrEvict(asker: BudgetHolder, from: number, to: number): boolean {
    return this.recharge(from, to) || (this.evictLargest(asker, to - from) && this.recharge(from, to));
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
