// Passwords on the RESP front (--requirepass, --requirepass-file, ROKV_REQUIREPASS), as
// Redis 7 answers them byte for byte (texts checked against Debian's redis-server
// 7.0.15): NOAUTH before AUTH for every command but AUTH/HELLO/QUIT/RESET, WRONGPASS,
// HELLO's own NOAUTH, AUTH/HELLO AUTH with the default user, RESET logging out; a
// failed attempt is answered late and the connection reads nothing meanwhile; failures
// are counted (INFO acl_access_denied_auth, /metrics); no password in a log or INFO.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFromFlags } from '../src/server/auth-flags.ts';
import { Users, requirePassSettings } from '../src/auth/users.ts';
import { type Pair, packRecords, tempDir } from './helpers.ts';
import { command, respExchange } from './resp-helpers.ts';
import { RawClient, type RunningServer, startServer } from './server-helpers.ts';

const PASSWORD = 's3cret-pw';
const records: Pair[] = [['k1', 'v1'], ['k2', 'v2']];
const NOAUTH = '-NOAUTH Authentication required.\r\n';
const WRONGPASS = '-WRONGPASS invalid username-password pair or user is disabled.\r\n';
const HELLO_NOAUTH = '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n';

async function raw(port: number, bytes: Buffer, n: number): Promise<string> {
  return (await respExchange(port, bytes, n)).raw.toString('latin1');
}

describe('users from flags', () => {
  it('takes the password from one of --requirepass, --requirepass-file, ROKV_REQUIREPASS, and refuses two', () => {
    const file = path.join(tempDir(), 'pass');
    fs.writeFileSync(file, `${PASSWORD}\n`);
    for (const settings of [authFromFlags({ requirepass: PASSWORD }, {}), authFromFlags({ requirepassFile: file }, {}), authFromFlags({}, { ROKV_REQUIREPASS: PASSWORD })]) {
      const users = new Users(settings!);
      expect(users.required).toBe(true);
      expect(users.check('default', Buffer.from(PASSWORD))?.name).toBe('default');
      expect(users.check('default', Buffer.from(`${PASSWORD}\n`))).toBeNull();
    }
    expect(authFromFlags({}, {})).toBeUndefined();
    expect(() => authFromFlags({ requirepass: 'a' }, { ROKV_REQUIREPASS: 'b' })).toThrow(/--requirepass and ROKV_REQUIREPASS: give only one/);
    fs.writeFileSync(file, '');
    expect(() => authFromFlags({ requirepassFile: file }, {})).toThrow(/is empty/);
  });

  it('keeps digests, never the password', () => {
    expect(JSON.stringify(requirePassSettings(PASSWORD))).not.toContain(PASSWORD);
  });
});

