// The disk tier: a data version whose index is in memory and whose records stay in
// the file, read on demand with positioned reads through libuv's thread pool, so the
// event loop never waits for the disk.
//
// Contract (what a caller may assume):
// - fetch(wants, done) finds the records a command needs. When every one of them is in
//   the page cache (asked of the kernel with mincore, through the native addon when it
//   is built), it returns the FetchedRecords view at once, copied from a mapping of the
//   file, and done() is not called. Otherwise it returns null and calls done() once,
//   later, on the event loop: with the view, or an Error when a read failed. A view
//   holds exactly the records asked for (the Records a command then runs against) and
//   is valid during that turn only. A page evicted between the question and the copy
//   costs one page fault; no read of the disk ever blocks on a page known absent.
// - readableNow(key) answers a GET without a fetch where it can: a sure miss (no slot's
//   tag matches), or — with the addon — a key whose candidate records are all in the
//   page cache, answered from the file's mapping (found through the in-memory index):
//   no object is made, no read started.
// - A miss mostly costs no read: only index slots whose 24-bit tag matches the key's
//   hash are read (a false match costs one read and is compared away).
// - A record is one read of its first FIRST_READ bytes (header, key, value) and a
//   second only when the record is longer than that.
// - Reads in flight in this thread are at most `maxReads`; more wait in FIFO order.
// - retire(onIdle): no new fetches will come but from holders (hold/release: a command
//   that paused, answering from the version it began on); onIdle runs once the reads
//   in flight are done and every holder released (the file may then be closed). The
//   descriptor belongs to the caller.

import fs from 'node:fs';
import { DataFile } from '../format/data-file.ts';
import { murmur3 } from '../format/hash.ts';
import type { HeaderSummary } from '../format/header.ts';
import { HEADER_SIZE, RECORD_HEADER_SIZE, SLOT_SIZE, TAG_MASK, decodeSlotOffset, homeSlot, recordKeyLength, recordValueLength } from '../format/layout.ts';
import { type NativeMmap, nativeStorage } from './native.ts';
import type { Records } from './records.ts';

const WORDS_PER_SLOT = SLOT_SIZE / 4;
const EMPTY = Buffer.alloc(0);
/** The first read of a record: header, key and (usually) the whole value. */
export const FIRST_READ = 4096;
/** Default bound on reads in flight per event loop. */
export const DEFAULT_MAX_READS = 64;

/** What a command needs from the disk: the record of a key, or of an index slot. */
export interface Want {
  /** A key to look up (bytes owned by the caller until done), or null for a slot. */
  key: Buffer | null;
  /** With key null: the index slot whose record is wanted. */
  slot: number;
  /** Read the value too (GET), or only header and key (EXISTS, SCAN). */
  value: boolean;
}

/** Counters a loop keeps of its disk reads (the service's row: reads, seconds, in flight). */
export interface ReadCounters {
  onStart(): void;
  onEnd(seconds: number): void;
}

/** One want being resolved: its candidates, the bytes read so far. */
class Job {
  want!: Want;
  fetch!: Fetch;
  /** Candidate record offsets still to try (tag matches), in probe order. */
  candidates: number[] = [];
  next = 0;
  /** The record being read, and its bytes so far. */
  offset = -1;
  buf: Buffer = EMPTY;
  /** buf is a FIRST_READ buffer of the limiter's pool (given back after the command ran). */
  pooled = false;
  got = 0;
  started = 0;
  /** Found: the record's bytes are buf[0, length). */
  found = false;
  length = 0;
  readonly onRead = (error: NodeJS.ErrnoException | null, n: number) => this.fetch.store.readDone(this, error, n);
}

/** One fetch(): the jobs of one command and its callback. */
class Fetch {
  store!: DiskRecords;
  jobs: Job[] = [];
  left = 0;
  error: Error | null = null;
  done!: (view: FetchedRecords | Error) => void;
}

/**
 * The disk tier's version: Records only by its counts (recordCount, slotCount); a
 * command reads records through the FetchedRecords its session fetched, and any other
 * read through here is a bug, refused loudly rather than answered wrongly.
 */
