// What bin/server's flags decide about the transport, in one plain object that can
// cross to worker threads, and the one function that turns it into a RokvServer.

import type { AuthSettings } from '../auth/users.ts';
import type { Codec } from '../protocol/codec.ts';
import { respCodec, respCodecFor } from '../protocol/resp/session.ts';
import { rokvCodec } from '../protocol/rokv/session.ts';
import type { Service } from '../service/service.ts';
import { type Endpoint, RokvServer } from './server.ts';

export interface ServeSettings {
  host: string;
  /** The binary protocol's port (0 = any free port). */
  port: number;
  /** RESP's port; null = RESP off. */
  respPort: number | null;
  maxConnections: number;
  idleTimeoutMs: number;
  maxUnsentBytes: number;
  maxPartialBytes: number;
  /** At shutdown, connections still open this long after the signal are destroyed. */
  shutdownGraceMs: number;
  /** Event loops in the process. */
  loops: number;
  /** Who may read (--requirepass, --aclfile); absent: Redis's passwordless `default` user. */
  auth?: AuthSettings;
}

/** The endpoints in a fixed order: binary first, then RESP when on. */
export function endpoints(settings: ServeSettings): Endpoint[] {
  const list: { port: number; codec: Codec }[] = [{ port: settings.port, codec: rokvCodec }];
  if (settings.respPort !== null) list.push({ port: settings.respPort, codec: settings.auth === undefined ? respCodec : respCodecFor(settings.auth) });
  return list;
}

export function transportFor(service: Service, settings: ServeSettings, loop: number): RokvServer {
  return new RokvServer(service, {
    host: settings.host,
    endpoints: endpoints(settings),
    maxConnections: settings.maxConnections,
    idleTimeoutMs: settings.idleTimeoutMs,
    maxUnsentBytes: settings.maxUnsentBytes,
    maxPartialBytes: settings.maxPartialBytes,
    shutdownGraceMs: settings.shutdownGraceMs,
    reusePort: settings.loops > 1,
    loop,
    loops: settings.loops,
  });
}
