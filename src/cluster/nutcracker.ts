// nutcracker.yml for a ketama cluster: one twemproxy pool whose servers are the shards'
// RESP addresses under the names the ring hashes ("shard-<i>"), so twemproxy places
// every key where bin/shard put it, and after ejecting a dead server where its replica is.

import { ketamaServerName } from './ketama.ts';
import { type NodeAddress, formatAddress } from '../addresses.ts';

/** Failures before twemproxy ejects a server: at once, so reads move to the replica. */
export const SERVER_FAILURE_LIMIT = 1;
/**
 * How long an ejected server stays out (ms). Each retry of a server that is still dead
 * fails the requests sent to it, so retries are rare: 5 minutes.
 */
export const SERVER_RETRY_TIMEOUT_MS = 300_000;
/** A request a server does not answer in this long fails (ms): a hung server cannot stall reads forever. */
export const REQUEST_TIMEOUT_MS = 1000;

export function nutcrackerConfig(pool: string, listen: NodeAddress, nodes: NodeAddress[]): string {
  return [
    `# twemproxy (nutcracker) pool for rokv cluster ${pool}: written by bin/shard --ketama.`,
    '# Start with: nutcracker -c nutcracker.yml. Check with: nutcracker -t -c nutcracker.yml',
    `rokv-${pool}:`,
    `  listen: ${formatAddress(listen)}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  redis: true',
    '  auto_eject_hosts: true',
    `  server_failure_limit: ${SERVER_FAILURE_LIMIT}`,
    `  server_retry_timeout: ${SERVER_RETRY_TIMEOUT_MS}`,
    `  timeout: ${REQUEST_TIMEOUT_MS}`,
    '  servers:',
    ...nodes.map((node, i) => `    - ${formatAddress(node)}:1 ${ketamaServerName(i)}`),
    '',
  ].join('\n');
}
