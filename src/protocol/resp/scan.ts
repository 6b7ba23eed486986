// SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]: iterating the key names of the data
// set by positions in the file's hash index. One definition of which slots a call
// visits (visitSlots) serves both the command and the disk tier's fetch before it
// (scanWants), so the records fetched are those the command then looks at (it may stop
// before the last of them, see SCAN_WORK).
//
// A cursor names a data version and a slot: tag × 2^B + slot, where slot < 2^B covers
// the index (B bits, at least 1) and the tag is 32 bits (never 0) derived from what
// decides where each key sits — the records checksum and count, the index checksum,
// its slot count and hash seed — so the same file gives the same cursors in every event
// loop and every run. 0 is the start, and the answer 0 the end, as in Redis; every other
// cursor fits in 64 bits unsigned, and below 2^53 while the index has at most 2^21 slots.
// The cursor is read as Redis reads it (strtoul: "+5", "-1", "007", "" are cursors;
// 2^64 or more is "ERR invalid cursor").
//
// A cursor of another version (the data was swapped in the middle of an iteration, or
// it is not a cursor rokv gave) restarts the iteration at the new version's start:
// Redis's guarantee — every key present for the whole iteration is returned at least
// once, and a key may be returned more than once — still holds, and clients that loop
// until 0 need nothing special.
//
// A call visits at most COUNT keys and 10 × COUNT slots (at most 100,000), as Redis's
// maxiterations; it also stops once it has done SCAN_WORK steps of work (about 2 ms:
// slots and keys visited, keys returned, MATCH's pattern matching), so a large COUNT or
// a long or costly pattern returns fewer keys and a non-zero cursor instead of holding
// the event loop: within Redis's contract, and the same keys over the whole iteration.

import type { DiskRecords, Want } from '../../storage/disk.ts';
import type { HeaderSummary } from '../../format/header.ts';
import type { Records } from '../../storage/records.ts';
import { NOT_INTEGER, parseCursor, parseInteger } from './arguments.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import type { ArgList } from './decoder.ts';
import { Glob } from './glob.ts';

/** The key of `record` in `records` as a bulk string (SCAN, KEYS, RANDOMKEY). */
export function bulkKey(s: CommandContext, records: Records, record: number): void {
  const start = records.keyStart(record);
  s.w.bulk(records.bytes, start, start + records.keyLength(record));
}

/** Slots one SCAN call visits at most, whatever COUNT says (COUNT is a hint). */
const SCAN_MAX_SLOTS = 100_000;
/**
 * The work after which a call stops, in steps of about 5 ns: a slot looked at is one,
 * a key visited KEY_STEPS, a key returned REPLY_STEPS more, and each step of MATCH's
 * pattern matching (Glob.work) one. About 2 ms a call.
 */
export const SCAN_WORK = 400_000;
const KEY_STEPS = 40;
const REPLY_STEPS = 200;

/** How a version's cursors are made: its tag and the slot bits below it. */
export interface CursorSpace {
  tag: bigint;
  slotBits: bigint;
}

/** 32 bits of FNV-1a over the fields that place every key in the index (not 0). */
export function cursorSpace(header: HeaderSummary): CursorSpace {
  let bits = 1;
  while (2 ** bits < header.slotCount) bits++;
  let h = 0x811c9dc5;
  for (const value of [header.recordsCrc, header.recordCount, header.indexCrc, header.slotCount, header.hashSeed]) {
    for (const word of [value % 2 ** 32, Math.floor(value / 2 ** 32)]) {
      for (let shift = 0; shift < 32; shift += 8) h = Math.imul(h ^ ((word >>> shift) & 0xff), 0x01000193);
    }
  }
  const tagBits = Math.min(32, 64 - bits);
  let tag = BigInt(h >>> 0) & ((1n << BigInt(tagBits)) - 1n);
  if (tag === 0n) tag = 1n;
  return { tag, slotBits: BigInt(bits) };
}

/** The slot a cursor resumes at in `space`: 0 for 0 and for a cursor of another version. */
export function cursorSlot(cursor: bigint, space: CursorSpace): number {
  if (cursor >> space.slotBits !== space.tag) return 0;
  return Number(cursor & ((1n << space.slotBits) - 1n));
}

/** The cursor to resume at `slot` (> 0) in `space`. */
export function cursorAt(slot: number, space: CursorSpace): bigint {
  return (space.tag << space.slotBits) | BigInt(slot);
}