export class DiskRecords implements Records {
  readonly bytes = EMPTY;
  readonly header: HeaderSummary;
  readonly recordCount: number;
  readonly slotCount: number;
  readonly source: string;
  readonly fd: number;
  private readonly slots: Uint32Array;
  private readonly recordsEnd: number;
  private readonly limiter: ReadLimiter;
  /** The file mapped (never written, only read where mincore says the pages are cached), or null without the addon. */
  private readonly cache: { native: NativeMmap; mapping: ArrayBuffer; bytes: Buffer; records: DataFile } | null;
  /** readableNow's candidate offsets, reused (no allocation per GET). */
  private readonly candidates: number[] = [];
  /** A view holding no record: what a command runs against when its keys need no read (every one a sure miss). */
  readonly none: FetchedRecords;
  /** Reads of this version not yet done (for retire). */
  private reading = 0;
  /** Commands that paused and will fetch from this version again (hold/release): retire waits for them too. */
  private holders = 0;
  private onIdle: (() => void) | null = null;

  constructor(fd: number, header: HeaderSummary, index: Buffer, source: string, limiter: ReadLimiter) {
    this.fd = fd;
    this.header = header;
    this.recordCount = header.recordCount;
    this.slotCount = header.slotCount;
    this.source = source;
    this.slots = new Uint32Array(index.buffer, index.byteOffset, header.slotCount * WORDS_PER_SLOT);
    this.recordsEnd = HEADER_SIZE + header.recordsLength;
    this.limiter = limiter;
    this.none = new FetchedRecords(this, []);
    // ROKV_DISK_NO_CACHE=1 (tests): every record is read through the thread pool, as without the addon.
    const native = process.env.ROKV_DISK_NO_CACHE === '1' ? null : nativeStorage();
    if (native === null) {
      this.cache = null;
    } else {
      const mapping = native.map(fd, header.fileSize);
      native.advise(mapping, 'random');
      const bytes = Buffer.from(mapping);
      this.cache = { native, mapping, bytes, records: DataFile.overIndex(bytes, this.slots, source) };
    }
  }

  /** Bytes of the file in the page cache now (mincore), or -1 without the addon. */
  residentBytes(): number {
    return this.cache === null ? -1 : this.cache.native.residentBytes(this.cache.mapping);
  }

  /** Offset of the record in index slot `slot`, or -1 (from the index: no read). */
  recordAtSlot(slot: number): number {
    const low = this.slots[slot * WORDS_PER_SLOT];
    const high = this.slots[slot * WORDS_PER_SLOT + 1];
    return (low | high) === 0 ? -1 : decodeSlotOffset(low, high);
  }

  find(): number {
    return notFetched();
  }

  randomRecord(): number {
    return notFetched();
  }

  /** A used index slot drawn at random, or -1 (RANDOMKEY's fetch: from the index, no read). */
  randomSlot(): number {
    if (this.recordCount === 0) return -1;
    for (;;) {
      const slot = Math.floor(Math.random() * this.slotCount);
      if (this.recordAtSlot(slot) >= 0) return slot;
    }
  }

  keyStart(): number {
    return notFetched();
  }

  keyLength(): number {
    return notFetched();
  }

  valueStart(): number {
    return notFetched();
  }

  valueLength(): number {
    return notFetched();
  }

  /**
   * Records a GET of key[start, end) can be answered from now, or null when it must be
   * fetched: `none` when no slot's tag matches (a sure miss); with the addon, the file's
   * mapping when every record whose tag matches is in the page cache (mincore), with
   * all of the value of the one that holds the key. A page evicted between this and the
   * answer costs one page fault.
   */
  readableNow(key: Uint8Array, start: number, end: number): Records | null {
    const candidates = this.candidates;
    candidates.length = 0;
    this.probe(key, start, end, candidates);
    if (candidates.length === 0) return this.none;
    const cache = this.cache;
    if (cache === null) return null;
    for (let i = 0; i < candidates.length; i++) {
      const length = this.cachedRecord(candidates[i], key, start, end, true);
      if (length < 0) return null;
      if (length > 0) return cache.records;
    }
    return this.none;
  }

