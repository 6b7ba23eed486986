// The peer probe of a slots-placement server (main thread only): one connection to
// each other server's RESP port, a PING on it every PROBE_INTERVAL_MS; a peer is live
// while it answers, dead from the moment its connection fails or a PING goes
// unanswered for PROBE_TIMEOUT_MS. The flags live in shared memory that every event
// loop's SlotRouter reads, so CLUSTER SLOTS and MOVED list live servers first.

import net from 'node:net';
import type { NodeAddress } from '../addresses.ts';

export const PROBE_INTERVAL_MS = 250;
export const PROBE_TIMEOUT_MS = 2000;
const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');
const PONG = Buffer.from('+PONG\r\n');

interface Peer {
  address: NodeAddress;
  socket: net.Socket | null;
  /** When the oldest unanswered PING was sent (0: none). */
  waitingSince: number;
  pending: number;
  /** Bytes of a reply not yet complete. */
  partial: number;
}

export class PeerProbe {
  private readonly peers: (Peer | null)[];
  private readonly live: Uint8Array;
  private readonly onChange: (node: number, live: boolean) => void;
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  /** 1 once a peer answered: from then on its changes are reported. */
  private readonly seen: Uint8Array;

  /** `live` (one flag per node, shared) starts all 1: a peer is presumed live until it fails. */
  constructor(nodes: NodeAddress[], self: number, live: Uint8Array, onChange: (node: number, live: boolean) => void = () => {}) {
    this.live = live;
    this.onChange = onChange;
    this.peers = nodes.map((address, i) => (i === self ? null : { address, socket: null, waitingSince: 0, pending: 0, partial: 0 }));
    live.fill(1);
    this.seen = new Uint8Array(nodes.length);
  }

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), PROBE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const peer of this.peers) peer?.socket?.destroy();
  }

  private mark(node: number, live: boolean): void {
    const flag = live ? 1 : 0;
    if (this.live[node] === flag) return;
    this.live[node] = flag;
    // Peers coming up at start (servers of a cluster start in any order) are not news.
    const wasSeen = this.seen[node] === 1;
    if (live) this.seen[node] = 1;
    if (wasSeen) this.onChange(node, live);
  }

  private tick(): void {
    const now = performance.now();
    // This loop itself stalled: answers may be waiting unread behind this timer, so
    // peers are not judged on time this round.
    const stalled = this.lastTick > 0 && now - this.lastTick > 2 * PROBE_INTERVAL_MS;
    this.lastTick = now;
    this.peers.forEach((peer, node) => {
      if (peer === null) return;
      if (stalled && peer.waitingSince > 0) peer.waitingSince = now;
      if (peer.socket === null) return this.open(peer, node);
      if (peer.waitingSince > 0 && now - peer.waitingSince > PROBE_TIMEOUT_MS) {
        this.mark(node, false);
        peer.socket.destroy();
        return;
      }
      if (peer.socket.connecting) return;
      if (peer.pending === 0) peer.waitingSince = now;
      peer.pending++;
      peer.socket.write(PING);
    });
  }

  private open(peer: Peer, node: number): void {
    const socket = net.connect({ host: peer.address.host, port: peer.address.port });
    peer.socket = socket;
    peer.waitingSince = performance.now();
    peer.pending = 0;
    peer.partial = 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // Count whole "+PONG\r\n" replies; anything else means this is not a rokv/Redis peer.
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== PONG[peer.partial]) {
          this.mark(node, false);
          socket.destroy();
          return;
        }
        if (++peer.partial === PONG.length) {
          peer.partial = 0;
          peer.pending = Math.max(0, peer.pending - 1);
          peer.waitingSince = peer.pending > 0 ? performance.now() : 0;
          this.mark(node, true);
        }
      }
    });
    socket.on('error', () => this.mark(node, false));
    socket.on('close', () => {
      this.mark(node, false);
      if (peer.socket === socket) peer.socket = null;
    });
  }
}
