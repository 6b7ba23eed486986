// Event-loop lag as the server sees it: a timer that should fire every TICK_MS notes
// how late it fires; the mean and max of each window are written to the loop's
// counters (LOOP_LAG_MEAN_MS, LOOP_LAG_MAX_MS), where INFO and /metrics read them.

import { LOOP_LAG_MAX_MS, LOOP_LAG_MEAN_MS } from './stats.ts';

const TICK_MS = 20;
const WINDOW_MS = 1000;

export class LoopLag {
  private timer: NodeJS.Timeout | null = null;
  private readonly counts: Float64Array;

  /** `counts`: this loop's row of counters. */
  constructor(counts: Float64Array) {
    this.counts = counts;
  }

  start(): void {
    let expected = performance.now() + TICK_MS;
    let windowEnd = expected + WINDOW_MS;
    let sum = 0;
    let count = 0;
    let max = 0;
    this.timer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - expected);
      expected = now + TICK_MS;
      sum += lag;
      count++;
      if (lag > max) max = lag;
      if (now >= windowEnd) {
        this.counts[LOOP_LAG_MEAN_MS] = sum / count;
        this.counts[LOOP_LAG_MAX_MS] = max;
        sum = count = max = 0;
        windowEnd = now + WINDOW_MS;
      }
    }, TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
