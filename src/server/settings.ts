// What bin/server's flags decide about the transport, in one plain object that can
// cross to worker threads, and the one function that turns it into a RokvServer.

import type { AuthSettings } from '../auth/users.ts';
import { respCodec, respCodecFor } from '../protocol/resp/session.ts';
import { ERR_DENIED } from '../protocol/rokv/constants.ts';
import { encodeError } from '../protocol/rokv/frames.ts';
import { rokvCodec, rokvCodecFor } from '../protocol/rokv/session.ts';
import type { Service } from '../service/service.ts';
import { DENIED, protectedModeApplies } from './protected-mode.ts';
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
  /** --protected-mode (Redis's protected-mode): refuse clients not on loopback while no password is set. */
  protectedMode: boolean;
}

const RESP_DENIAL = Buffer.from(`-${DENIED}\r\n`, 'latin1');
const ROKV_DENIAL = encodeError(ERR_DENIED, DENIED);

/** The endpoints in a fixed order: binary first, then RESP when on. */
export function endpoints(settings: ServeSettings): Endpoint[] {
  const list: Endpoint[] = [{ port: settings.port, codec: settings.auth === undefined ? rokvCodec : rokvCodecFor(settings.auth), denial: ROKV_DENIAL }];
  if (settings.respPort !== null) list.push({ port: settings.respPort, codec: settings.auth === undefined ? respCodec : respCodecFor(settings.auth), denial: RESP_DENIAL });
  return list;
}

/** Whether the default user needs no password (Redis's nopass flag): protected mode looks at it. */
function defaultNopass(auth: AuthSettings | undefined): boolean {
  return auth === undefined || (auth.users.find((u) => u.name === 'default')?.nopass ?? true);
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
    protectedMode: protectedModeApplies(settings.protectedMode, defaultNopass(settings.auth), settings.host),
    reusePort: settings.loops > 1,
    loop,
    loops: settings.loops,
  });
}
