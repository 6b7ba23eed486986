// Redis 7's protected mode: a server with no password for its `default` user that
// listens on an address other than loopback answers clients that connect from
// elsewhere with Redis's DENIED text (adapted to rokv's flags), then closes.

import net from 'node:net';

/** Redis 7.0.15's text (networking.c), solutions 1 and 2 (CONFIG SET, redis.conf) told as rokv's flags. */
export const DENIED =
  "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. " +
  'In this mode connections are only accepted from the loopback interface. If you want to connect from external computers ' +
  "to Redis you may adopt one of the following solutions: 1) Just disable protected mode by restarting the server with the '--protected-mode no' option, " +
  'however MAKE SURE Redis is not publicly accessible from internet if you do so. ' +
  '2) Setup a an authentication password for the default user (--requirepass, --requirepass-file, ROKV_REQUIREPASS or --aclfile). ' +
  'NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.';

/** Loopback networks; BlockList matches IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) against the IPv4 rule. */
const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether a peer or listening address is this host's loopback: 127.0.0.0/8, ::1,
 * ::ffff:127.x.y.z, `localhost`; undefined (a Unix socket's peer) counts as local.
 */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined || address === '' || address.toLowerCase() === 'localhost') return true;
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null;
  return family !== null && LOOPBACK.check(address, family);
}

/**
 * Whether protected mode applies to a server: on (--protected-mode yes), the default
 * user needs no password (Redis checks its nopass flag), and `host` is not loopback.
 */
export function protectedModeApplies(enabled: boolean, defaultNopass: boolean, host: string): boolean {
  return enabled && defaultNopass && !isLoopback(host);
}
