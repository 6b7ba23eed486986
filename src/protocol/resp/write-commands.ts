// The write commands rokv knows in order to refuse them: a session answers each with
// -READONLY after checking its arity and keys, as a Redis replica does. COMMAND lists
// them with their key positions, so cluster clients route them like Redis's.

import { type CommandSpec, spec } from './command-spec.ts';

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

/** The write commands as the command table holds them: no handler. */
export const WRITE_COMMANDS: readonly CommandSpec[] = WRITES.map(([name, arity, first, last, step, group]) =>
  spec(name, arity, ['write', 'denyoom'], [first, last, step], group, 'Refused: the data set is read-only.'));
