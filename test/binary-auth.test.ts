// The binary protocol's AUTH (protocol 1.1) against a server with users: every request
// of a connection that has not authenticated answers NOAUTH; a wrong password answers
// WRONGPASS late (the connection reads nothing meanwhile) and is counted; a user's key
// patterns apply to GETs (NOPERM, as Redis refuses); the client library and bin/client
// authenticate with --user/--password or the environment and get the right answers.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RokvError, connect } from '../src/client/connection.ts';
import {
  ERR_BAD_REQUEST, ERR_NOAUTH, ERR_NOPERM, ERR_WRONGPASS, OP_AUTH, OP_GET, OP_INFO, OP_PING, STATUS_ERROR, STATUS_NOT_FOUND, STATUS_OK,
} from '../src/protocol/rokv/constants.ts';
import { encodeAuth } from '../src/protocol/rokv/frames.ts';
import { type Pair, ROOT, packRecords, tempDir } from './helpers.ts';
import { type Frame, RawClient, type RunningServer, frame, startServer } from './server-helpers.ts';

const PASSWORD = 'bin-s3cret';
const records: Pair[] = [['pub:1', 'one'], ['pub:2', 'two'], ['priv:1', 'hidden']];

function errorCode(f: Frame): number {
  expect(f.status).toBe(STATUS_ERROR);
  return f.payload[0];
}

/** Sends bytes on a new raw connection and waits for n frames. */
async function exchange(port: number, bytes: Buffer, n: number): Promise<{ frames: Frame[]; client: RawClient }> {
  const client = await RawClient.connect(port);
  client.socket.write(bytes);
  return { frames: await client.frames(n), client };
}

function runClient(args: string[], env: Record<string, string> = {}) {
  return spawnSync(path.join(ROOT, 'bin', 'client'), args, { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ...env } });
}

describe('a server with --requirepass, binary port', () => {
  let server: RunningServer;
  let dataFile: string;
  let metricsPort: number;
  beforeAll(async () => {
    dataFile = packRecords(records);
    server = await startServer(dataFile, ['--requirepass', PASSWORD, '--resp-port', '0', '--metrics-port', '0']);
    metricsPort = Number(/metrics on http:\/\/\S+:(\d+)\//.exec(server.stdout)?.[1]);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers GET, PING, INFO and unknown ops with NOAUTH until AUTH, and then serves', async () => {
    const { frames, client } = await exchange(server.port, Buffer.concat([
      frame(OP_GET, 'pub:1'), frame(OP_PING, 'x'), frame(OP_INFO), frame(0x7f),
      encodeAuth(null, PASSWORD), frame(OP_GET, 'pub:1'), frame(OP_GET, 'nope'),
    ]), 7);
    expect(frames.slice(0, 4).map(errorCode)).toEqual([ERR_NOAUTH, ERR_NOAUTH, ERR_NOAUTH, ERR_NOAUTH]);
    expect(frames[4]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('default') });
    expect(frames[5]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('one') });
    expect(frames[6].status).toBe(STATUS_NOT_FOUND);
    client.socket.destroy();
  });

  it('answers a wrong password WRONGPASS, late, with the requests behind it waiting; then a right one works', async () => {
    const started = performance.now();
    const { frames, client } = await exchange(server.port, Buffer.concat([
      encodeAuth(null, 'wrong'), frame(OP_GET, 'pub:1'), encodeAuth('default', PASSWORD), frame(OP_GET, 'pub:2'),
    ]), 4);
    const elapsed = performance.now() - started;
    expect(errorCode(frames[0])).toBe(ERR_WRONGPASS);
    expect(frames[0].payload.toString()).not.toContain('wrong');
    expect(errorCode(frames[1])).toBe(ERR_NOAUTH);
    expect(frames[2]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('default') });
    expect(frames[3]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('two') });
    expect(elapsed).toBeGreaterThanOrEqual(190); // the refusal waits 200-400 ms (timers may fire a little early)
    client.socket.destroy();
  });

  it('counts failed attempts in /metrics, and never shows the password', async () => {
    const before = await failures();
    const { client } = await exchange(server.port, encodeAuth(null, 'guess-1'), 1);
    client.socket.destroy();
    expect(await failures()).toBe(before + 1);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).not.toContain(PASSWORD);
    expect(server.stderr()).not.toContain(PASSWORD);
  });

  async function failures(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(/^rokv_auth_failures_total (\d+)/m.exec(text)?.[1]);
  }

  it('refuses a malformed AUTH payload as BAD_REQUEST and stays open', async () => {
    const { frames, client } = await exchange(server.port, Buffer.concat([frame(OP_AUTH, Buffer.from([0])), frame(OP_AUTH, Buffer.from([0, 9, 0x61])), encodeAuth(null, PASSWORD)]), 3);
    expect(frames.slice(0, 2).map(errorCode)).toEqual([ERR_BAD_REQUEST, ERR_BAD_REQUEST]);
    expect(frames[2].status).toBe(STATUS_OK);
    client.socket.destroy();
  });

  it('the library authenticates with password, refuses a wrong one, and without one gets NOAUTH', async () => {
    const c = await connect({ port: server.port, password: PASSWORD });
    expect((await c.get('pub:1'))?.toString()).toBe('one');
    expect(await c.get('absent')).toBeNull();
    await c.close();
    await expect(connect({ port: server.port, password: 'nope' })).rejects.toMatchObject({ codeName: 'WRONGPASS' });
    const anonymous = await connect({ port: server.port });
    const refused = await anonymous.get('pub:1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RokvError);
    expect((refused as RokvError).codeName).toBe('NOAUTH');
    await anonymous.close();
  });

  it('bin/client authenticates with --password or ROKV_PASSWORD, over both protocols, and checks every answer', () => {
    const base = [dataFile, '--requests', '300', '--clients', '2', '--threads', '1', '--json'];
    for (const [args, env] of [
      [['--port', String(server.port), '--password', PASSWORD], {}],
      [['--port', String(server.port), '--user', 'default'], { ROKV_PASSWORD: PASSWORD }],
      [['--port', String(server.respPort), '--protocol', 'resp', '--password', PASSWORD], {}],
    ] as [string[], Record<string, string>][]) {
      const run = runClient([...base, ...args], env);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.hits).toBe(300);
      expect(report.errors).toBe(0);
    }
  });

  it('bin/client: a wrong password or none fails the run with the reason', () => {
    const wrong = runClient([dataFile, '--port', String(server.port), '--requests', '10', '--password', 'bad']);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/AUTH refused: WRONGPASS/);
    const none = runClient([dataFile, '--port', String(server.port), '--requests', '10', '--json']);
    expect(none.status).toBe(1);
    expect(JSON.parse(none.stdout).errors).toBe(10);
    const userOnly = runClient([dataFile, '--port', String(server.port), '--user', 'x']);
    expect(userOnly.status).toBe(2);
    expect(userOnly.stderr).toMatch(/--user needs --password/);
  });
});