  /** Reads what `wants` name; calls done once, later, on the event loop. */
  fetch(wants: Want[], done: (view: FetchedRecords | Error) => void): FetchedRecords | null {
    const fetch = new Fetch();
    fetch.store = this;
    fetch.done = done;
    fetch.left = wants.length;
    for (const want of wants) {
      const job = new Job();
      job.want = want;
      job.fetch = fetch;
      fetch.jobs.push(job);
      if (want.key === null) {
        const offset = this.recordAtSlot(want.slot);
        if (offset >= 0) job.candidates.push(offset);
      } else {
        this.probe(want.key, 0, want.key.length, job.candidates);
      }
    }
    let cached = 0;
    for (const job of fetch.jobs) if (this.fromCache(job)) cached++;
    if (cached === fetch.jobs.length) return new FetchedRecords(this, fetch.jobs);
    fetch.left -= cached;
    for (const job of fetch.jobs) if (!job.found && job.next < job.candidates.length) this.tryNext(job);
    return null;
  }

  /**
   * Settles `job` from the page cache if every page its candidates need is there:
   * true when settled (found, or a miss); false, at the first candidate not cached.
   */
  private fromCache(job: Job): boolean {
    const cache = this.cache;
    if (cache === null) return job.candidates.length === 0;
    const key = job.want.key;
    while (job.next < job.candidates.length) {
      const offset = job.candidates[job.next];
      const length = this.cachedRecord(offset, key, 0, key?.length ?? 0, job.want.value);
      if (length < 0) return false;
      job.next++;
      if (length > 0) {
        job.buf = cache.bytes.subarray(offset, offset + length);
        job.found = true;
        job.length = length;
        return true;
      }
    }
    return true;
  }

  /**
   * The record at `offset`, judged from the page cache (the addon must be there): its
   * length — header, key and, `withValue`, value — when it holds key[start, end) (any
   * key when `key` is null) and those bytes are all cached; 0 when it holds another key;
   * -1 when a page it needs is not cached. No byte is read before mincore said its page
   * is cached (a key longer than the first pages included).
   */
  private cachedRecord(offset: number, key: Uint8Array | null, start: number, end: number, withValue: boolean): number {
    const { native, mapping, bytes } = this.cache as NonNullable<DiskRecords['cache']>;
    const first = Math.min(FIRST_READ, this.recordsEnd - offset);
    if (native.residentBytes(mapping, offset, first) !== first) return -1;
    const keyLength = recordKeyLength(bytes, offset);
    if (key !== null && keyLength !== end - start) return 0;
    const keyEnd = RECORD_HEADER_SIZE + keyLength;
    if (keyEnd > first && native.residentBytes(mapping, offset, keyEnd) !== keyEnd) return -1;
    if (key !== null && bytes.compare(key, start, end, offset + RECORD_HEADER_SIZE, offset + keyEnd) !== 0) return 0;
    const need = keyEnd + (withValue ? recordValueLength(bytes, offset) : 0);
    return need <= first || native.residentBytes(mapping, offset, need) === need ? need : -1;
  }

  /** No more fetches but its holders'; `onIdle` runs when the reads in flight are done and every holder released. */
  retire(onIdle: () => void): void {
    this.onIdle = onIdle;
    if (this.reading === 0 && this.holders === 0) this.idle();
  }

  /** A command that paused will fetch from this version again, after a swap too: its file stays open until release(). */
  hold(): void {
    this.holders++;
  }

  release(): void {
    this.holders--;
    if (this.onIdle !== null && this.reading === 0 && this.holders === 0) this.idle();
  }

  get readsInFlight(): number {
    return this.reading;
  }

