// The RESP front's command table: every command it knows, with what COMMAND and
// COMMAND DOCS report (arity, flags, key positions, group), and the handler that
// answers it. Write commands have no handler: the session refuses them with
// -READONLY after the arity check, as a Redis replica does.

import { RECORD_HEADER_SIZE } from '../../format/layout.ts';
import { COMMAND_SLOTS } from '../../service/stats.ts';
import type { ArgList } from './decoder.ts';
import { globMatch } from './glob.ts';
import { REDIS_COMPATIBLE_VERSION, clientInfoLine, commandDocs, commandInfo, configGet, infoText } from './introspection.ts';
import { clusterInfo, clusterKeyslot, clusterMyid, clusterNodes, clusterShards, clusterSlots, readMode } from './cluster-commands.ts';
import type { RespSession } from './session.ts';

export interface CommandSpec {
  /** Lower case; a subcommand is "container|sub". */
  name: string;
  /** Argument count with the name: N exactly, or -N for at least N. */
  arity: number;
  flags: string[];
  firstKey: number;
  lastKey: number;
  step: number;
  group: string;
  summary: string;
  since: string;
  /** Absent for write commands. */
  run?: (s: RespSession, a: ArgList) => void;
  subcommands?: Map<string, CommandSpec>;
}

type Run = (s: RespSession, a: ArgList) => void;

function spec(name: string, arity: number, flags: string[], keys: [number, number, number], group: string, summary: string, run?: Run, since = '1.0.0'): CommandSpec {
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], step: keys[2], group, summary, since, run };
}

const NO_KEYS: [number, number, number] = [0, 0, 0];
const ONE_KEY: [number, number, number] = [1, 1, 1];
const ALL_KEYS: [number, number, number] = [1, -1, 1];
const READ = ['readonly', 'fast'];
const CONN = ['noscript', 'loading', 'stale', 'fast'];

// --- parsing arguments as Redis does ---------------------------------------

const NOT_INTEGER = 'ERR value is not an integer or out of range';
const INT64_MAX = '9223372036854775807';

/** A signed 64-bit decimal as Redis's string2ll accepts it (no '+', no leading zeros), or null. */
export function parseInteger(text: string): number | null {
  const match = /^(-?)(0|[1-9]\d*)$/.exec(text);
  if (!match) return null;
  const digits = match[2];
  if (digits.length > 19 || (digits.length === 19 && digits > (match[1] ? '9223372036854775808' : INT64_MAX))) return null;
  return Number(text);
}