describe('a server with --aclfile, binary port', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const file = path.join(tempDir(), 'users.acl');
    fs.writeFileSync(file, 'user default off\nuser alice on >alice-pw ~pub:*\nuser root on >root-pw allkeys\nuser gone off >gone-pw ~*\n');
    server = await startServer(packRecords(records), ['--aclfile', file]);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('lets a user GET only keys of its patterns: NOPERM outside them, NOT_FOUND for an absent key inside', async () => {
    const { frames, client } = await exchange(server.port, Buffer.concat([
      encodeAuth('alice', 'alice-pw'), frame(OP_GET, 'pub:1'), frame(OP_GET, 'priv:1'), frame(OP_GET, 'pub:zz'), frame(OP_GET, 'other'), frame(OP_PING, 'p'),
    ]), 6);
    expect(frames[0]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('alice') });
    expect(frames[1]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('one') });
    expect(errorCode(frames[2])).toBe(ERR_NOPERM);
    expect(frames[3].status).toBe(STATUS_NOT_FOUND);
    expect(errorCode(frames[4])).toBe(ERR_NOPERM);
    expect(frames[5]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('p') });
    client.socket.destroy();
  });

  it('lets an allkeys user read everything; a disabled user or a wrong password is WRONGPASS', async () => {
    const root = await connect({ port: server.port, user: 'root', password: 'root-pw' });
    expect((await root.get('priv:1'))?.toString()).toBe('hidden');
    await root.close();
    await expect(connect({ port: server.port, user: 'gone', password: 'gone-pw' })).rejects.toMatchObject({ codeName: 'WRONGPASS' });
    await expect(connect({ port: server.port, user: 'alice', password: 'root-pw' })).rejects.toMatchObject({ codeName: 'WRONGPASS' });
    await expect(connect({ port: server.port, user: 'nobody', password: 'x' })).rejects.toMatchObject({ codeName: 'WRONGPASS' });
  });

  it('the library as alice: patterns apply through it too', async () => {
    const alice = await connect({ port: server.port, user: 'alice', password: 'alice-pw' });
    expect((await alice.get('pub:2'))?.toString()).toBe('two');
    await expect(alice.get('priv:1')).rejects.toMatchObject({ codeName: 'NOPERM' });
    await alice.close();
  });
});

describe('a server with no password', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(packRecords(records));
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('serves without AUTH, and accepts any AUTH as default (passwordless), as Redis\'s nopass user', async () => {
    const { frames, client } = await exchange(server.port, Buffer.concat([frame(OP_GET, 'priv:1'), encodeAuth(null, 'anything'), frame(OP_GET, 'pub:1')]), 3);
    expect(frames[0]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('hidden') });
    expect(frames[1]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('default') });
    expect(frames[2]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('one') });
    client.socket.destroy();
  });
});
