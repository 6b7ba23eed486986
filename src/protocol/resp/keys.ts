// KEYS pattern: every key matching a glob (SCAN MATCH's rules, glob.ts), as one array
// in index-slot order — produced in bounded slices, so it neither holds the event loop
// nor passes the output budgets, in every storage tier.
//
// The array's length is written first, so the keys are gone over twice: a counting
// pass (no output; skipped for `*`, every key), then a writing pass. Each slice does
// about SCAN_WORK steps (SCAN's measure: slots, keys, matching, keys written) or writes
// SLICE_BYTES, then waits one event-loop turn, and longer while the connection has no
// output room; the disk tier's slice is the keys of DISK_SLICE used slots, read with
// one fetch. The connection reads no other request meanwhile (the session's paused
// steps), so the reply is whole and in order.
//
// One version answers: the command holds the records it started on (memory, mmap: the
// version's bytes stay alive while held). The disk tier reads records through the
// version's descriptor, which a swap closes once its reads are done; so a disk KEYS
// opens its own descriptor of the same file at the start (/proc/self/fd) and, after a
// swap, reads the rest through it (a reader of its own, at most OWN_READS reads in
// flight). The descriptor is closed when the command ends or its connection closes.

import fs from 'node:fs';
import { DiskRecords, type FetchedRecords, ReadLimiter, type Want } from '../../storage/disk.ts';
import type { Records } from '../../storage/records.ts';
import type { ReplySlot } from '../codec.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import { Glob } from './glob.ts';
import { SCAN_WORK, bulkKey } from './scan.ts';

/**
 * Steps of work (SCAN's): a slot looked at is one, a key visited KEY_STEPS, a key
 * written REPLY_STEPS more and BYTE_STEPS a byte, so a slice writes about SLICE_BYTES
 * at most.
 */
const KEY_STEPS = 40;
const REPLY_STEPS = 200;
const SLICE_BYTES = 64 * 1024;
const BYTE_STEPS = Math.ceil(SCAN_WORK / SLICE_BYTES);
/** Disk tier: used slots whose keys one slice fetches, and slots it looks at at most (empty ones cost no read). */
const DISK_SLICE = 128;
const DISK_SLICE_SLOTS = 100_000;
/** Disk tier, after a swap: reads in flight of the command's own reader. */
const OWN_READS = 8;


/** One KEYS command under way. */
class KeysReply {
  private readonly s: CommandContext;
  /** The version answered from (memory, mmap: every record; disk: its index). */
  private readonly records: Records;
  /** Disk tier: the version's reader (null otherwise)... */
  private readonly disk: DiskRecords | null;
  /** ...our descriptor of the same file (-1 once closed) and its index, for a reader of our own after a swap. */
  private pin = -1;
  private index: Buffer | null = null;
  private own: DiskRecords | null = null;
  /** Null for `*`: every key. */
  private readonly glob: Glob | null;
  /** Counting (the header not yet written), or writing. */
  private counting: boolean;
  private total = 0;
  /** The next slot to look at in this pass. */
  private slot = 0;
  /** A slice is being read, or a turn awaited: its reply hole fills it. */
  private waiting = false;
  private done = false;

  constructor(s: CommandContext, pattern: Buffer) {
    this.s = s;
    this.records = s.records;
    this.disk = s.service.disk;
    this.glob = pattern.length === 1 && pattern[0] === 0x2a ? null : new Glob(pattern);
    this.counting = this.glob !== null;
    if (this.disk !== null) {
      this.pin = fs.openSync(`/proc/self/fd/${this.disk.fd}`, 'r');
      this.index = Buffer.from(s.service.version.shared as SharedArrayBuffer);
    }
    if (!this.counting) this.writeHeader(this.records.recordCount);
  }

  /**
   * Goes on: runs one slice (or starts its read), then arranges to be called again
   * after a turn. True once the whole reply is written.
   */
  step(): boolean {
    if (this.waiting) return false;
    if (!this.done) {
      if (this.disk === null) this.sliceInMemory();
      else this.sliceFromDisk();
    }
    if (this.done) {
      this.release();
      return true;
    }
    if (!this.waiting) this.awaitTurn();
    return false;
  }

