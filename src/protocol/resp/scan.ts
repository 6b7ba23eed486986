// SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]: iterating the key names of the data
// set by positions in the file's hash index. One definition of which slots a call
// visits (visitSlots) serves both the command and the disk tier's fetch before it
// (scanWants), so the records fetched are exactly those the command then looks at.

import type { DiskRecords, Want } from '../../storage/disk.ts';
import { NOT_INTEGER, parseInteger } from './arguments.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import type { ArgList } from './decoder.ts';
import { globMatch } from './glob.ts';

/** A record's key as a bulk string. */
function bulkKey(s: CommandContext, record: number): void {
  const records = s.records;
  const start = records.keyStart(record);
  s.w.bulk(records.bytes, start, start + records.keyLength(record));
}

/** Slots one SCAN call visits at most, whatever COUNT says (COUNT is a hint). */
const SCAN_MAX_SLOTS = 100_000;

/** A SCAN call's arguments, parsed as Redis does. */
interface ScanArgs {
  cursor: number;
  pattern: Buffer | null;
  count: number;
  typeMatches: boolean;
}

/** SCAN's arguments, or the error reply's text. */
function parseScan(a: ArgList): ScanArgs | string {
  const cursorText = a.text(1);
  if (!/^\d+$/.test(cursorText) || cursorText.length > 20 || Number(cursorText) > 18446744073709551615) return 'ERR invalid cursor';
  const parsed: ScanArgs = { cursor: Number(cursorText), pattern: null, count: 10, typeMatches: true };
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
 * The slots one call visits from `cursor`: it calls visit(slot, record) for each used
 * slot, about `count` of them; returns the next cursor (0: the iteration is done).
 */
function visitSlots(index: { slotCount: number; recordAtSlot(slot: number): number }, cursor: number, count: number, visit: (slot: number, record: number) => void): number {
  if (cursor >= index.slotCount) return 0;
  let seen = 0;
  const stop = Math.min(index.slotCount, cursor + Math.min(count * 10, SCAN_MAX_SLOTS));
  while (cursor < stop && seen < count) {
    const slot = cursor++;
    const record = index.recordAtSlot(slot);
    if (record < 0) continue;
    seen++;
    visit(slot, record);
  }
  return cursor >= index.slotCount ? 0 : cursor;
}

/**
 * SCAN cursor [MATCH p] [COUNT n] [TYPE t]: the cursor is an index slot, so a full
 * iteration returns every key exactly once; it visits about COUNT keys per call.
 */
export const scan: CommandHandler = (s, a) => {
  const parsed = parseScan(a);
  if (typeof parsed === 'string') return s.error(parsed);
  const { pattern, typeMatches } = parsed;
  const records = s.records;
  const found: number[] = [];
  const next = visitSlots(records, parsed.cursor, parsed.count, (_slot, record) => {
    const keyStart = records.keyStart(record);
    if (typeMatches && (pattern === null || globMatch(pattern, records.bytes, keyStart, keyStart + records.keyLength(record)))) found.push(record);
  });
  s.w.array(2);
  s.w.bulkText(String(next));
  s.w.array(found.length);
  for (const record of found) bulkKey(s, record);
};

/** The disk tier: the keys of the slots this SCAN call will visit (none when its arguments are refused). */
export function scanWants(a: ArgList, disk: DiskRecords): Want[] {
  const parsed = parseScan(a);
  const wants: Want[] = [];
  if (typeof parsed !== 'string') visitSlots(disk, parsed.cursor, parsed.count, (slot) => wants.push({ key: null, slot, value: false }));
  return wants;
}
