// What every incremental decoder shares, whatever it decodes: pausing (input that
// arrives while paused is held and decoded on resume), stopping for good, and the
// buffer of an unfinished request, charged to a byte budget (refused: stop, and tell).

import { type Budget, type BudgetHolder, UNLIMITED } from './budget.ts';

const EMPTY = Buffer.alloc(0);

export abstract class HeldInput implements BudgetHolder {
  paused = false;
  protected stopped = false;
  /** Input not yet decoded because the decoder was paused. */
  private held: Buffer = EMPTY;
  /** The unfinished request's bytes (or room for them). */
  protected partial: Buffer | null = null;
  private readonly budget: Budget;
  /** Bytes of partial charged to the budget. */
  private charged = 0;
  /** Called once if the budget refuses the partial buffer (the decoder has stopped). */
  private readonly onRefused: () => void;

  constructor(budget: Budget = UNLIMITED, onRefused: () => void = () => {}) {
    this.budget = budget;
    this.onRefused = onRefused;
  }

  /** Decodes what it can of chunk (not paused, not stopped). */
  protected abstract decode(chunk: Buffer): void;

  push(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.paused) {
      this.held = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
      return;
    }
    this.decode(chunk);
  }

  /** Continues after a pause with the input held back. */
  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = EMPTY;
    if (held.length > 0 && !this.stopped) this.decode(held);
  }

  /** Stops for good and gives back what it buffered. */
  stop(): void {
    this.stopped = true;
    this.held = EMPTY;
    this.setPartial(null);
  }

  /** Pauses after the current request; the rest of chunk from `pos` is held. */
  protected pauseAt(chunk: Buffer, pos: number): void {
    this.paused = true;
    if (pos < chunk.length) this.held = chunk.subarray(pos);
  }

  /**
   * Swaps the partial buffer, moving its charge. When the budget is full, the decoder
   * holding the most pays first (it is evicted) if it holds more than this one asks;
   * false (this decoder stopped) if the budget still refuses.
   */
  protected setPartial(buffer: Buffer | null): boolean {
    const size = buffer === null ? 0 : buffer.length;
    const budget = this.budget;
    if (!budget.rechargeOrEvict(this, this.charged, size)) {
      this.stop();
      this.onRefused();
      return false;
    }
    this.charged = size;
    this.partial = buffer;
    budget.note(this, size);
    return true;
  }

  /**
   * Evicted by another decoder of the loop that needed the budget: stops for good and
   * gives the charge back now; tells its session (which answers an error and closes)
   * on the next turn, since this runs while another connection's replies are being
   * written into the loop's shared batch buffer.
   */
  evict(): void {
    if (this.stopped) return;
    this.stop();
    setImmediate(this.onRefused);
  }
}
