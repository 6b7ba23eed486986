// The RESP front's command table: every command it knows, in the order COMMAND lists
// them, with what COMMAND and COMMAND DOCS report (arity, flags, key positions, group)
// and the handler that answers it. The handlers live by what they touch: the data
// (data-commands.ts), the connection (connection-commands.ts), the server's own
// description (introspection.ts), the cluster (cluster-commands.ts). Write commands
// have no handler (write-commands.ts).

import { aclCat, aclUsers, aclWhoami } from './acl.ts';
import { ALL_KEYS, CONN, type CommandSpec, NO_KEYS, ONE_KEY, READ, container, reading, spec } from './command-spec.ts';
import { clusterInfo, clusterKeyslot, clusterMyid, clusterNodes, clusterShards, clusterSlots, readMode } from './cluster-commands.ts';
import {
  auth, clientGetname, clientId, clientSetinfo, clientSetname, configRefused, discard, echo, exec, hello, helpReply, multi, ok, onOff,
  ping, quit, reset, select, time, watch,
} from './connection-commands.ts';
import { dbsize, exists, get, getrange, keys, mget, randomkey, scan, strlen, ttl, type } from './data-commands.ts';
import { clientInfo, commandCount, commandDocs, commandInfo, commandList, configGet, info } from './introspection.ts';
import { WRITE_COMMANDS } from './write-commands.ts';

