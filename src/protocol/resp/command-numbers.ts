// How /metrics numbers RESP requests (service/stats.ts requestField): each command of
// the table by its place in it, then an unknown command, then a request that is no
// command (a protocol error).

import { COMMAND_SLOTS } from '../../service/stats.ts';
import { COMMANDS } from './command-table.ts';

/** Requests as /metrics labels them: each command by name, then an unknown command, then a frame that is no command. */
export const RESP_COMMAND_NAMES: readonly string[] = [...COMMANDS.keys(), 'unknown', 'invalid'];
/** A command's number in RESP_COMMAND_NAMES (stats.requestField). */
export const RESP_COMMAND_NUMBERS: ReadonlyMap<string, number> = new Map(RESP_COMMAND_NAMES.map((name, i) => [name, i]));
export const RESP_UNKNOWN = RESP_COMMAND_NAMES.length - 2;
export const RESP_INVALID = RESP_COMMAND_NAMES.length - 1;
export const RESP_GET = RESP_COMMAND_NUMBERS.get('get') as number;
if (RESP_COMMAND_NAMES.length > COMMAND_SLOTS) throw new Error(`${RESP_COMMAND_NAMES.length} RESP commands: stats.COMMAND_SLOTS must hold them`);
