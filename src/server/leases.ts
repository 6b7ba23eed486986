// Who still needs a data version's file descriptor (the mmap and disk tiers keep the
// verified file open: its path may name another file by now). The main thread holds
// one lease per event loop that will serve a version; each loop gives its lease back
// once it no longer needs the descriptor (mmap: mapped; disk: swapped out and its
// reads done; a loop that died: by the pool). The last one closes it.

import fs from 'node:fs';

export class FileLeases {
  private readonly holders = new Map<number, number>();

  /** `count` more holders of `fd` (a descriptor < 0 is no file: ignored). */
  hold(fd: number, count = 1): void {
    if (fd < 0 || count <= 0) return;
    this.holders.set(fd, (this.holders.get(fd) ?? 0) + count);
  }

  /** One holder of `fd` is done with it; the last closes it. */
  release(fd: number): void {
    const left = (this.holders.get(fd) ?? 0) - 1;
    if (left > 0) {
      this.holders.set(fd, left);
      return;
    }
    if (!this.holders.delete(fd)) return;
    try {
      fs.closeSync(fd);
    } catch {
      // already closed: nothing to give back
    }
  }

  /** Descriptors open now (for tests and INFO). */
  get open(): number {
    return this.holders.size;
  }
}