  /** Pushes to `out` the offsets of the records whose index slots' tags match the key's, in probe order. */
  private probe(key: Uint8Array, start: number, end: number, out: number[]): void {
    const hash = murmur3(key, start, end, this.header.hashSeed);
    const tag = hash & TAG_MASK;
    const slots = this.slots;
    let pos = homeSlot(hash, this.slotCount);
    for (let distance = 0; distance <= this.header.maxDisplacement; distance++) {
      const low = slots[pos * WORDS_PER_SLOT];
      const high = slots[pos * WORDS_PER_SLOT + 1];
      if ((low | high) === 0) break;
      if (high >>> 8 === tag) out.push(decodeSlotOffset(low, high));
      if (++pos === this.slotCount) pos = 0;
    }
  }

  /** Starts reading the job's next candidate, or settles it as a miss. */
  private tryNext(job: Job): void {
    if (job.next >= job.candidates.length) {
      job.fetch.left--;
      if (job.fetch.left === 0) setImmediate(() => this.finish(job.fetch));
      return;
    }
    job.offset = job.candidates[job.next++];
    job.got = 0;
    if (!job.pooled) job.buf = EMPTY; // a FIRST_READ buffer is taken when the read starts
    this.read(job, Math.min(FIRST_READ, this.recordsEnd - job.offset));
  }

  /** Reads `length` more bytes of the job's record into job.buf at job.got, when the limiter lets it start. */
  private read(job: Job, length: number): void {
    this.reading++;
    this.limiter.start(() => {
      if (job.buf.length === 0) {
        job.buf = this.limiter.take();
        job.pooled = true;
      }
      job.started = performance.now();
      fs.read(this.fd, job.buf, job.got, length, job.offset + job.got, job.onRead);
    });
  }

  /** A read of `job` finished (n bytes, or an error). */
  readDone(job: Job, error: NodeJS.ErrnoException | null, n: number): void {
    this.reading--;
    this.limiter.end((performance.now() - job.started) / 1000);
    const fetch = job.fetch;
    if (error !== null || n === 0) {
      fetch.error ??= new Error(`disk read of ${this.source} at offset ${job.offset} failed: ${error?.code ?? 'file shrank'}`);
      this.settle(job);
      return;
    }
    job.got += n;
    const buf = job.buf;
    if (job.got < RECORD_HEADER_SIZE) return this.read(job, RECORD_HEADER_SIZE - job.got);
    const keyLength = recordKeyLength(buf, 0);
    const valueLength = recordValueLength(buf, 0);
    const need = RECORD_HEADER_SIZE + keyLength + (job.want.value ? valueLength : 0);
    if (job.got < need) {
      if (buf.length < need) {
        const bigger = Buffer.allocUnsafeSlow(need);
        buf.copy(bigger, 0, 0, job.got);
        if (job.pooled) this.limiter.give(buf);
        job.pooled = false;
        job.buf = bigger;
      }
      return this.read(job, need - job.got);
    }
    const key = job.want.key;
    if (key !== null && (keyLength !== key.length || job.buf.compare(key, 0, key.length, RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + keyLength) !== 0)) {
      return this.tryNext(job); // a tag that matched another key
    }
    job.found = true;
    job.length = need;
    this.settle(job);
  }

  private settle(job: Job): void {
    job.fetch.left--;
    if (job.fetch.left === 0) this.finish(job.fetch);
  }

  /** Every job of the fetch is settled: build the view, call back, give the buffers back. */
  private finish(fetch: Fetch): void {
    try {
      if (fetch.error !== null) fetch.done(fetch.error);
      else fetch.done(new FetchedRecords(this, fetch.jobs));
    } finally {
      for (const job of fetch.jobs) if (job.pooled) this.limiter.give(job.buf);
      if (this.onIdle !== null && this.reading === 0 && this.holders === 0) this.idle();
    }
  }

  private idle(): void {
    const onIdle = this.onIdle;
    this.onIdle = null;
    onIdle?.();
  }
}

/**
 * One event loop's bound on reads in flight (over every version it serves) and its
 * pool of FIRST_READ buffers: a buffer is taken per read and given back after the
 * command ran, so steady traffic allocates nothing.
 */
