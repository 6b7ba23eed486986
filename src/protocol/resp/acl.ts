// Users on the RESP front: which keys a user may read (its key patterns, Redis's globs),
// the replies Redis 7 gives when a connection may not run a command, and the ACL
// subcommands a read-only server answers (WHOAMI, USERS, CAT).

import type { KeyPattern, UserSpec } from '../../auth/users.ts';
import type { CommandSpec } from './command-spec.ts';
import type { CommandHandler } from './context.ts';
import type { ArgList } from './decoder.ts';
import { globMatch } from './glob.ts';

export const NOAUTH = 'NOAUTH Authentication required.';
export const HELLO_NOAUTH = 'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time';
export const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
/** Redis 7.0's text (7.2 says "No permissions to access a key"). */
export const NOPERM_KEY = 'NOPERM this user has no permissions to access one of the keys used as arguments';

/** Commands a connection may run before it authenticates (Redis's no-auth flag). */
export const NO_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);

/** A user's key patterns, compiled: may it read (or write) the keys of a command. */
export class KeyAccess {
  private readonly patterns: { glob: Uint8Array; read: boolean; write: boolean }[];

  constructor(patterns: readonly KeyPattern[]) {
    this.patterns = patterns.map((p) => ({ glob: Buffer.from(p.glob, 'utf8'), read: p.read, write: p.write }));
  }

  /** Whether one pattern grants what is needed (read, and for a write command write too) on bytes[start, end). */
  allows(bytes: Buffer, start: number, end: number, write: boolean): boolean {
    for (const p of this.patterns) {
      if (p.read && (!write || p.write) && globMatch(p.glob, bytes, start, end)) return true;
    }
    return false;
  }

  /** Whether every key argument of `spec` in `a` is allowed (Redis checks each key: one refused refuses the command). */
  allowsKeys(spec: CommandSpec, a: ArgList): boolean {
    const last = spec.lastKey < 0 ? a.count + spec.lastKey : spec.lastKey;
    const write = spec.run === undefined;
    for (let i = spec.firstKey; i <= last && i < a.count; i += spec.step) {
      if (!this.allows(a.buf, a.starts[i], a.ends[i], write)) return false;
    }
    return true;
  }
}

/** A user's key check: null when it may read and write every key (no check at all). */
export function keyAccessOf(user: UserSpec): KeyAccess | null {
  return user.allKeys ? null : new KeyAccess(user.patterns);
}

export const aclWhoami: CommandHandler = (s) => s.w.bulkText(s.user);

export const aclUsers: CommandHandler = (s) => {
  const names = s.userNames();
  s.w.array(names.length);
  for (const name of names) s.w.bulkText(name);
};

/** Redis 7's command categories, in the order ACL CAT lists them. */
const CATEGORIES = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo', 'stream',
  'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting',
];

/** The categories of a command, as COMMAND INFO lists them ("@keyspace", "@read", ...: ACL CAT's order, which is Redis's). */
export function categoriesOf(c: CommandSpec): string[] {
  return CATEGORIES.filter((category) => inCategory(c, category)).map((category) => `@${category}`);
}

/** CONFIG and its subcommands but HELP (Redis's @admin @dangerous). */
function isConfigChange(c: CommandSpec): boolean {
  return c.name === 'config' || (c.name.startsWith('config|') && c.name !== 'config|help');
}

/** Whether a command of rokv's table is in a category (from its flags and group, as Redis derives them). */
function inCategory(c: CommandSpec, category: string): boolean {
  // A container (CLIENT, CONFIG, CLUSTER, COMMAND) is only @slow (COMMAND @connection too); its subcommands have their own.
  if (c.subcommands !== undefined) return category === 'slow' || (category === 'connection' && c.name === 'command');
  const write = c.run === undefined;
  switch (category) {
    case 'read': return c.flags.includes('readonly');
    case 'write': return write;
    case 'fast': return c.flags.includes('fast');
    case 'slow': return !c.flags.includes('fast');
    case 'keyspace': return c.group === 'generic' || c.name === 'dbsize';
    case 'connection': return c.group === 'connection' || c.name === 'command' || c.name.startsWith('command|') || c.name === 'readonly' || c.name === 'readwrite';
    case 'transaction': return c.group === 'transactions';
    case 'string': return c.group === 'string';
    case 'admin': return isConfigChange(c);
    case 'dangerous': return isConfigChange(c) || c.name === 'keys' || c.name === 'info';
    default: return c.group === category;
  }
}

/** ACL CAT [category]: the categories, or the commands rokv knows in one. */
export function aclCat(commands: ReadonlyMap<string, CommandSpec>): CommandHandler {
  return (s, a) => {
    if (a.count > 3) return s.error('ERR unknown subcommand or wrong number of arguments for \'CAT\'. Try ACL HELP.');
    if (a.count === 2) {
      s.w.array(CATEGORIES.length);
      for (const c of CATEGORIES) s.w.bulkText(c);
      return;
    }
    const category = a.lower(2);
    if (!CATEGORIES.includes(category)) return s.error(`ERR Unknown category '${a.text(2).slice(0, 128)}'`);
    const names: string[] = [];
    for (const c of commands.values()) {
      // A container is listed by its own categories (@slow), then its subcommands, as Redis lists them.
      const all = c.subcommands === undefined ? [c] : [c, ...c.subcommands.values()];
      for (const sub of all) if (inCategory(sub, category)) names.push(sub.name);
    }
    s.w.array(names.length);
    for (const name of names) s.w.bulkText(name);
  };
}
