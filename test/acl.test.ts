// Users from an ACL file (--aclfile, Redis's syntax) on the RESP front, as Redis 7
// answers (texts checked against Debian's redis-server 7.0.15 with the same file):
// users on/off, >password and #sha256, nopass, key patterns ~p, %R~p, allkeys; a key the
// user may not read is -NOPERM (GET, MGET, EXISTS: one key refused refuses the command),
// SCAN and RANDOMKEY are not filtered (as Redis); ACL WHOAMI / USERS / CAT.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Users, parseAclFile, sha256Hex } from '../src/auth/users.ts';
import { type Pair, packRecords, tempDir } from './helpers.ts';
import { command, respExchange } from './resp-helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const NOPERM = '-NOPERM this user has no permissions to access one of the keys used as arguments\r\n';
const WRONGPASS = '-WRONGPASS invalid username-password pair or user is disabled.\r\n';
const ACL = [
  '# users of the test',
  'user default on >secret ~* &* +@all',
  'user alice on >apw ~user:* %R~ro:* +@all',
  'user bob off >bpw ~* +@all',
  'user carol on nopass ~* +@all',
  `user dave on #${sha256Hex('dpw')} allkeys +@read`,
  '',
].join('\n');

async function raw(port: number, ...commands: Buffer[]): Promise<string> {
  return (await respExchange(port, Buffer.concat(commands), commands.length)).raw.toString('latin1');
}

describe('ACL file', () => {
  it('parses users as Redis does', () => {
    const users = new Users(parseAclFile(ACL, 'users.acl'));
    expect(users.names()).toEqual(['alice', 'bob', 'carol', 'dave', 'default']);
    expect(users.required).toBe(true);
    expect(users.check('alice', Buffer.from('apw'))?.patterns).toEqual([{ glob: 'user:*', read: true, write: true }, { glob: 'ro:*', read: true, write: false }]);
    expect(users.check('alice', Buffer.from('bad'))).toBeNull();
    expect(users.check('bob', Buffer.from('bpw'))).toBeNull(); // off
    expect(users.check('carol', Buffer.from('anything'))?.name).toBe('carol');
    expect(users.check('dave', Buffer.from('dpw'))?.allKeys).toBe(true);
    expect(users.check('nobody', Buffer.from(''))).toBeNull();
    // No default line: Redis's default user, on and passwordless.
    expect(new Users(parseAclFile('user x on >p ~*\n', 'f')).required).toBe(false);
  });

  it('refuses bad lines by file and line, without echoing a password', () => {
    expect(() => parseAclFile('user a on >p\nuser a on\n', 'f.acl')).toThrow("f.acl:2: duplicate user 'a' found");
    expect(() => parseAclFile('users a on\n', 'f.acl')).toThrow('f.acl:1: line should start with user keyword');
    expect(() => parseAclFile('user a on #abc\n', 'f.acl')).toThrow(/f\.acl:1: .*64 characters/);
    let message = '';
    try {
      parseAclFile('user a on >hunter2 bogus-rule\n', 'f.acl');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe("f.acl:1: error in user declaration 'a': Syntax error");
  });
});

describe('--aclfile', () => {
  const records: Pair[] = [['user:1', 'u1'], ['ro:1', 'r1'], ['other', 'o']];
  let server: RunningServer;
  let port: number;
  beforeAll(async () => {
    const file = path.join(tempDir(), 'users.acl');
    fs.writeFileSync(file, ACL);
    server = await startServer(packRecords(records), ['--resp-port', '0', '--aclfile', file]);
    port = server.respPort;
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('lets a user read only the keys its patterns allow', async () => {
    const auth = command('AUTH', 'alice', 'apw');
    expect(await raw(port, auth, command('GET', 'other'), command('GET', 'user:1'), command('GET', 'ro:1'), command('MGET', 'user:1', 'other'), command('EXISTS', 'other'), command('STRLEN', 'ro:1')))
      .toBe(`+OK\r\n${NOPERM}$2\r\nu1\r\n$2\r\nr1\r\n${NOPERM}${NOPERM}:2\r\n`);
    // A write needs write permission (%R~ is read only) before it is refused as read-only.
    expect(await raw(port, auth, command('SET', 'ro:1', 'x'), command('SET', 'user:1', 'x')))
      .toBe(`+OK\r\n${NOPERM}-READONLY You can't write against a read only replica.\r\n`);
    // In MULTI, a refused command dooms the transaction.
    expect(await raw(port, auth, command('MULTI'), command('GET', 'other'), command('EXEC')))
      .toBe(`+OK\r\n+OK\r\n${NOPERM}-EXECABORT Transaction discarded because of previous errors.\r\n`);
  });

  it('does not filter SCAN or RANDOMKEY by key patterns, as Redis', async () => {
    const reply = await raw(port, command('AUTH', 'alice', 'apw'), command('SCAN', '0', 'COUNT', '1000'), command('DBSIZE'));
    for (const key of ['user:1', 'ro:1', 'other']) expect(reply).toContain(`\r\n${key}\r\n`);
    expect(reply.endsWith(':3\r\n')).toBe(true);
  });

  it('authenticates by password, sha256 digest and nopass; refuses users that are off', async () => {
    expect(await raw(port, command('AUTH', 'dave', 'dpw'), command('GET', 'other'), command('ACL', 'WHOAMI'))).toBe('+OK\r\n$1\r\no\r\n$4\r\ndave\r\n');
    expect(await raw(port, command('AUTH', 'carol', 'x'), command('ACL', 'WHOAMI'))).toBe('+OK\r\n$5\r\ncarol\r\n');
    expect(await raw(port, command('AUTH', 'bob', 'bpw'))).toBe(WRONGPASS);
    // AUTH with one argument is the default user's password.
    expect(await raw(port, command('AUTH', 'carol'), command('ACL', 'WHOAMI'))).toBe(`${WRONGPASS}-NOAUTH Authentication required.\r\n`);
    expect(await raw(port, command('AUTH', 'secret'), command('GET', 'other'))).toBe('+OK\r\n$1\r\no\r\n');
  });

  it('answers ACL USERS and ACL CAT as Redis 7', async () => {
    expect(await raw(port, command('AUTH', 'secret'), command('ACL', 'USERS')))
      .toBe('+OK\r\n*5\r\n$5\r\nalice\r\n$3\r\nbob\r\n$5\r\ncarol\r\n$4\r\ndave\r\n$7\r\ndefault\r\n');
    const categories = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo', 'stream',
      'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting'];
    expect(await raw(port, command('AUTH', 'secret'), command('ACL', 'CAT'), command('ACL', 'CAT', 'nosuch'), command('ACL', 'CAT', 'a', 'b'))).toBe(
      `+OK\r\n*21\r\n${categories.map((c) => `$${c.length}\r\n${c}\r\n`).join('')}-ERR Unknown category 'nosuch'\r\n` +
      "-ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP.\r\n",
    );
    const read = await raw(port, command('AUTH', 'secret'), command('ACL', 'CAT', 'read'));
    expect(read).toContain('\r\nget\r\n');
    expect(read).not.toContain('\r\nset\r\n');
  });

  it('counts keys refused in INFO', async () => {
    await raw(port, command('AUTH', 'alice', 'apw'), command('GET', 'other'));
    const info = await raw(port, command('AUTH', 'secret'), command('INFO', 'stats'));
    expect(Number(/acl_access_denied_key:(\d+)/.exec(info)?.[1])).toBeGreaterThanOrEqual(1);
  });
});
