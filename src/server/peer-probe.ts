// The peer probe of a slots-placement server (main thread only): one connection to
// each other server's RESP port, a CLUSTER MYID on it every PROBE_INTERVAL_MS. A peer is
// live while it answers with the node id the cluster map gives that server (so another
// rokv, a plain Redis, or a server of another map on that port does not pass for it);
// dead from the moment its connection fails, a question goes unanswered for
// PROBE_TIMEOUT_MS, or it answers as anything else. The flags live in shared memory that
// every event loop's SlotRouter reads, so CLUSTER SLOTS and MOVED list live servers first.
// With --tls-cluster the probe speaks TLS (the map's ports are TLS RESP ports), checking
// the peer's certificate against the CA and presenting this server's own.

import net from 'node:net';
import tls from 'node:tls';
import type { NodeAddress } from '../addresses.ts';
import { nodeId } from '../cluster/slot-router.ts';

export const PROBE_INTERVAL_MS = 250;
/**
 * A question unanswered this long marks a peer down. A killed or closed peer is seen at
 * once (its connection fails); this is for a peer that hangs. 2 s marked live peers down
 * on a loaded 2-core machine (six servers and a test suite); Redis's cluster-node-timeout is 15 s.
 */
export const PROBE_TIMEOUT_MS = 5000;
const MYID = Buffer.from('*2\r\n$7\r\nCLUSTER\r\n$4\r\nMYID\r\n');
/** Longer answers are not a node id: whatever sends them is not a peer. */
const MAX_ANSWER_BYTES = 512;

/** One RESP2 answer: its type byte, its text (a bulk string's bytes; null for a null bulk), its length in bytes. */
interface Answer {
  type: string;
  text: string | null;
  length: number;
}

/** The first answer in `bytes`: null while incomplete, 'bad' if it is not an answer a peer gives. */
export function firstAnswer(bytes: Buffer): Answer | null | 'bad' {
  if (bytes.length === 0) return null;
  const type = String.fromCharCode(bytes[0]);
  const eol = bytes.indexOf('\r\n');
  if (eol < 0) return bytes.length > MAX_ANSWER_BYTES ? 'bad' : null;
  const line = bytes.toString('latin1', 1, eol);
  if (type === '+' || type === '-' || type === ':') return { type, text: line, length: eol + 2 };
  if (type !== '$' || !/^(-1|0|[1-9]\d{0,3})$/.test(line) || Number(line) > MAX_ANSWER_BYTES) return 'bad';
  const size = Number(line);
  if (size < 0) return { type, text: null, length: eol + 2 };
  const end = eol + 2 + size;
  if (bytes.length < end + 2) return null;
  if (bytes[end] !== 0x0d || bytes[end + 1] !== 0x0a) return 'bad';
  return { type, text: bytes.toString('latin1', eol + 2, end), length: end + 2 };
}