  /** The command is done, or will not go on (its connection closed): gives back the descriptor. */
  release(): void {
    const pin = this.pin;
    if (pin < 0) return;
    this.pin = -1;
    const close = () => fs.closeSync(pin);
    if (this.own === null) close();
    else this.own.retire(close); // once its reads in flight are done
  }

  private writeHeader(n: number): void {
    this.counting = false;
    this.slot = 0;
    this.s.w.array(n);
    if (n === 0) this.done = true;
  }

  /** The end of a pass: the header after counting, or the end of the reply. */
  private endPass(): void {
    if (this.counting) this.writeHeader(this.total);
    else this.done = true;
  }

  /** Counts or writes the key of `record` in `records` if it matches; returns the work done. */
  private visit(records: Records, record: number): number {
    const start = records.keyStart(record);
    const length = records.keyLength(record);
    if (this.glob !== null && !this.glob.match(records.bytes, start, start + length)) return KEY_STEPS;
    if (this.counting) {
      this.total++;
      return KEY_STEPS;
    }
    bulkKey(this.s, records, record);
    return KEY_STEPS + REPLY_STEPS + length * BYTE_STEPS;
  }

  /** Memory and mmap: the next slots, until the slice's work or bytes are spent. */
  private sliceInMemory(): void {
    const records = this.records;
    const glob = this.glob;
    let work = glob === null ? 0 : -glob.work; // what matching costs counts too
    while (this.slot < records.slotCount && work + (glob === null ? 0 : glob.work) < SCAN_WORK) {
      const record = records.recordAtSlot(this.slot++);
      work += record < 0 ? 1 : this.visit(records, record);
    }
    if (this.slot >= records.slotCount) this.endPass();
  }

  /** The disk tier: fetches the keys of the next used slots; they are visited when read. */
  private sliceFromDisk(): void {
    const index = this.disk as DiskRecords;
    const wants: Want[] = [];
    const stop = Math.min(index.slotCount, this.slot + DISK_SLICE_SLOTS);
    while (this.slot < stop && wants.length < DISK_SLICE) {
      const slot = this.slot++;
      if (index.recordAtSlot(slot) >= 0) wants.push({ key: null, slot, value: false });
    }
    const last = this.slot >= index.slotCount;
    const link = this.s.link;
    let hole: ReplySlot | null = null;
    const now = this.reader().fetch(wants, (view) => link.fill(hole as ReplySlot, () => {
      this.waiting = false;
      if (view instanceof Error) return this.fail(view);
      this.visitFetched(view, wants, last);
    }));
    if (now !== null) return this.visitFetched(now, wants, last);
    this.waiting = true;
    hole = link.defer();
  }

  /**
   * A read failed: the error is the reply while counting; once the header is out the
   * reply cannot be completed, so the connection is closed after what was sent.
   */
  private fail(error: Error): void {
    const written = !this.counting;
    this.s.error(`ERR ${error.message}`);
    this.done = true;
    if (written) this.s.link.closeAfterReply();
  }

  /** Visits the fetched keys of `wants`' slots; `last`: they end the pass. */
  private visitFetched(view: FetchedRecords, wants: Want[], last: boolean): void {
    for (const want of wants) {
      const record = view.recordAtSlot(want.slot);
      if (record >= 0) this.visit(view, record);
    }
    if (last) this.endPass();
  }

  /** Where the disk tier reads: the served version's reader while it is served, then our own of the same file. */
  private reader(): DiskRecords {
    const disk = this.disk as DiskRecords;
    if (this.s.service.disk === disk) return disk;
    this.own ??= new DiskRecords(this.pin, disk.header, this.index as Buffer, disk.source, new ReadLimiter(OWN_READS));
    return this.own;
  }

  /** Comes back after one event-loop turn (and then only once the connection has output room). */
  private awaitTurn(): void {
    const link = this.s.link;
    this.waiting = true;
    const hole = link.defer();
    setImmediate(() => link.fill(hole, () => {
      this.waiting = false;
    }));
  }
}

/** KEYS pattern: an array of every matching key, in index-slot order. */
export const keys: CommandHandler = (s, a) => {
  let reply: KeysReply;
  try {
    reply = new KeysReply(s, Buffer.from(a.bytes(1)));
  } catch (error) {
    return s.error(`ERR KEYS cannot read the data file: ${(error as Error).message}`);
  }
  s.paced(() => reply.step(), () => reply.release());
};
