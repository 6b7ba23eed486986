// The RESP commands that read the data set: GET, MGET, EXISTS, STRLEN, GETRANGE, TYPE,
// TTL and friends, DBSIZE, RANDOMKEY, SCAN (scan.ts) and KEYS (keys.ts). They find records and
// read their bytes only through ctx.records; every key looked up is counted as a hit
// or a miss (Service.lookup).

import { NOT_INTEGER, parseInteger } from './arguments.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import type { ArgList } from './decoder.ts';
import { bulkKey } from './scan.ts';

/** The record of argument i, or -1. */
function recordOf(s: CommandContext, a: ArgList, i: number): number {
  return s.service.lookup(s.records, a.buf, a.starts[i], a.ends[i]);
}

export const get: CommandHandler = (s, a) => s.get(a.buf, a.starts[1], a.ends[1]);

/** MGET: an array of GET replies, produced as output room allows (a 4 GB reply to a 459 KB request waits for its reader). */
export const mget: CommandHandler = (s, a) => {
  s.w.array(a.count - 1);
  s.forEachArg(a, 1, (args, i) => s.get(args.buf, args.starts[i], args.ends[i]));
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
  const record = records.randomRecord();
  return record < 0 ? s.w.nil() : bulkKey(s, records, record);
};

export { scan } from './scan.ts';
export { keys } from './keys.ts';