/** How an answer that is not the expected id reads in a log line. */
function shown(answer: Answer): string {
  const text = answer.text === null ? '(nil)' : answer.type === '$' ? answer.text : `${answer.type}${answer.text}`;
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

interface Peer {
  address: NodeAddress;
  socket: net.Socket | null;
  /** When the oldest unanswered question was sent (0: none). */
  waitingSince: number;
  pending: number;
  /** Bytes of an answer not yet complete. */
  input: Buffer;
  /** 'presumed' (not reached yet), 'live', 'down', or why it is not this server. */
  state: string;
  /** It answered once (as itself or not): from then on its changes are reported. */
  seen: boolean;
}

export class PeerProbe {
  private readonly peers: (Peer | null)[];
  private readonly live: Uint8Array;
  private readonly cluster: () => string;
  private readonly onChange: (node: number, live: boolean, why: string | null) => void;
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  /** --tls-cluster: how to connect to peers over TLS; null: clear TCP. */
  private tls: tls.ConnectionOptions | null = null;
  /** The node ids of the map `idsOf` names. */
  private ids: string[] = [];
  private idsOf = '';

  /**
   * `live` (one flag per node, shared) starts all 1: a peer is presumed live until it
   * fails. `cluster()` is the id of the map served now: node i must answer the id the
   * map gives it. `onChange` hears of each change (why: set when the peer answered as
   * another server), but not of a peer first reached, nor of one never reached.
   */
  constructor(nodes: NodeAddress[], self: number, live: Uint8Array, cluster: () => string, onChange: (node: number, live: boolean, why: string | null) => void = () => {}) {
    this.live = live;
    this.cluster = cluster;
    this.onChange = onChange;
    this.peers = nodes.map((address, i) => (i === self ? null : { address, socket: null, waitingSince: 0, pending: 0, input: Buffer.alloc(0), state: 'presumed', seen: false }));
    live.fill(1);
  }

  /** Speak TLS to peers with these options (new connections take new options: certificate rotation). */
  useTls(options: tls.ConnectionOptions): void {
    this.tls = options;
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

  private expectedId(node: number): string {
    const cluster = this.cluster();
    if (cluster !== this.idsOf) {
      this.idsOf = cluster;
      this.ids = this.peers.map((_, i) => nodeId(cluster, i));
    }
    return this.ids[node];
  }

  /**
   * Records what the peer is now: live; not live because it answered as another server
   * (`why`); or not live (`why` null: no connection, or no answer), which changes nothing
   * for a peer already known not to be this server.
   */
  private judge(node: number, peer: Peer, live: boolean, why: string | null): void {
    this.live[node] = live ? 1 : 0;
    let next: string;
    if (live) next = 'live';
    else if (why !== null) next = why;
    else if (peer.state === 'live' || peer.state === 'presumed') next = 'down';
    else return;
    if (next === peer.state) return;
    // Peers coming up at start (servers of a cluster start in any order) are not news;
    // one answering as another server is, at once.
    const news = peer.seen || why !== null;
    if (live || why !== null) peer.seen = true;
    peer.state = next;
    if (news) this.onChange(node, live, why);
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
        this.judge(node, peer, false, null);
        peer.socket.destroy();
        return;
      }
      if (peer.socket.connecting) return;
      if (peer.pending === 0) peer.waitingSince = now;
      peer.pending++;
      peer.socket.write(MYID);
    });
  }

  private open(peer: Peer, node: number): void {
    const where = { host: peer.address.host, port: peer.address.port };
    const socket = this.tls === null ? net.connect(where) : tls.connect({ ...this.tls, ...where, servername: net.isIP(where.host) ? undefined : where.host });
    peer.socket = socket;
    peer.waitingSince = performance.now();
    peer.pending = 0;
    peer.input = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      peer.input = peer.input.length === 0 ? chunk : Buffer.concat([peer.input, chunk]);
      for (;;) {
        const answer = firstAnswer(peer.input);
        if (answer === null) return;
        if (answer === 'bad') {
          this.judge(node, peer, false, 'its answer to CLUSTER MYID is not a Redis reply');
          socket.destroy();
          return;
        }
        peer.input = peer.input.subarray(answer.length);
        peer.pending = Math.max(0, peer.pending - 1);
        peer.waitingSince = peer.pending > 0 ? performance.now() : 0;
        const expected = this.expectedId(node);
        if (answer.type === '$' && answer.text === expected) this.judge(node, peer, true, null);
        // A peer with a password refuses CLUSTER MYID before AUTH (the probe knows no password): it is up, its id unchecked.
        else if (answer.type === '-' && answer.text?.startsWith('NOAUTH ')) this.judge(node, peer, true, null);
        else this.judge(node, peer, false, `CLUSTER MYID answers ${shown(answer)}, not ${expected}, the id cluster ${this.idsOf} gives this server`);
      }
    });
    socket.on('error', () => this.judge(node, peer, false, null));
    socket.on('close', () => {
      this.judge(node, peer, false, null);
      if (peer.socket === socket) peer.socket = null;
    });
  }
}
