// Who may read: the users of a server, as Redis 7 defines them for what applies to a
// read-only server — `--requirepass` (the `default` user's password), or an ACL file in
// Redis's syntax (`user NAME on >password ~pattern …`). Users are plain data
// (AuthSettings), so they cross to worker threads; Users answers "is this name and
// password a user" in constant time over SHA-256 digests. Passwords are never kept,
// only their digests, and never appear in an error text.

import crypto from 'node:crypto';
import { InputError } from '../errors.ts';

/** A key pattern of a user: a Redis glob, and what it grants (`~p` and `%RW~p`: both; `%R~p`: read). */
export interface KeyPattern {
  glob: string;
  read: boolean;
  write: boolean;
}

/** A user, as plain data. */
export interface UserSpec {
  name: string;
  /** `on` (may authenticate) or `off`. */
  enabled: boolean;
  /** `nopass`: any password authenticates. */
  nopass: boolean;
  /** SHA-256 digests of its passwords, lower-case hex. */
  digests: string[];
  /** Read and write every key (`allkeys`, `~*`): no key check at all. */
  allKeys: boolean;
  patterns: KeyPattern[];
}

/** The users of a server (plain data: crosses to worker threads). */
export interface AuthSettings {
  users: UserSpec[];
}

export function sha256Hex(password: string | Buffer): string {
  return crypto.createHash('sha256').update(password).digest('hex');
}

/** Redis's `default` user when nothing configures it: on, nopass, every key. */
function defaultUser(): UserSpec {
  return { name: 'default', enabled: true, nopass: true, digests: [], allKeys: true, patterns: [] };
}

/** No password configured: only Redis's passwordless `default` user. */
export function openSettings(): AuthSettings {
  return { users: [defaultUser()] };
}

/** `--requirepass`: `default` has that password (and only it), as Redis's requirepass. */
export function requirePassSettings(password: string): AuthSettings {
  if (password === '') return openSettings();
  return { users: [{ ...defaultUser(), nopass: false, digests: [sha256Hex(password)] }] };
}

/** Applies one ACL rule (Redis's ACLSetUser words) to `user`; returns an error text, or null. */
function applyRule(user: UserSpec, rule: string): string | null {
  const lower = rule.toLowerCase();
  if (lower === 'on') user.enabled = true;
  else if (lower === 'off') user.enabled = false;
  else if (lower === 'nopass') {
    user.nopass = true;
    user.digests = [];
  } else if (lower === 'resetpass') {
    user.nopass = false;
    user.digests = [];
  } else if (rule.startsWith('>')) {
    const digest = sha256Hex(rule.slice(1));
    if (!user.digests.includes(digest)) user.digests.push(digest);
    user.nopass = false;
  } else if (rule.startsWith('<')) {
    const digest = sha256Hex(rule.slice(1));
    user.digests = user.digests.filter((d) => d !== digest);
  } else if (rule.startsWith('#') || rule.startsWith('!')) {
    const digest = rule.slice(1).toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(digest)) return 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters';
    if (rule[0] === '#') {
      if (!user.digests.includes(digest)) user.digests.push(digest);
      user.nopass = false;
    } else {
      user.digests = user.digests.filter((d) => d !== digest);
    }
  } else if (lower === 'allkeys' || rule === '~*') {
    user.allKeys = true;
    user.patterns = [];
  } else if (lower === 'resetkeys') {
    user.allKeys = false;
    user.patterns = [];
  } else if (rule.startsWith('~') || rule.startsWith('%')) {
    let read = true;
    let write = true;
    let glob = rule.slice(1);
    if (rule[0] === '%') {
      const tilde = rule.indexOf('~');
      const flags = tilde < 0 ? '' : rule.slice(1, tilde).toUpperCase();
      if (tilde < 0 || flags === '' || /[^RW]/.test(flags)) return 'Syntax error';
      read = flags.includes('R');
      write = flags.includes('W');
      glob = rule.slice(tilde + 1);
    }
    if (user.allKeys) return `Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns`;
    if (glob === '*' && read && write) {
      user.allKeys = true;
      user.patterns = [];
    } else {
      user.patterns.push({ glob, read, write });
    }
  } else if (rule.startsWith('&') || lower === 'allchannels' || lower === 'resetchannels') {
    // Pub/Sub channels: rokv serves no Pub/Sub; accepted, nothing to apply.
  } else if (/^[+-]/.test(rule) || lower === 'allcommands' || lower === 'nocommands') {
    // Command rules: accepted and not applied (docs/RESP.md, Users): every user may run every read command.
  } else if (lower === 'reset') {
    Object.assign(user, { enabled: false, nopass: false, digests: [], allKeys: false, patterns: [] });
  } else {
    return 'Syntax error';
  }
  return null;
}

/**
 * An ACL file, in Redis's syntax: a line per user, `user NAME rule …`; blank lines and
 * lines starting with `#` skipped. A user the file does not name but `default` is as
 * Redis makes it: `default` on, nopass, every key. Errors name the file and the line.
 */
export function parseAclFile(text: string, file: string): AuthSettings {
  const users = new Map<string, UserSpec>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/[ \t]+/);
    const at = `${file}:${i + 1}`;
    if (words[0] !== 'user' || words.length < 2) throw new InputError(`${at}: line should start with user keyword`);
    const name = words[1];
    if (users.has(name)) throw new InputError(`${at}: duplicate user '${name}' found`);
    const user: UserSpec = { name, enabled: false, nopass: false, digests: [], allKeys: false, patterns: [] };
    for (const rule of words.slice(2)) {
      const problem = applyRule(user, rule);
      // The rule is not echoed: it may be a password.
      if (problem !== null) throw new InputError(`${at}: error in user declaration '${name}': ${problem}`);
    }
    users.set(name, user);
  }
  if (!users.has('default')) users.set('default', defaultUser());
  return { users: [...users.values()] };
}

const DUMMY_DIGEST = Buffer.alloc(32);

/** The users, for sessions: authentication in constant time. */
export class Users {
  private readonly byName: Map<string, UserSpec & { raw: Buffer[] }>;
  /** The user a new connection is: `default`. */
  readonly defaultUser: UserSpec;
  /** A new connection must authenticate first: `default` is off or has passwords (Redis's authRequired). */
  readonly required: boolean;

  constructor(settings: AuthSettings) {
    this.byName = new Map(settings.users.map((u) => [u.name, { ...u, raw: u.digests.map((d) => Buffer.from(d, 'hex')) }]));
    this.defaultUser = this.byName.get('default') ?? defaultUser();
    this.required = !this.defaultUser.enabled || !this.defaultUser.nopass;
  }

  /** User names, sorted as Redis's ACL USERS lists them (bytes, ascending). */
  names(): string[] {
    return [...this.byName.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /**
   * The user `name` authenticated by `password`, or null (no such user, off, or a wrong
   * password). Every stored digest of the user (or a dummy, for an unknown name) is
   * compared, each with timingSafeEqual, so the time says nothing about the password.
   */
  check(name: string, password: Buffer): UserSpec | null {
    const digest = crypto.createHash('sha256').update(password).digest();
    const user = this.byName.get(name);
    let match = false;
    for (const stored of user === undefined || user.raw.length === 0 ? [DUMMY_DIGEST] : user.raw) {
      if (crypto.timingSafeEqual(stored, digest)) match = true;
    }
    if (user === undefined || !user.enabled) return null;
    return user.nopass || match ? user : null;
  }
}
