// The cluster client library: routes each GET to a server of a shard that holds the
// key (ketama: the owner, then the shards twemproxy falls back to; slots: the slot's
// shard, primary first), and when that server is unreachable, busy (BUSY), silent
// past the timeout or its connection drops, to the next; counts failovers. Refuses
// servers that serve another map or shard, and a server that refuses the credentials
// (or asks for some). Speaks rokv's binary protocol.

import type { NodeAddress } from '../addresses.ts';
import { type ClusterMap, type Placement, placementOf, serverCount, serversOf, shardOfServer } from '../cluster/map.ts';
import { InputError } from '../errors.ts';
import { ERR_BUSY } from '../protocol/rokv/constants.ts';
import { allOrRelease } from './all-or-release.ts';
import { type ConnectOptions, RokvConnection, RokvError, connect, keyBytes } from './connection.ts';

export class ClusterClient {
  readonly map: ClusterMap;
  private readonly placement: Placement;
  /** Connection to each server (in map.nodes order), null once it is down. */
  private readonly connections: (RokvConnection | null)[];
  failovers = 0;

  private constructor(map: ClusterMap, connections: (RokvConnection | null)[]) {
    this.map = map;
    this.placement = placementOf(map);
    this.connections = connections;
  }

  /**
   * Connects to every server: the binary-protocol address of each server of the map,
   * in the map's server order (ketama: shard i; slots: shard i's primary, then its
   * replicas), authenticated with `options.user`/`options.password` when given.
   * Unreachable or busy ones start down; one that answers with any other error (a
   * refused password, NOAUTH when none was given) is a failure of the whole connect.
   */
  static async connect(map: ClusterMap, servers: NodeAddress[], options: Pick<ConnectOptions, 'connectTimeoutMs' | 'timeoutMs' | 'user' | 'password'> = {}): Promise<ClusterClient> {
    const wanted = serverCount(map);
    if (servers.length !== wanted) {
      throw new InputError(`cluster ${map.id} has ${wanted} servers (${map.shards.length} shards${map.placement === 'slots' ? ` × ${map.replicas}` : ''}) but ${servers.length} were given`);
    }
    const connections = await allOrRelease(servers.map(async (address, index) => {
      const shard = shardOfServer(map, index);
      let connection: RokvConnection | null = null;
      let info: Record<string, unknown>;
      try {
        connection = await connect({ ...address, ...options });
        info = await connection.info();
      } catch (error) {
        connection?.destroy();
        if (error instanceof RokvError && error.code !== ERR_BUSY) throw new InputError(`${address.host}:${address.port}: ${error.message}`);
        return null; // unreachable, busy or silent: down, its replicas serve
      }
      if (info.cluster !== map.id || info.shard !== shard) {
        connection.destroy();
        throw new InputError(`${address.host}:${address.port} serves ${info.cluster === undefined ? 'no cluster shard' : `shard ${info.shard} of cluster ${info.cluster}`}, expected shard ${shard} of cluster ${map.id}`);
      }
      return connection;
    }), (connection) => connection?.destroy()); // the first wrong server in order is reported, whichever answered first
    if (connections.every((c) => c === null)) throw new InputError('no server of the cluster is reachable');
    return new ClusterClient(map, connections);
  }

  /** Servers still up. */
  get up(): number {
    return this.connections.filter((c) => c !== null).length;
  }

  async get(key: Buffer | string): Promise<Buffer | null> {
    // Checked before routing: a bad key (TypeError, RangeError) is the caller's, not a dead server's.
    const bytes = keyBytes(key);
    const candidates = this.placement.shardsOf(bytes).flatMap((shard) => serversOf(this.map, shard));
    for (let i = 0; i < candidates.length; i++) {
      const connection = this.connections[candidates[i]];
      if (connection === null) continue;
      try {
        const value = await connection.get(bytes);
        if (i > 0) this.failovers++;
        return value;
      } catch (error) {
        if (error instanceof RokvError && error.code !== ERR_BUSY) throw error;
        connection.destroy();
        this.connections[candidates[i]] = null; // lost or busy: later keys go straight to the next server
      }
    }
    throw new Error(`no server holding the key is reachable (servers ${candidates.join(', ')} are down)`);
  }

  close(): Promise<void> {
    return Promise.all(this.connections.map((c) => c?.close())).then(() => undefined);
  }
}
