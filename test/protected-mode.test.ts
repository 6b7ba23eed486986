// Protected mode, as Redis 7's: with no password for the default user and a listening
// address that is not loopback, a client that connects from elsewhere gets Redis's
// DENIED text (RESP) or a DENIED error frame (binary), then the connection closes;
// loopback clients, a password, an ACL default user with a password, or
// `--protected-mode no` let it in. The external client connects from this host's
// non-loopback address (eth0's), which the kernel routes locally.

import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERR_DENIED, OP_PING, STATUS_ERROR, STATUS_OK } from '../src/protocol/rokv/constants.ts';
import { DENIED, isLoopback, protectedModeApplies } from '../src/server/protected-mode.ts';
import { packRecords } from './helpers.ts';
import { type RunningServer, frame, parseFrames, startServer } from './server-helpers.ts';

/** An IPv4 address of this host that is not loopback, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
}

/** Connects from `from` to `to:port`, sends `bytes`, and collects all the server sends until it closes (or 3 s pass). */
function exchange(from: string, to: string, port: number, bytes: Buffer): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: to, port, localAddress: from }, () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false });
    }, 3000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (error) => (chunks.length > 0 ? undefined : reject(error)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true });
    });
  });
}

const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');
const external = externalAddress();

describe('isLoopback', () => {
  it('knows 127.0.0.0/8, ::1, IPv4-mapped 127.x, localhost and Unix sockets as loopback, nothing else', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '127.255.255.255', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:127.9.0.1', 'localhost', undefined]) {
      expect(isLoopback(a), String(a)).toBe(true);
    }
    for (const a of ['128.0.0.1', '126.255.255.255', '10.0.0.1', '192.0.2.2', '0.0.0.0', '::', '::2', 'fe80::1', '::ffff:10.0.0.1', 'example.com']) {
      expect(isLoopback(a), a).toBe(false);
    }
  });

  it('applies protected mode only when on, with a passwordless default user, on a host that is not loopback', () => {
    expect(protectedModeApplies(true, true, '0.0.0.0')).toBe(true);
    expect(protectedModeApplies(true, true, '::')).toBe(true);
    expect(protectedModeApplies(false, true, '0.0.0.0')).toBe(false);
    expect(protectedModeApplies(true, false, '0.0.0.0')).toBe(false);
    expect(protectedModeApplies(true, true, '127.0.0.1')).toBe(false);
    expect(protectedModeApplies(true, true, '::1')).toBe(false);
  });
});

describe('a server on 0.0.0.0 with no password', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(packRecords([['k', 'v']]), ['--host', '0.0.0.0', '--resp-port', '0']);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers loopback clients on both ports', async () => {
    const resp = await exchange('127.0.0.1', '127.0.0.1', server.respPort, Buffer.concat([PING, Buffer.from('*1\r\n$4\r\nQUIT\r\n')]));
    expect(resp.data.toString()).toBe('+PONG\r\n+OK\r\n');
    const binary = await exchange('127.0.0.1', '127.0.0.1', server.port, frame(OP_PING, 'x'));
    expect(parseFrames(binary.data).frames[0]).toMatchObject({ status: STATUS_OK, payload: Buffer.from('x') });
  });

  it('sends Redis\'s DENIED text to a RESP client from another address, then closes, whatever it sent', async () => {
    expect(external, 'this test needs a non-loopback IPv4 address on the host').toBeDefined();
    const { data, closed } = await exchange(external!, external!, server.respPort, PING);
    expect(data.toString()).toBe(`-${DENIED}\r\n`);
    expect(data.toString()).toMatch(/^-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user\. /);
    expect(data.toString()).toContain("'--protected-mode no'");
    expect(closed).toBe(true);
  });

  it('sends a DENIED error frame to a binary client from another address, then closes', async () => {
    const { data, closed } = await exchange(external!, external!, server.port, frame(OP_PING, 'x'));
    const { frames, rest } = parseFrames(data);
    expect(rest).toBe(0);
    expect(frames).toHaveLength(1);
    expect(frames[0].status).toBe(STATUS_ERROR);
    expect(frames[0].payload[0]).toBe(ERR_DENIED);
    expect(frames[0].payload.subarray(1).toString()).toBe(DENIED);
    expect(closed).toBe(true);
  });
});

describe('protected mode is off', () => {
  const cases: [string, string[], Buffer, string][] = [
    ['with --protected-mode no', ['--protected-mode', 'no'], PING, '+PONG\r\n'],
    ['with a password (the client must authenticate instead)', ['--requirepass', 'pw'], PING, '-NOAUTH Authentication required.\r\n'],
  ];
  for (const [name, args, request, answer] of cases) {
    it(name, async () => {
      const server = await startServer(packRecords([['k', 'v']]), ['--host', '0.0.0.0', '--resp-port', '0', ...args]);
      try {
        const { data } = await exchange(external!, external!, server.respPort, request);
        expect(data.toString().slice(0, answer.length)).toBe(answer);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });
  }

  it('when bound to loopback: the check is not made, loopback clients are served', async () => {
    const server = await startServer(packRecords([['k', 'v']]), ['--host', '127.0.0.1', '--resp-port', '0']);
    try {
      const { data } = await exchange('127.0.0.2', '127.0.0.1', server.respPort, PING);
      expect(data.toString()).toBe('+PONG\r\n');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('refuses a --protected-mode that is not yes or no', async () => {
    await expect(startServer(packRecords([['k', 'v']]), ['--protected-mode', 'maybe'])).rejects.toThrow(/--protected-mode.*"maybe" is not one of yes, no/);
  });
});
