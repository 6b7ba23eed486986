// SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]: iterating the key names of the data
// set by positions in the file's hash index.

import { NOT_INTEGER, parseInteger } from './arguments.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import { globMatch } from './glob.ts';

/** A record's key as a bulk string. */
function bulkKey(s: CommandContext, record: number): void {
  const records = s.records;
  const start = records.keyStart(record);
  s.w.bulk(records.bytes, start, start + records.keyLength(record));
}

/** Slots one SCAN call visits at most, whatever COUNT says (COUNT is a hint). */
const SCAN_MAX_SLOTS = 100_000;

/**
 * SCAN cursor [MATCH p] [COUNT n] [TYPE t]: the cursor is an index slot, so a full
 * iteration returns every key exactly once; it visits about COUNT keys per call.
 */
export const scan: CommandHandler = (s, a) => {
  const cursorText = a.text(1);
  if (!/^\d+$/.test(cursorText) || cursorText.length > 20 || Number(cursorText) > 18446744073709551615) {
    return s.error('ERR invalid cursor');
  }
  let cursor = Number(cursorText);
  let pattern: Buffer | null = null;
  let count = 10;
  let typeMatches = true;
  for (let i = 2; i < a.count; i += 2) {
    const option = a.lower(i);
    if (i + 1 >= a.count) return s.error('ERR syntax error');
    if (option === 'match') {
      pattern = a.bytes(i + 1);
      if (pattern.length === 1 && pattern[0] === 0x2a) pattern = null;
    } else if (option === 'count') {
      const n = parseInteger(a.text(i + 1));
      if (n === null) return s.error(NOT_INTEGER);
      if (n < 1) return s.error('ERR syntax error');
      count = n;
    } else if (option === 'type') {
      typeMatches = a.lower(i + 1) === 'string';
    } else {
      return s.error('ERR syntax error');
    }
  }
  const records = s.records;
  const found: number[] = [];
  if (cursor >= records.slotCount) cursor = 0;
  else {
    let seen = 0;
    const stop = Math.min(records.slotCount, cursor + Math.min(count * 10, SCAN_MAX_SLOTS));
    while (cursor < stop && seen < count) {
      const record = records.recordAtSlot(cursor++);
      if (record < 0) continue;
      seen++;
      const keyStart = records.keyStart(record);
      if (typeMatches && (pattern === null || globMatch(pattern, records.bytes, keyStart, keyStart + records.keyLength(record)))) found.push(record);
    }
    if (cursor >= records.slotCount) cursor = 0;
  }
  s.w.array(2);
  s.w.bulkText(String(cursor));
  s.w.array(found.length);
  for (const record of found) bulkKey(s, record);
};