describe('--requirepass', () => {
  let server: RunningServer;
  let port: number;
  beforeAll(async () => {
    server = await startServer(packRecords(records), ['--resp-port', '0', '--requirepass', PASSWORD, '--metrics-port', '0']);
    port = server.respPort;
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers NOAUTH to every command but AUTH, HELLO, QUIT and RESET until authenticated', async () => {
    expect(await raw(port, Buffer.concat([command('GET', 'k1'), command('PING'), command('MGET', 'k1'), command('INFO'), command('ACL', 'WHOAMI'), command('RESET')]), 6))
      .toBe(`${NOAUTH.repeat(5)}+RESET\r\n`);
    // Unknown commands and wrong arity are judged first, as in Redis.
    expect(await raw(port, Buffer.concat([command('FOO'), command('GET')]), 2))
      .toBe("-ERR unknown command 'FOO', with args beginning with: \r\n-ERR wrong number of arguments for 'get' command\r\n");
    expect(await raw(port, command('HELLO', '3'), 1)).toBe(HELLO_NOAUTH);
    expect(await raw(port, command('QUIT'), 1)).toBe('+OK\r\n');
  });

  it('takes AUTH pass, AUTH default pass and HELLO AUTH; RESET logs out', async () => {
    expect(await raw(port, Buffer.concat([command('AUTH', PASSWORD), command('GET', 'k1'), command('RESET'), command('GET', 'k1')]), 4))
      .toBe(`+OK\r\n$2\r\nv1\r\n+RESET\r\n${NOAUTH}`);
    expect(await raw(port, Buffer.concat([command('AUTH', 'default', PASSWORD), command('ACL', 'WHOAMI')]), 2)).toBe('+OK\r\n$7\r\ndefault\r\n');
    const hello = await raw(port, Buffer.concat([command('HELLO', '3', 'AUTH', 'default', PASSWORD), command('GET', 'k2')]), 2);
    expect(hello).toMatch(/^%7\r\n\$6\r\nserver\r\n/);
    expect(hello.endsWith('$2\r\nv2\r\n')).toBe(true);
    expect(await raw(port, Buffer.concat([command('HELLO', '2', 'AUTH', 'default', PASSWORD), command('GET', 'k2')]), 2)).toMatch(/^\*14\r\n.*\$2\r\nv2\r\n$/s);
  });

  it('refuses wrong credentials with WRONGPASS, late, reading nothing meanwhile', async () => {
    const client = await RawClient.connect(port);
    const started = performance.now();
    // Three failures in one pipeline wait one after the other: the connection reads nothing while one waits.
    client.socket.write(Buffer.concat([command('AUTH', 'nope'), command('AUTH', 'nope'), command('AUTH', 'nope'), command('AUTH', 'default', PASSWORD), command('GET', 'k1')]));
    await client.until(() => client.received.toString('latin1').endsWith('$2\r\nv1\r\n'), 5000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 200 - 10);
    expect(client.received.toString('latin1')).toBe(`${WRONGPASS.repeat(3)}+OK\r\n$2\r\nv1\r\n`);
    client.socket.destroy();
    for (const bad of [command('AUTH', 'other', PASSWORD), command('HELLO', '3', 'AUTH', 'default', 'x'), command('AUTH', 'default', '')]) {
      expect(await raw(port, bad, 1)).toBe(WRONGPASS);
    }
    expect(await raw(port, command('AUTH', 'a', 'b', 'c'), 1)).toBe('-ERR syntax error\r\n');
  });

  it('counts failures in INFO and /metrics, and shows the password nowhere', async () => {
    await raw(port, command('AUTH', 'wrong-one'), 1);
    const info = await raw(port, Buffer.concat([command('AUTH', PASSWORD), command('INFO', 'everything')]), 2);
    const failures = Number(/acl_access_denied_auth:(\d+)/.exec(info)?.[1]);
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(info).toContain('acl_access_denied_key:0');
    expect(info).not.toContain(PASSWORD);
    const metricsPort = Number(/metrics on http:\/\/\S+:(\d+)\//.exec(server.stdout)?.[1]);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(Number(/^rokv_auth_failures_total (\d+)/m.exec(metrics)?.[1])).toBe(failures);
    expect(metrics).not.toContain(PASSWORD);
    expect(server.stdout + server.stderr()).not.toContain(PASSWORD);
  });

  it('serves ioredis with a password, and refuses it without', async () => {
    const redis = new Redis({ port, host: '127.0.0.1', password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await redis.connect();
    expect(await redis.get('k1')).toBe('v1');
    await redis.quit();
    const anonymous = new Redis({ port, host: '127.0.0.1', protocol: 2, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
    await anonymous.connect();
    await expect(anonymous.get('k1')).rejects.toThrow(/NOAUTH Authentication required/);
    anonymous.disconnect();
  });

  it('serves redis-cli with -a', () => {
    const cli = spawnSync('redis-cli', ['-p', String(port), '--no-auth-warning', '-a', PASSWORD, 'GET', 'k2'], { encoding: 'utf8' });
    if (cli.error) return; // redis-cli not installed
    expect(cli.stdout).toBe('v2\n');
  });
});

describe('ROKV_REQUIREPASS and --requirepass-file', () => {
  it('set the password without it being on the command line', async () => {
    const file = packRecords(records);
    const passFile = path.join(tempDir(), 'pass');
    fs.writeFileSync(passFile, `${PASSWORD}\r\n`);
    for (const [args, env] of [[['--requirepass-file', passFile], {}], [[], { ROKV_REQUIREPASS: PASSWORD }]] as const) {
      const server = await startServer(file, ['--resp-port', '0', ...args], env);
      expect(await raw(server.respPort, Buffer.concat([command('GET', 'k1'), command('AUTH', PASSWORD), command('GET', 'k1')]), 3))
        .toBe(`${NOAUTH}+OK\r\n$2\r\nv1\r\n`);
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('no password configured', () => {
  it('behaves as Redis with the passwordless default user', async () => {
    const server = await startServer(packRecords(records), ['--resp-port', '0']);
    expect(await raw(server.respPort, Buffer.concat([command('GET', 'k1'), command('AUTH', 'default', 'anything'), command('AUTH', 'x')]), 3))
      .toBe('$2\r\nv1\r\n+OK\r\n-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n');
    expect(await server.stop()).toBe(0);
  });
});