/** The last version's cursor space, computed once per version (a header is one object per version). */
let lastHeader: HeaderSummary | null = null;
let lastSpace: CursorSpace = { tag: 1n, slotBits: 1n };

function spaceOf(header: HeaderSummary): CursorSpace {
  if (header !== lastHeader) {
    lastSpace = cursorSpace(header);
    lastHeader = header;
  }
  return lastSpace;
}

/** The version `records` are of (every tier's records carry their header). */
function headerOf(s: CommandContext, records: Records): HeaderSummary {
  return (records as { header?: HeaderSummary }).header ?? s.service.version.header;
}

/** A SCAN call's arguments, parsed as Redis does. */
interface ScanArgs {
  cursor: bigint;
  pattern: Buffer | null;
  count: number;
  typeMatches: boolean;
}

/** SCAN's arguments, or the error reply's text. */
function parseScan(a: ArgList): ScanArgs | string {
  const cursor = parseCursor(a.bytes(1));
  if (cursor === null) return 'ERR invalid cursor';
  const parsed: ScanArgs = { cursor, pattern: null, count: 10, typeMatches: true };
  for (let i = 2; i < a.count; i += 2) {
    const option = a.lower(i);
    if (i + 1 >= a.count) return 'ERR syntax error';
    if (option === 'match') {
      const pattern = a.bytes(i + 1);
      parsed.pattern = pattern.length === 1 && pattern[0] === 0x2a ? null : pattern;
    } else if (option === 'count') {
      const n = parseInteger(a.text(i + 1));
      if (n === null) return NOT_INTEGER;
      if (n < 1) return 'ERR syntax error';
      parsed.count = n;
    } else if (option === 'type') {
      parsed.typeMatches = a.lower(i + 1) === 'string';
    } else {
      return 'ERR syntax error';
    }
  }
  return parsed;
}

/**
 * The slots one call visits from slot `from`: it calls visit(slot, record) for each used
 * slot, about `count` of them, until visit returns false; returns the slot to go on
 * from (slotCount or more: the iteration is done).
 */
function visitSlots(index: { slotCount: number; recordAtSlot(slot: number): number }, from: number, count: number, visit: (slot: number, record: number) => boolean): number {
  let slot = from;
  if (slot >= index.slotCount) return slot;
  let seen = 0;
  const stop = Math.min(index.slotCount, slot + Math.min(count * 10, SCAN_MAX_SLOTS));
  while (slot < stop && seen < count) {
    const record = index.recordAtSlot(slot++);
    if (record < 0) continue;
    seen++;
    if (!visit(slot - 1, record)) break;
  }
  return slot;
}

/** SCAN cursor [MATCH p] [COUNT n] [TYPE t]: about COUNT keys from the cursor's slot, and the cursor to go on. */
export const scan: CommandHandler = (s, a) => {
  const parsed = parseScan(a);
  if (typeof parsed === 'string') return s.error(parsed);
  const { pattern, typeMatches } = parsed;
  const records = s.records;
  const space = spaceOf(headerOf(s, records));
  const found: number[] = [];
  const glob = pattern === null || !typeMatches ? null : new Glob(pattern);
  const from = cursorSlot(parsed.cursor, space);
  let work = 0;
  const next = visitSlots(records, from, parsed.count, (slot, record) => {
    work += KEY_STEPS;
    if (typeMatches) {
      const keyStart = records.keyStart(record);
      if (glob === null || glob.match(records.bytes, keyStart, keyStart + records.keyLength(record))) {
        found.push(record);
        work += REPLY_STEPS;
      }
    }
    return work + (glob === null ? 0 : glob.work) + slot - from < SCAN_WORK;
  });
  s.w.array(2);
  s.w.bulkText(next >= records.slotCount ? '0' : String(cursorAt(next, space)));
  s.w.array(found.length);
  for (const record of found) bulkKey(s, records, record);
};

/** The disk tier: the keys of the slots this SCAN call will visit (none when its arguments are refused). */
export function scanWants(a: ArgList, disk: DiskRecords): Want[] {
  const parsed = parseScan(a);
  const wants: Want[] = [];
  if (typeof parsed !== 'string') {
    visitSlots(disk, cursorSlot(parsed.cursor, spaceOf(disk.header)), parsed.count, (slot) => {
      wants.push({ key: null, slot, value: false });
      return true;
    });
  }
  return wants;
}