/** The commands rokv answers, in the order COMMAND lists them. */
const SERVED: CommandSpec[] = [
  spec('get', 2, READ, ONE_KEY, 'string', 'Returns the string value of a key.', get),
  spec('mget', -2, READ, ALL_KEYS, 'string', 'Atomically returns the string values of one or more keys.', mget),
  reading('keys', spec('exists', -2, READ, ALL_KEYS, 'generic', 'Determines whether one or more keys exist.', exists)),
  reading('keys', spec('touch', -2, READ, ALL_KEYS, 'generic', 'Returns the number of existing keys out of those specified (nothing to touch: no eviction).', exists, '3.2.1')),
  reading('keys', spec('strlen', 2, READ, ONE_KEY, 'string', 'Returns the length of a string value.', strlen, '2.2.0')),
  reading('values', spec('getrange', 4, ['readonly'], ONE_KEY, 'string', 'Returns a substring of the string stored at a key.', getrange, '2.4.0')),
  reading('values', spec('substr', 4, ['readonly'], ONE_KEY, 'string', 'Returns a substring from a string value.', getrange)),
  reading('keys', spec('type', 2, READ, ONE_KEY, 'generic', 'Determines the type of value stored at a key.', type)),
  reading('keys', spec('ttl', 2, READ, ONE_KEY, 'generic', 'Returns the expiration time in seconds of a key (-1: none, -2: no key).', ttl)),
  reading('keys', spec('pttl', 2, READ, ONE_KEY, 'generic', 'Returns the expiration time in milliseconds of a key.', ttl, '2.6.0')),
  reading('keys', spec('expiretime', 2, READ, ONE_KEY, 'generic', 'Returns the expiration time of a key as a Unix timestamp.', ttl, '7.0.0')),
  reading('keys', spec('pexpiretime', 2, READ, ONE_KEY, 'generic', 'Returns the expiration time of a key as a Unix milliseconds timestamp.', ttl, '7.0.0')),
  spec('dbsize', 1, READ, NO_KEYS, 'server', 'Returns the number of keys in the database.', dbsize),
  reading('slots', spec('randomkey', 1, ['readonly'], NO_KEYS, 'generic', 'Returns a random key name from the database.', randomkey)),
  reading('slots', spec('scan', -2, ['readonly'], NO_KEYS, 'generic', 'Iterates over the key names in the database.', scan, '2.8.0')),
  spec('keys', 2, ['readonly'], NO_KEYS, 'generic', 'Returns all key names that match a pattern.', keys),

  spec('hello', -1, CONN, NO_KEYS, 'connection', 'Handshakes with the server (RESP2 or RESP3).', hello, '6.0.0'),
  spec('auth', -2, CONN, NO_KEYS, 'connection', 'Authenticates the connection.', auth),
  spec('ping', -1, ['fast'], NO_KEYS, 'connection', 'Returns the server\'s liveliness response.', ping),
  spec('echo', 2, ['fast'], NO_KEYS, 'connection', 'Returns the given string.', echo),
  spec('select', 2, CONN, NO_KEYS, 'connection', 'Changes the selected database (only 0 exists).', select),
  spec('quit', -1, CONN, NO_KEYS, 'connection', 'Closes the connection.', quit),
  spec('reset', 1, CONN, NO_KEYS, 'connection', 'Resets the connection.', reset, '6.2.0'),
  spec('readonly', 1, CONN, NO_KEYS, 'cluster', 'Enables read-only queries for a connection to a replica.', readMode(true), '3.0.0'),
  spec('readwrite', 1, CONN, NO_KEYS, 'cluster', 'Enables read-write queries for a connection to a replica.', readMode(false), '3.0.0'),
  spec('multi', 1, CONN, NO_KEYS, 'transactions', 'Starts a transaction.', multi, '1.2.0'),
  spec('exec', 1, ['noscript', 'loading', 'stale'], NO_KEYS, 'transactions', 'Executes all commands in a transaction.', exec, '1.2.0'),
  spec('discard', 1, CONN, NO_KEYS, 'transactions', 'Discards a transaction.', discard, '2.0.0'),
  spec('watch', -2, CONN, ALL_KEYS, 'transactions', 'Monitors changes to keys (none ever change).', watch, '2.2.0'),
  spec('unwatch', 1, CONN, NO_KEYS, 'transactions', 'Forgets about watched keys.', ok, '2.2.0'),
  spec('info', -1, ['loading', 'stale'], NO_KEYS, 'server', 'Returns information and statistics about the server.', info),
  spec('time', 1, ['loading', 'stale', 'fast'], NO_KEYS, 'server', 'Returns the server time.', time, '2.6.0'),
  container(spec('client', -2, [], NO_KEYS, 'connection', 'A container for client connection commands.', undefined, '2.4.0'), [
    spec('client|setname', 3, CONN, NO_KEYS, 'connection', 'Sets the connection name.', clientSetname, '2.6.9'),
    spec('client|getname', 2, CONN, NO_KEYS, 'connection', 'Returns the name of the connection.', clientGetname, '2.6.9'),
    spec('client|setinfo', 4, CONN, NO_KEYS, 'connection', 'Sets information specific to the client or connection.', clientSetinfo, '7.2.0'),
    spec('client|id', 2, CONN, NO_KEYS, 'connection', 'Returns the unique client ID of the connection.', clientId, '5.0.0'),
    spec('client|info', 2, CONN, NO_KEYS, 'connection', 'Returns information about the connection.', clientInfo, '6.2.0'),
    spec('client|no-evict', 3, CONN, NO_KEYS, 'connection', 'Sets the client eviction mode of the connection (no eviction here).', onOff, '7.0.0'),
    spec('client|no-touch', 3, CONN, NO_KEYS, 'connection', 'Controls whether commands sent by the client affect the LRU/LFU of accessed keys.', onOff, '7.2.0'),
    spec('client|help', 2, CONN, NO_KEYS, 'connection', 'Returns helpful text about the different subcommands.', helpReply([
      'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
      'GETNAME', 'ID', 'INFO', 'NO-EVICT (ON|OFF)', 'NO-TOUCH (ON|OFF)', 'SETINFO <LIB-NAME|LIB-VER> <value>', 'SETNAME <name>', 'HELP',
    ]), '5.0.0'),
  ]),
  container(spec('acl', -2, [], NO_KEYS, 'server', 'A container for Access List Control commands.', undefined, '6.0.0'), [
    spec('acl|whoami', 2, ['noscript', 'loading', 'stale'], NO_KEYS, 'server', 'Returns the authenticated username of the current connection.', aclWhoami, '6.0.0'),
    spec('acl|users', 2, ['admin', 'noscript', 'loading', 'stale'], NO_KEYS, 'server', 'Lists all ACL users.', aclUsers, '6.0.0'),
    spec('acl|cat', -2, ['noscript', 'loading', 'stale'], NO_KEYS, 'server', 'Lists the ACL categories, or the commands inside a category.', (s, a) => aclCat(COMMANDS)(s, a), '6.0.0'),
    spec('acl|help', 2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns helpful text about the different subcommands.', helpReply([
      'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
      'CAT [<category>]', '    List all commands that belong to <category>, or all command categories', '    when no category is specified.',
      'USERS', '    List all the registered usernames.', 'WHOAMI', '    Return the current connection username.', 'HELP', '    Prints this help.',
    ]), '6.0.0'),
  ]),
  container(spec('command', -1, ['loading', 'stale'], NO_KEYS, 'server', 'Returns detailed information about all commands.', (s) => commandInfo(s, null, COMMANDS), '2.8.13'), [
    spec('command|count', 2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns a count of commands.', (s) => commandCount(s, COMMANDS), '2.8.13'),
    spec('command|docs', -2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns documentary information about one, multiple or all commands.', (s, a) => commandDocs(s, a, COMMANDS), '7.0.0'),
    spec('command|info', -2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns information about one, multiple or all commands.', (s, a) => commandInfo(s, a, COMMANDS), '2.8.13'),
    spec('command|list', -2, ['loading', 'stale'], NO_KEYS, 'server', 'Returns a list of command names.', (s) => commandList(s, COMMANDS), '7.0.0'),
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

/** Every command by lower-case name. */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([...SERVED, ...WRITE_COMMANDS].map((c) => [c.name, c]));
