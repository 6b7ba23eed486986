// The peer probe of slots clusters: a peer that answers PING is live, one that accepts
// connections but never answers is dead after the probe timeout, one that refuses
// connections is dead at once; a peer that comes back is live again.

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { PROBE_TIMEOUT_MS, PeerProbe } from '../src/server/peer-probe.ts';

function listen(onSocket: (socket: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer(onSocket);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('peer probe', () => {
  it('answering peers are live; silent ones die after the timeout; refusing ones at once; the dead come back', async () => {
    const answering = await listen((s) => s.on('data', (d) => s.write('+PONG\r\n'.repeat(d.toString().split('PING').length - 1))));
    const silent = await listen(() => {});
    const closed = await listen(() => {});
    const closedPort = portOf(closed);
    await new Promise((r) => closed.close(r));
    const nodes = [0, portOf(answering), portOf(silent), closedPort].map((port) => ({ host: '127.0.0.1', port }));
    const live = new Uint8Array(4);
    const changes: string[] = [];
    const probe = new PeerProbe(nodes, 0, live, (node, up) => changes.push(`${node} ${up ? 'up' : 'down'}`));
    probe.start();
    try {
      await sleep(500);
      expect([live[1], live[3]]).toEqual([1, 0]);
      expect(live[2]).toBe(1); // not yet: its PINGs have waited less than the timeout
      await sleep(PROBE_TIMEOUT_MS + 500);
      expect(Array.from(live)).toEqual([1, 1, 0, 0]);
      // The refusing peer starts answering on its port: live again within a few probes.
      const back = net.createServer((s) => s.on('data', () => s.write('+PONG\r\n')));
      await new Promise<void>((r) => back.listen(closedPort, '127.0.0.1', () => r()));
      await sleep(800);
      expect(live[3]).toBe(1);
      back.close();
    } finally {
      probe.stop();
      answering.close();
      silent.close();
    }
    expect(changes, 'peers first reached (or never) are not news').toEqual([]);
  }, 15_000);
});