/** A name without spaces, newlines or special characters (CLIENT SETNAME, SETINFO). */
function plainName(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// --- reads of the data set --------------------------------------------------

/** Offset of the record of argument i, or -1. */
function recordOf(s: RespSession, a: ArgList, i: number): number {
  return s.service.lookup(a.buf, a.starts[i], a.ends[i]);
}

const mget: Run = (s, a) => {
  s.w.array(a.count - 1);
  for (let i = 1; i < a.count; i++) s.get(a.buf, a.starts[i], a.ends[i]);
};

const exists: Run = (s, a) => {
  let n = 0;
  for (let i = 1; i < a.count; i++) if (recordOf(s, a, i) >= 0) n++;
  s.w.integer(n);
};

const strlen: Run = (s, a) => {
  const record = recordOf(s, a, 1);
  s.w.integer(record < 0 ? 0 : s.service.data.valueLength(record));
};

const getrange: Run = (s, a) => {
  let start = parseInteger(a.text(2));
  let end = parseInteger(a.text(3));
  if (start === null || end === null) return s.error(NOT_INTEGER);
  const record = recordOf(s, a, 1);
  const data = s.service.data;
  const length = record < 0 ? 0 : data.valueLength(record);
  if (start < 0 && end < 0 && start > end) return s.w.bulk(a.buf, 0, 0);
  if (start < 0) start = Math.max(0, length + start);
  if (end < 0) end = Math.max(0, length + end);
  if (end >= length) end = length - 1;
  if (length === 0 || start > end) return s.w.bulk(a.buf, 0, 0);
  const valueStart = record + RECORD_HEADER_SIZE + data.keyLength(record);
  s.w.bulk(data.bytes, valueStart + start, valueStart + end + 1);
};

const type: Run = (s, a) => s.w.simple(recordOf(s, a, 1) < 0 ? 'none' : 'string');
/** TTL and friends: -2 for a missing key, -1 for one that never expires (none do). */
const ttl: Run = (s, a) => s.w.integer(recordOf(s, a, 1) < 0 ? -2 : -1);

const randomkey: Run = (s) => {
  const data = s.service.data;
  if (data.recordCount === 0) return s.w.nil();
  for (;;) {
    const record = data.recordAtSlot(Math.floor(Math.random() * data.slotCount));
    if (record >= 0) return s.w.bulk(data.bytes, data.keyStart(record), data.keyStart(record) + data.keyLength(record));
  }
};

/** Slots one SCAN call visits at most, whatever COUNT says (COUNT is a hint). */
const SCAN_MAX_SLOTS = 100_000;

/**
 * SCAN cursor [MATCH p] [COUNT n] [TYPE t]: the cursor is an index slot, so a full
 * iteration returns every key exactly once; it visits about COUNT keys per call.
 */
const scan: Run = (s, a) => {
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
  const data = s.service.data;
  const found: number[] = [];
  if (cursor >= data.slotCount) cursor = 0;
  else {
    let seen = 0;
    const stop = Math.min(data.slotCount, cursor + Math.min(count * 10, SCAN_MAX_SLOTS));
    while (cursor < stop && seen < count) {
      const record = data.recordAtSlot(cursor++);
      if (record < 0) continue;
      seen++;
      const keyStart = data.keyStart(record);
      if (typeMatches && (pattern === null || globMatch(pattern, data.bytes, keyStart, keyStart + data.keyLength(record)))) found.push(record);
    }
    if (cursor >= data.slotCount) cursor = 0;
  }
  s.w.array(2);
  s.w.bulkText(String(cursor));
  s.w.array(found.length);
  for (const record of found) s.w.bulk(data.bytes, data.keyStart(record), data.keyStart(record) + data.keyLength(record));
};

const keys: Run = (s) => s.error('ERR KEYS is not served by rokv: it would list every key in one reply; iterate with SCAN instead');

// --- connection and server --------------------------------------------------

const ping: Run = (s, a) => {
  if (a.count > 2) return s.error("ERR wrong number of arguments for 'ping' command");
  if (a.count === 1) s.w.simple('PONG');
  else s.w.bulk(a.buf, a.starts[1], a.ends[1]);
};

const AUTH_MISCONFIGURED = 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?';
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

/** rokv has no users but Redis's passwordless `default`: any password works for it. */
const auth: Run = (s, a) => {
  if (a.count === 2) return s.error(AUTH_MISCONFIGURED);
  if (a.count > 3) return s.error('ERR syntax error');
  if (a.text(1) !== 'default') return s.error(WRONGPASS);
  s.w.simple('OK');
};

/** HELLO [protover [AUTH user pass] [SETNAME name]]: switches RESP2/RESP3 and describes the server. */
const hello: Run = (s, a) => {
  let proto = s.w.proto;
  let i = 1;
  if (a.count > 1) {
    const version = parseInteger(a.text(1));
    if (version === null) return s.error('ERR Protocol version is not an integer or out of range');
    if (version < 2 || version > 3) return s.error('NOPROTO unsupported protocol version');
    proto = version;
    i = 2;
  }
  let name: string | null = null;
  for (; i < a.count; i++) {
    const option = a.lower(i);
    const more = a.count - i - 1;
    if (option === 'auth' && more >= 2) {
      if (a.text(i + 1) !== 'default') return s.error(WRONGPASS);
      i += 2;
    } else if (option === 'setname' && more >= 1) {
      name = a.text(i + 1);
      if (!plainName(name)) return s.error('ERR Client names cannot contain spaces, newlines or special characters.');
      i += 1;
    } else {
      return s.error(`ERR Syntax error in HELLO option '${a.text(i)}'`);
    }
  }
  if (name !== null) s.name = name;
  s.w.proto = proto;
  const w = s.w;
  w.map(7);
  w.bulkText('server');
  w.bulkText('rokv');
  w.bulkText('version');
  w.bulkText(REDIS_COMPATIBLE_VERSION);
  w.bulkText('proto');
  w.integer(proto);
  w.bulkText('id');
  w.integer(s.link.id);
  w.bulkText('mode');
  w.bulkText(s.service.router === null ? 'standalone' : 'cluster');
  w.bulkText('role');
  w.bulkText('master');
  w.bulkText('modules');
  w.array(0);
};

const select: Run = (s, a) => {
  const db = parseInteger(a.text(1));
  if (db === null) return s.error(NOT_INTEGER);
  if (db !== 0) return s.error('ERR DB index is out of range');
  s.w.simple('OK');
};

const ok: Run = (s) => s.w.simple('OK');

const quit: Run = (s) => {
  s.w.simple('OK');
  s.link.closeAfterReply();
};

const time: Run = (s) => {
  const micros = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  s.w.array(2);
  s.w.bulkText(String(micros / 1_000_000n));
  s.w.bulkText(String(micros % 1_000_000n));
};

function helpReply(lines: string[]): Run {
  return (s) => {
    s.w.array(lines.length);
    for (const line of lines) s.w.simple(line);
  };
}

const clientSetname: Run = (s, a) => {
  const name = a.text(2);
  if (!plainName(name)) return s.error('ERR Client names cannot contain spaces, newlines or special characters.');
  s.name = name;
  s.w.simple('OK');
};

const clientSetinfo: Run = (s, a) => {
  const attribute = a.lower(2);
  const value = a.text(3);
  if (attribute !== 'lib-name' && attribute !== 'lib-ver') return s.error(`ERR Unrecognized option '${a.text(2)}'`);
  if (!plainName(value) && value !== '') return s.error(`ERR ${attribute} cannot contain spaces, newlines or special characters.`);
  if (attribute === 'lib-name') s.libName = value;
  else s.libVersion = value;
  s.w.simple('OK');
};

const onOff: Run = (s, a) => {
  const value = a.lower(2);
  if (value !== 'on' && value !== 'off') return s.error('ERR syntax error');
  s.w.simple('OK');
};

const configRefused: Run = (s, a) => s.error(`ERR CONFIG ${a.text(1).toUpperCase()} is not supported: rokv is configured by its command-line flags`);

// --- the table ---------------------------------------------------------------

function container(parent: CommandSpec, subs: CommandSpec[]): CommandSpec {
  parent.subcommands = new Map(subs.map((sub) => [sub.name, sub]));
  return parent;
}

const served: CommandSpec[] = [
  spec('get', 2, READ, ONE_KEY, 'string', 'Returns the string value of a key.', (s, a) => s.get(a.buf, a.starts[1], a.ends[1])),
  spec('mget', -2, READ, ALL_KEYS, 'string', 'Atomically returns the string values of one or more keys.', mget),
  spec('exists', -2, READ, ALL_KEYS, 'generic', 'Determines whether one or more keys exist.', exists),
  spec('touch', -2, READ, ALL_KEYS, 'generic', 'Returns the number of existing keys out of those specified (nothing to touch: no eviction).', exists, '3.2.1'),
  spec('strlen', 2, READ, ONE_KEY, 'string', 'Returns the length of a string value.', strlen, '2.2.0'),
  spec('getrange', 4, ['readonly'], ONE_KEY, 'string', 'Returns a substring of the string stored at a key.', getrange, '2.4.0'),
  spec('substr', 4, ['readonly'], ONE_KEY, 'string', 'Returns a substring from a string value.', getrange),
  spec('type', 2, READ, ONE_KEY, 'generic', 'Determines the type of value stored at a key.', type),
  spec('ttl', 2, READ, ONE_KEY, 'generic', 'Returns the expiration time in seconds of a key (-1: none, -2: no key).', ttl),
  spec('pttl', 2, READ, ONE_KEY, 'generic', 'Returns the expiration time in milliseconds of a key.', ttl, '2.6.0'),
  spec('expiretime', 2, READ, ONE_KEY, 'generic', 'Returns the expiration time of a key as a Unix timestamp.', ttl, '7.0.0'),
  spec('pexpiretime', 2, READ, ONE_KEY, 'generic', 'Returns the expiration time of a key as a Unix milliseconds timestamp.', ttl, '7.0.0'),
  spec('dbsize', 1, READ, NO_KEYS, 'server', 'Returns the number of keys in the database.', (s) => s.w.integer(s.service.data.recordCount)),
  spec('randomkey', 1, ['readonly'], NO_KEYS, 'generic', 'Returns a random key name from the database.', randomkey),
  spec('scan', -2, ['readonly'], NO_KEYS, 'generic', 'Iterates over the key names in the database.', scan, '2.8.0'),
  spec('keys', 2, ['readonly'], NO_KEYS, 'generic', 'Refused by rokv: iterate with SCAN.', keys),

  spec('hello', -1, CONN, NO_KEYS, 'connection', 'Handshakes with the server (RESP2 or RESP3).', hello, '6.0.0'),
  spec('auth', -2, CONN, NO_KEYS, 'connection', 'Authenticates the connection (only the passwordless default user exists).', auth),
  spec('ping', -1, ['fast'], NO_KEYS, 'connection', 'Returns the server\'s liveliness response.', ping),
  spec('echo', 2, ['fast'], NO_KEYS, 'connection', 'Returns the given string.', (s, a) => s.w.bulk(a.buf, a.starts[1], a.ends[1])),
  spec('select', 2, CONN, NO_KEYS, 'connection', 'Changes the selected database (only 0 exists).', select),
  spec('quit', -1, CONN, NO_KEYS, 'connection', 'Closes the connection.', quit),
  spec('reset', 1, CONN, NO_KEYS, 'connection', 'Resets the connection.', (s) => s.reset(), '6.2.0'),
  spec('readonly', 1, CONN, NO_KEYS, 'cluster', 'Enables read-only queries for a connection to a replica.', readMode(true), '3.0.0'),
  spec('readwrite', 1, CONN, NO_KEYS, 'cluster', 'Enables read-write queries for a connection to a replica.', readMode(false), '3.0.0'),
  spec('multi', 1, CONN, NO_KEYS, 'transactions', 'Starts a transaction.', (s) => s.multi(), '1.2.0'),
  spec('exec', 1, ['noscript', 'loading', 'stale'], NO_KEYS, 'transactions', 'Executes all commands in a transaction.', (s) => s.exec(), '1.2.0'),
  spec('discard', 1, CONN, NO_KEYS, 'transactions', 'Discards a transaction.', (s) => s.discard(), '2.0.0'),
  spec('watch', -2, CONN, ALL_KEYS, 'transactions', 'Monitors changes to keys (none ever change).', (s) => (s.inMulti ? s.error('ERR WATCH inside MULTI is not allowed') : s.w.simple('OK')), '2.2.0'),
  spec('unwatch', 1, CONN, NO_KEYS, 'transactions', 'Forgets about watched keys.', ok, '2.2.0'),
  spec('info', -1, ['loading', 'stale'], NO_KEYS, 'server', 'Returns information and statistics about the server.', (s, a) => s.w.verbatim(infoText(s, a))),
  spec('time', 1, ['loading', 'stale', 'fast'], NO_KEYS, 'server', 'Returns the server time.', time, '2.6.0'),
  container(spec('client', -2, [], NO_KEYS, 'connection', 'A container for client connection commands.', undefined, '2.4.0'), [
    spec('client|setname', 3, CONN, NO_KEYS, 'connection', 'Sets the connection name.', clientSetname, '2.6.9'),
    spec('client|getname', 2, CONN, NO_KEYS, 'connection', 'Returns the name of the connection.', (s) => (s.name ? s.w.bulkText(s.name) : s.w.nil()), '2.6.9'),
    spec('client|setinfo', 4, CONN, NO_KEYS, 'connection', 'Sets information specific to the client or connection.', clientSetinfo, '7.2.0'),
    spec('client|id', 2, CONN, NO_KEYS, 'connection', 'Returns the unique client ID of the connection.', (s) => s.w.integer(s.link.id), '5.0.0'),
    spec('client|info', 2, CONN, NO_KEYS, 'connection', 'Returns information about the connection.', (s) => s.w.verbatim(clientInfoLine(s)), '6.2.0'),
    spec('client|no-evict', 3, CONN, NO_KEYS, 'connection', 'Sets the client eviction mode of the connection (no eviction here).', onOff, '7.0.0'),
    spec('client|no-touch', 3, CONN, NO_KEYS, 'connection', 'Controls whether commands sent by the client affect the LRU/LFU of accessed keys.', onOff, '7.2.0'),
    spec('client|help', 2, CONN, NO_KEYS, 'connection', 'Returns helpful text about the different subcommands.', helpReply([
      'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
      'GETNAME', 'ID', 'INFO', 'NO-EVICT (ON|OFF)', 'NO-TOUCH (ON|OFF)', 'SETINFO <LIB-NAME|LIB-VER> <value>', 'SETNAME <name>', 'HELP',
    ]), '5.0.0'),
  ]),
  container(spec('command', -1, ['loading', 'stale'], NO_KEYS, 'server', 'Returns detailed information about all commands.', (s) => commandInfo(s, null), '2.8.13'), [
    spec('command|count', 2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns a count of commands.', (s) => s.w.integer(COMMANDS.size), '2.8.13'),
    spec('command|docs', -2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns documentary information about one, multiple or all commands.', commandDocs, '7.0.0'),
    spec('command|info', -2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns information about one, multiple or all commands.', (s, a) => commandInfo(s, a), '2.8.13'),
    spec('command|list', -2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns a list of command names.', (s) => {
      s.w.array(COMMANDS.size);
      for (const name of COMMANDS.keys()) s.w.bulkText(name);
    }, '7.0.0'),
    spec('command|help', 2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns helpful text about the different subcommands.', helpReply([
      'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
      '(no subcommand)', 'COUNT', 'DOCS [<command-name> ...]', 'INFO [<command-name> ...]', 'LIST', 'HELP',
    ]), '5.0.0'),
  ]),
  container(spec('cluster', -2, [], NO_KEYS, 'cluster', 'A container for Redis Cluster commands.', undefined, '3.0.0'), [
    spec('cluster|slots', 2, ['loading', 'stale'], NO_KEYS, 'cluster', 'Returns the mapping of cluster slots to nodes.', clusterSlots, '3.0.0'),
    spec('cluster|shards', 2, ['loading', 'stale'], NO_KEYS, 'cluster', 'Returns the mapping of cluster slots to shards.', clusterShards, '7.0.0'),
    spec('cluster|nodes', 2, ['loading', 'stale'], NO_KEYS, 'cluster', 'Returns the cluster configuration for a node.', clusterNodes, '3.0.0'),
    spec('cluster|info', 2, ['loading', 'stale'], NO_KEYS, 'cluster', 'Returns information about the state of a node.', clusterInfo, '3.0.0'),
    spec('cluster|keyslot', 3, ['loading', 'stale'], NO_KEYS, 'cluster', 'Returns the hash slot for a key.', clusterKeyslot, '3.0.0'),
    spec('cluster|myid', 2, ['loading', 'stale'], NO_KEYS, 'cluster', 'Returns the ID of a node.', clusterMyid, '3.0.0'),
    spec('cluster|help', 2, ['loading', 'stale'], NO_KEYS, 'cluster', 'Returns helpful text about the different subcommands.', helpReply([
      'CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
      'INFO', 'KEYSLOT <key>', 'MYID', 'NODES', 'SHARDS', 'SLOTS', 'HELP',
    ]), '5.0.0'),
  ]),
  container(spec('config', -2, [], NO_KEYS, 'server', 'A container for server configuration commands.', undefined, '2.0.0'), [
    spec('config|get', -3, ['loading', 'stale'], NO_KEYS, 'server', 'Returns the effective values of configuration parameters.', configGet, '2.0.0'),
    spec('config|set', -4, ['loading', 'stale'], NO_KEYS, 'server', 'Refused: rokv is configured by its flags.', configRefused, '2.0.0'),
    spec('config|resetstat', 2, ['loading', 'stale'], NO_KEYS, 'server', 'Refused: counters run from start.', configRefused, '2.0.0'),
    spec('config|rewrite', 2, ['loading', 'stale'], NO_KEYS, 'server', 'Refused: there is no configuration file.', configRefused, '2.8.0'),
    spec('config|help', 2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns helpful text about the different subcommands.', helpReply([
      'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'GET <pattern>', 'HELP',
    ]), '5.0.0'),
  ]),
];

