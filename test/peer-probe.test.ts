// The peer probe of slots clusters: a peer that answers CLUSTER MYID with the id the map
// gives it is live, one that accepts connections but never answers is dead after the
// probe timeout, one that refuses connections is dead at once; a peer that comes back is
// live again. One that answers as anything else (+PONG, an error, another node's id,
// another map's, bytes that are not RESP) is not live, logged once.

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { nodeId } from '../src/cluster/slot-router.ts';
import { PROBE_TIMEOUT_MS, PeerProbe, firstAnswer } from '../src/server/peer-probe.ts';

const CLUSTER = 'c0ffee';
const bulk = (text: string) => `$${text.length}\r\n${text}\r\n`;
/** A fake peer answering each CLUSTER MYID it is asked with `answer`. */
const answers = (answer: string) => (s: net.Socket) => s.on('data', (d) => s.write(answer.repeat(d.toString().split('MYID').length - 1)));

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
    const answering = await listen(answers(bulk(nodeId(CLUSTER, 1))));
    const silent = await listen(() => {});
    const closed = await listen(() => {});
    const closedPort = portOf(closed);
    await new Promise((r) => closed.close(r));
    const nodes = [0, portOf(answering), portOf(silent), closedPort].map((port) => ({ host: '127.0.0.1', port }));
    const live = new Uint8Array(4);
    const changes: string[] = [];
    const probe = new PeerProbe(nodes, 0, live, () => CLUSTER, (node, up) => changes.push(`${node} ${up ? 'up' : 'down'}`));
    probe.start();
    try {
      await sleep(500);
      expect([live[1], live[3]]).toEqual([1, 0]);
      expect(live[2]).toBe(1); // not yet: its PINGs have waited less than the timeout
      await sleep(PROBE_TIMEOUT_MS + 500);
      expect(Array.from(live)).toEqual([1, 1, 0, 0]);
      // The refusing peer starts answering on its port: live again within a few probes.
      const back = net.createServer(answers(bulk(nodeId(CLUSTER, 3))));
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

  it('peers answering as another server are not live, each logged once; the ids follow the map served', async () => {
    const fakes = await Promise.all([
      answers(bulk(nodeId(CLUSTER, 1))), // node 1: right
      answers('+PONG\r\n'), // node 2: anything that answers +PONG
      answers('-ERR This instance has cluster support disabled\r\n'), // node 3: a plain Redis, a rokv without slots
      answers(bulk(nodeId(CLUSTER, 1))), // node 4: another server of this cluster
      answers(bulk(nodeId('other-map', 5))), // node 5: this place in another map
      (s: net.Socket) => s.on('data', () => s.write('HTTP/1.1 400 Bad Request\r\n\r\n')), // node 6: not RESP
    ].map((onSocket) => listen(onSocket)));
    const nodes = [{ host: '127.0.0.1', port: 1 }, ...fakes.map((f) => ({ host: '127.0.0.1', port: portOf(f) }))];
    const live = new Uint8Array(nodes.length);
    let cluster = CLUSTER;
    const changes: string[] = [];
    const probe = new PeerProbe(nodes, 0, live, () => cluster, (node, up, why) => changes.push(`${node} ${up ? 'up' : 'down'}: ${why}`));
    probe.start();
    try {
      await sleep(1200); // several probes each
      expect(Array.from(live)).toEqual([1, 1, 0, 0, 0, 0, 0]);
      expect(changes).toHaveLength(5);
      expect(changes.find((c) => c.startsWith('2 '))).toMatch(/^2 down: CLUSTER MYID answers "\+PONG", not [0-9a-f]{40}, the id cluster c0ffee gives this server$/);
      expect(changes.find((c) => c.startsWith('3 '))).toMatch(/answers "-ERR This instance has cluster support disabled"/);
      expect(changes.find((c) => c.startsWith('4 '))).toContain(`answers "${nodeId(CLUSTER, 1)}", not ${nodeId(CLUSTER, 4)}`);
      expect(changes.find((c) => c.startsWith('5 '))).toContain(`answers "${nodeId('other-map', 5)}", not ${nodeId(CLUSTER, 5)}`);
      expect(changes.find((c) => c.startsWith('6 '))).toBe('6 down: its answer to CLUSTER MYID is not a Redis reply');
      // A reload brought another map: node 5 is that map's server, node 1 no longer is.
      changes.length = 0;
      cluster = 'other-map';
      await sleep(600);
      expect([live[1], live[5]]).toEqual([0, 1]);
      expect(changes.filter((c) => /^[15] /.test(c)).sort()).toEqual([
        `1 down: CLUSTER MYID answers "${nodeId(CLUSTER, 1)}", not ${nodeId('other-map', 1)}, the id cluster other-map gives this server`,
        '5 up: null',
      ]);
    } finally {
      probe.stop();
      for (const f of fakes) f.close();
    }
  });

  it('reads RESP2 answers in pieces and refuses what a peer never sends', () => {
    const id = nodeId(CLUSTER, 1);
    expect(firstAnswer(Buffer.from(bulk(id)))).toEqual({ type: '$', text: id, length: 47 });
    expect(firstAnswer(Buffer.from(bulk(id).slice(0, 46)))).toBe(null);
    expect(firstAnswer(Buffer.from('$4\r\nab'))).toBe(null);
    expect(firstAnswer(Buffer.from('-ERR x\r\n+PONG\r\n'))).toEqual({ type: '-', text: 'ERR x', length: 8 });
    expect(firstAnswer(Buffer.from('$-1\r\n'))).toEqual({ type: '$', text: null, length: 5 });
    for (const bad of ['*1\r\n$1\r\na\r\n', 'HTTP/1.1 200 OK\r\n', '$4\r\nabcdXY', '$99999\r\n', '$-2\r\n', `+${'x'.repeat(600)}`]) {
      expect(firstAnswer(Buffer.from(bad)), bad.slice(0, 20)).toBe('bad');
    }
  });
});