export class ReadLimiter {
  readonly maxReads: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private waitingHead = 0;
  private readonly pool: Buffer[] = [];
  private readonly counters: ReadCounters | null;

  constructor(maxReads = DEFAULT_MAX_READS, counters: ReadCounters | null = null) {
    this.maxReads = maxReads;
    this.counters = counters;
  }

  get reads(): number {
    return this.inFlight;
  }

  take(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(FIRST_READ);
  }

  give(buf: Buffer): void {
    if (this.pool.length < this.maxReads * 4) this.pool.push(buf);
  }

  start(read: () => void): void {
    if (this.inFlight < this.maxReads) {
      this.inFlight++;
      this.counters?.onStart();
      read();
      return;
    }
    this.waiting.push(read);
  }

  end(seconds: number): void {
    this.inFlight--;
    this.counters?.onEnd(seconds);
    if (this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead];
      this.waiting[this.waitingHead++] = noop;
      if (this.waitingHead === this.waiting.length) this.waiting.length = this.waitingHead = 0;
      this.inFlight++;
      this.counters?.onStart();
      next();
    }
  }
}

function noop(): void {}

function notFetched(): never {
  throw new Error('the disk tier reads records only through a fetch (a command that reads keys must say so in its spec)');
}

/**
 * The records one command asked for, fetched: a Records whose `bytes` holds just
 * them, laid out as in the file (so every accessor is the file's), and whose find()
 * and recordAtSlot() answer for the keys and slots that were wanted. A key that was
 * not wanted is a miss here; a wanted one that is absent from the file too.
 */
export class FetchedRecords implements Records {
  readonly bytes: Buffer;
  readonly recordCount: number;
  readonly slotCount: number;
  /** The version fetched from (SCAN's cursors name it). */
  readonly header: HeaderSummary;
  private readonly handles: number[] = [];
  private readonly wants: Want[] = [];

  constructor(store: DiskRecords, jobs: Job[]) {
    this.header = store.header;
    this.recordCount = store.recordCount;
    this.slotCount = store.slotCount;
    let total = 0;
    let single: Job | null = null;
    for (const job of jobs) {
      if (!job.found) continue;
      total += job.length;
      single = single === null ? job : null;
    }
    // One record (a GET): its read buffer is the view, nothing copied.
    const bytes = total === 0 ? EMPTY : single !== null && single.length === total ? single.buf : Buffer.allocUnsafe(total);
    let at = 0;
    for (const job of jobs) {
      this.wants.push(job.want);
      if (!job.found) {
        this.handles.push(-1);
        continue;
      }
      if (bytes !== job.buf) job.buf.copy(bytes, at, 0, job.length);
      this.handles.push(at);
      at += job.length;
    }
    this.bytes = bytes;
  }

  find(key: Uint8Array, start: number, end: number): number {
    const length = end - start;
    for (let i = 0; i < this.wants.length; i++) {
      const wanted = this.wants[i].key;
      if (wanted === null || wanted.length !== length) continue;
      let j = 0;
      while (j < length && wanted[j] === key[start + j]) j++;
      if (j === length) return this.handles[i];
    }
    return -1;
  }

  recordAtSlot(slot: number): number {
    for (let i = 0; i < this.wants.length; i++) if (this.wants[i].key === null && this.wants[i].slot === slot) return this.handles[i];
    return -1;
  }

  /** The record of the first slot fetched (RANDOMKEY fetched one, drawn at random). */
  randomRecord(): number {
    for (let i = 0; i < this.wants.length; i++) if (this.wants[i].key === null) return this.handles[i];
    return -1;
  }

  keyLength(record: number): number {
    return recordKeyLength(this.bytes, record);
  }

  keyStart(record: number): number {
    return record + RECORD_HEADER_SIZE;
  }

  valueLength(record: number): number {
    return recordValueLength(this.bytes, record);
  }

  valueStart(record: number): number {
    return record + RECORD_HEADER_SIZE + this.keyLength(record);
  }
}

