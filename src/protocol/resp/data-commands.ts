// The RESP commands that read the data set: GET, MGET, EXISTS, STRLEN, GETRANGE, TYPE,
// TTL and friends, DBSIZE, RANDOMKEY, SCAN (and KEYS, refused). They find records and
// read their bytes only through ctx.records; every key looked up is counted as a hit
// or a miss (Service.lookup).

import { NOT_INTEGER, parseInteger } from './arguments.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import type { ArgList } from './decoder.ts';
import { globMatch } from './glob.ts';

/** The record of argument i, or -1. */
function recordOf(s: CommandContext, a: ArgList, i: number): number {
  return s.service.lookup(s.records, a.buf, a.starts[i], a.ends[i]);
}

/** A record's key as a bulk string. */
function bulkKey(s: CommandContext, record: number): void {
  const records = s.records;
  const start = records.keyStart(record);
  s.w.bulk(records.bytes, start, start + records.keyLength(record));
}

export const get: CommandHandler = (s, a) => s.get(a.buf, a.starts[1], a.ends[1]);

export const mget: CommandHandler = (s, a) => {
  s.w.array(a.count - 1);
  for (let i = 1; i < a.count; i++) s.get(a.buf, a.starts[i], a.ends[i]);
};

export const exists: CommandHandler = (s, a) => {
  let n = 0;
  for (let i = 1; i < a.count; i++) if (recordOf(s, a, i) >= 0) n++;
  s.w.integer(n);
};

export const strlen: CommandHandler = (s, a) => {
  const record = recordOf(s, a, 1);
  s.w.integer(record < 0 ? 0 : s.records.valueLength(record));
};

export const getrange: CommandHandler = (s, a) => {
  let start = parseInteger(a.text(2));
  let end = parseInteger(a.text(3));
  if (start === null || end === null) return s.error(NOT_INTEGER);
  const record = recordOf(s, a, 1);
  const records = s.records;
  const length = record < 0 ? 0 : records.valueLength(record);
  if (start < 0 && end < 0 && start > end) return s.w.bulk(a.buf, 0, 0);
  if (start < 0) start = Math.max(0, length + start);
  if (end < 0) end = Math.max(0, length + end);
  if (end >= length) end = length - 1;
  if (length === 0 || start > end) return s.w.bulk(a.buf, 0, 0);
  const valueStart = records.valueStart(record);
  s.w.bulk(records.bytes, valueStart + start, valueStart + end + 1);
};

export const type: CommandHandler = (s, a) => s.w.simple(recordOf(s, a, 1) < 0 ? 'none' : 'string');
/** TTL and friends: -2 for a missing key, -1 for one that never expires (none do). */
export const ttl: CommandHandler = (s, a) => s.w.integer(recordOf(s, a, 1) < 0 ? -2 : -1);

export const dbsize: CommandHandler = (s) => s.w.integer(s.records.recordCount);

export const randomkey: CommandHandler = (s) => {
  const records = s.records;
  if (records.recordCount === 0) return s.w.nil();
  for (;;) {
    const record = records.recordAtSlot(Math.floor(Math.random() * records.slotCount));
    if (record >= 0) return bulkKey(s, record);
  }
};

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

export const keys: CommandHandler = (s) => s.error('ERR KEYS is not served by rokv: it would list every key in one reply; iterate with SCAN instead');
