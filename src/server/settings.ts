// What bin/server's flags decide about the transport, in one plain object that can
// cross to worker threads, and the one function that turns it into a RokvServer.

import { formatAddress } from '../addresses.ts';
import type { AuthSettings } from '../auth/users.ts';
import { respCodec, respCodecFor } from '../protocol/resp/session.ts';
import { ERR_DENIED } from '../protocol/rokv/constants.ts';
import { encodeError } from '../protocol/rokv/frames.ts';
import { rokvCodec, rokvCodecFor } from '../protocol/rokv/session.ts';
import type { Service } from '../service/service.ts';
import { DENIED, protectedModeApplies } from './protected-mode.ts';
import { type Endpoint, RokvServer } from './server.ts';
import type { TlsSettings } from './tls.ts';

export interface ServeSettings {
  host: string;
  /** The binary protocol's port (0 = any free port); null = off (--port 0 beside a TLS port, as Redis's). */
  port: number | null;
  /** RESP's port; null = RESP off. */
  respPort: number | null;
  /** The binary protocol and RESP over TLS (--tls-port, --tls-resp-port); null = off. */
  tlsPort: number | null;
  tlsRespPort: number | null;
  /** The TLS flags and certificate files, when a TLS port is on. */
  tls: TlsSettings | null;
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

/** The ports of the settings, in endpoint order (binary, RESP, binary over TLS, RESP over TLS), null where off. */
function portList(settings: ServeSettings): (number | null)[] {
  return [settings.port, settings.respPort, settings.tlsPort, settings.tlsRespPort];
}

/** The endpoints that are on, in a fixed order: binary, RESP, binary over TLS, RESP over TLS. */
export function endpoints(settings: ServeSettings): Endpoint[] {
  const rokv = settings.auth === undefined ? rokvCodec : rokvCodecFor(settings.auth);
  const resp = settings.auth === undefined ? respCodec : respCodecFor(settings.auth);
  const list: Endpoint[] = [];
  portList(settings).forEach((port, i) => {
    if (port !== null) list.push({ port, codec: i % 2 === 0 ? rokv : resp, denial: i % 2 === 0 ? ROKV_DENIAL : RESP_DENIAL, tls: i >= 2 ? settings.tls : null });
  });
  return list;
}

/** The settings with the ports the first event loop bound (`ports` in endpoint order): the other loops join them. */
export function withPorts(settings: ServeSettings, ports: number[]): ServeSettings {
  const bound = [...ports];
  const [port, respPort, tlsPort, tlsRespPort] = portList(settings).map((p) => (p === null ? null : bound.shift() as number));
  return { ...settings, port, respPort, tlsPort, tlsRespPort };
}

/** Where the server listens, for its startup line: `H:P[ and tls://H:T][, RESP on H:R[ and tls://H:S]]`. */
export function listeningOn(settings: ServeSettings): string {
  const at = (port: number | null, scheme: string) => (port === null ? [] : [`${scheme}${formatAddress({ host: settings.host, port })}`]);
  const binary = [...at(settings.port, ''), ...at(settings.tlsPort, 'tls://')].join(' and ');
  const resp = [...at(settings.respPort, ''), ...at(settings.tlsRespPort, 'tls://')].join(' and ');
  return `${binary || 'no binary port'}${resp === '' ? '' : `, RESP on ${resp}`}`;
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
