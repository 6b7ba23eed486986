// The cluster client library: routes each GET to the shard that owns the key on the
// ring, and when that server is unreachable, busy (BUSY), silent past the timeout or
// its connection drops, to the next replica; counts failovers. Refuses servers that
// serve another map or shard.

import { type ConnectOptions, RokvConnection, RokvError, connect } from '../client/connection.ts';
import { ERR_BUSY } from '../protocol/rokv/constants.ts';
import { InputError } from '../errors.ts';
import { type ClusterMap, ringOf } from './map.ts';
import type { Ring } from './ring.ts';

export interface ServerAddress {
  host: string;
  port: number;
}

export function parseServers(text: string): ServerAddress[] {
  return text.split(',').map((part) => {
    const match = /^(.*):(\d+)$/.exec(part.trim());
    if (!match || Number(match[2]) > 65_535) throw new InputError(`"${part}" is not host:port`);
    return { host: match[1].replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(match[2]) };
  });
}

export class ClusterClient {
  readonly map: ClusterMap;
  private readonly ring: Ring;
  /** Connection to each shard's server, null once it is down. */
  private readonly connections: (RokvConnection | null)[];
  failovers = 0;

  private constructor(map: ClusterMap, connections: (RokvConnection | null)[]) {
    this.map = map;
    this.ring = ringOf(map);
    this.connections = connections;
  }

  /** Connects to every server (servers[i] serves shard i); unreachable ones start down. */
  static async connect(map: ClusterMap, servers: ServerAddress[], timeouts: Pick<ConnectOptions, 'connectTimeoutMs' | 'timeoutMs'> = {}): Promise<ClusterClient> {
    if (servers.length !== map.shards.length) {
      throw new InputError(`cluster ${map.id} has ${map.shards.length} shards but ${servers.length} servers were given`);
    }
    const attempts = await Promise.allSettled(servers.map(async (address, shard) => {
      let connection: RokvConnection;
      let info: Record<string, unknown>;
      try {
        connection = await connect({ ...address, ...timeouts });
        info = await connection.info();
      } catch {
        return null; // unreachable, busy or silent: down, its replicas serve
      }
      if (info.cluster !== map.id || info.shard !== shard) {
        connection.destroy();
        throw new InputError(`${address.host}:${address.port} serves ${info.cluster === undefined ? 'no cluster shard' : `shard ${info.shard} of cluster ${info.cluster}`}, expected shard ${shard} of cluster ${map.id}`);
      }
      return connection;
    }));
    // Report the first wrong server in shard order, whichever answered first.
    const refused = attempts.find((a) => a.status === 'rejected');
    if (refused) {
      for (const a of attempts) if (a.status === 'fulfilled') a.value?.destroy();
      throw refused.reason;
    }
    const connections = attempts.map((a) => (a as PromiseFulfilledResult<RokvConnection | null>).value);
    if (connections.every((c) => c === null)) throw new InputError('no server of the cluster is reachable');
    return new ClusterClient(map, connections);
  }

  /** Servers still up. */
  get up(): number {
    return this.connections.filter((c) => c !== null).length;
  }

  async get(key: Buffer | string): Promise<Buffer | null> {
    const bytes = typeof key === 'string' ? Buffer.from(key) : key;
    const replicas = this.ring.replicasOf(bytes, this.map.replicas);
    for (let i = 0; i < replicas.length; i++) {
      const connection = this.connections[replicas[i]];
      if (connection === null) continue;
      try {
        const value = await connection.get(bytes);
        if (i > 0) this.failovers++;
        return value;
      } catch (error) {
        if (error instanceof RokvError && error.code !== ERR_BUSY) throw error;
        connection.destroy();
        this.connections[replicas[i]] = null; // lost or busy: later keys go straight to the next replica
      }
    }
    throw new Error(`no replica of the key is reachable (shards ${replicas.join(', ')} are down)`);
  }

  close(): Promise<void> {
    return Promise.all(this.connections.map((c) => c?.close())).then(() => undefined);
  }
}