/** Write commands: [name, arity, first key, last key, step, group]. */
const WRITES: [string, number, number, number, number, string][] = [
  ['set', -3, 1, 1, 1, 'string'], ['setnx', 3, 1, 1, 1, 'string'], ['setex', 4, 1, 1, 1, 'string'],
  ['psetex', 4, 1, 1, 1, 'string'], ['getset', 3, 1, 1, 1, 'string'], ['getdel', 2, 1, 1, 1, 'string'],
  ['getex', -2, 1, 1, 1, 'string'], ['append', 3, 1, 1, 1, 'string'], ['setrange', 4, 1, 1, 1, 'string'],
  ['incr', 2, 1, 1, 1, 'string'], ['decr', 2, 1, 1, 1, 'string'], ['incrby', 3, 1, 1, 1, 'string'],
  ['decrby', 3, 1, 1, 1, 'string'], ['incrbyfloat', 3, 1, 1, 1, 'string'], ['mset', -3, 1, -1, 2, 'string'],
  ['msetnx', -3, 1, -1, 2, 'string'], ['del', -2, 1, -1, 1, 'generic'], ['unlink', -2, 1, -1, 1, 'generic'],
  ['expire', -3, 1, 1, 1, 'generic'], ['pexpire', -3, 1, 1, 1, 'generic'], ['expireat', -3, 1, 1, 1, 'generic'],
  ['pexpireat', -3, 1, 1, 1, 'generic'], ['persist', 2, 1, 1, 1, 'generic'], ['rename', 3, 1, 2, 1, 'generic'],
  ['renamenx', 3, 1, 2, 1, 'generic'], ['move', 3, 1, 1, 1, 'generic'], ['copy', -3, 1, 2, 1, 'generic'],
  ['restore', -4, 1, 1, 1, 'generic'], ['sort', -2, 1, 1, 1, 'generic'], ['flushall', -1, 0, 0, 0, 'server'],
  ['flushdb', -1, 0, 0, 0, 'server'], ['swapdb', 3, 0, 0, 0, 'server'], ['lpush', -3, 1, 1, 1, 'list'],
  ['rpush', -3, 1, 1, 1, 'list'], ['lpushx', -3, 1, 1, 1, 'list'], ['rpushx', -3, 1, 1, 1, 'list'],
  ['lpop', -2, 1, 1, 1, 'list'], ['rpop', -2, 1, 1, 1, 'list'], ['lset', 4, 1, 1, 1, 'list'],
  ['lrem', 4, 1, 1, 1, 'list'], ['ltrim', 4, 1, 1, 1, 'list'], ['linsert', 5, 1, 1, 1, 'list'],
  ['rpoplpush', 3, 1, 2, 1, 'list'], ['lmove', 5, 1, 2, 1, 'list'], ['blpop', -3, 1, -2, 1, 'list'],
  ['brpop', -3, 1, -2, 1, 'list'], ['sadd', -3, 1, 1, 1, 'set'], ['srem', -3, 1, 1, 1, 'set'],
  ['spop', -2, 1, 1, 1, 'set'], ['smove', 4, 1, 2, 1, 'set'], ['sinterstore', -3, 1, -1, 1, 'set'],
  ['sunionstore', -3, 1, -1, 1, 'set'], ['sdiffstore', -3, 1, -1, 1, 'set'], ['hset', -4, 1, 1, 1, 'hash'],
  ['hsetnx', 4, 1, 1, 1, 'hash'], ['hmset', -4, 1, 1, 1, 'hash'], ['hdel', -3, 1, 1, 1, 'hash'],
  ['hincrby', 4, 1, 1, 1, 'hash'], ['hincrbyfloat', 4, 1, 1, 1, 'hash'], ['zadd', -4, 1, 1, 1, 'sorted-set'],
  ['zrem', -3, 1, 1, 1, 'sorted-set'], ['zincrby', 4, 1, 1, 1, 'sorted-set'], ['zpopmin', -2, 1, 1, 1, 'sorted-set'],
  ['zpopmax', -2, 1, 1, 1, 'sorted-set'], ['zunionstore', -4, 1, 1, 1, 'sorted-set'], ['zinterstore', -4, 1, 1, 1, 'sorted-set'],
  ['zremrangebyscore', 4, 1, 1, 1, 'sorted-set'], ['zremrangebyrank', 4, 1, 1, 1, 'sorted-set'],
  ['xadd', -5, 1, 1, 1, 'stream'], ['xdel', -3, 1, 1, 1, 'stream'], ['xtrim', -4, 1, 1, 1, 'stream'],
  ['pfadd', -2, 1, 1, 1, 'hyperloglog'], ['pfmerge', -2, 1, -1, 1, 'hyperloglog'], ['setbit', 4, 1, 1, 1, 'bitmap'],
  ['bitop', -4, 2, -1, 1, 'bitmap'], ['bitfield', -2, 1, 1, 1, 'bitmap'], ['geoadd', -5, 1, 1, 1, 'geo'],
];

const writes = WRITES.map(([name, arity, first, last, step, group]) =>
  spec(name, arity, ['write', 'denyoom'], [first, last, step], group, 'Refused: the data set is read-only.'));

/** Every command by lower-case name. */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([...served, ...writes].map((c) => [c.name, c]));

/** Requests as /metrics labels them: each command by name, then an unknown command, then a frame that is no command. */
export const RESP_COMMAND_NAMES: readonly string[] = [...COMMANDS.keys(), 'unknown', 'invalid'];
/** A command's number in RESP_COMMAND_NAMES (stats.requestField). */
export const RESP_COMMAND_NUMBERS: ReadonlyMap<string, number> = new Map(RESP_COMMAND_NAMES.map((name, i) => [name, i]));
export const RESP_UNKNOWN = RESP_COMMAND_NAMES.length - 2;
export const RESP_INVALID = RESP_COMMAND_NAMES.length - 1;
export const RESP_GET = RESP_COMMAND_NUMBERS.get('get') as number;
if (RESP_COMMAND_NAMES.length > COMMAND_SLOTS) throw new Error(`${RESP_COMMAND_NAMES.length} RESP commands: stats.COMMAND_SLOTS must hold them`);
