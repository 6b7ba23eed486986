// The package's library entry: the client, the loader and the writer.

import './node-version.ts'; // first: an older Node gets one line, not a TypeError
export { connect, RokvConnection, RokvError, type ConnectOptions } from './client/connection.ts';
export { DataFile } from './format/data-file.ts';
export { loadDataFile } from './format/load.ts';
export { PackWriter } from './format/writer.ts';
export * from './protocol/rokv/constants.ts';
export { ClusterClient } from './client/cluster-client.ts';
export { parseAddresses as parseServers, type NodeAddress as ServerAddress } from './addresses.ts';
export { readClusterMap, placementOf, type ClusterMap, type Placement } from './cluster/map.ts';
export { KetamaRing, fnv1a64 } from './cluster/ketama.ts';
export { keySlot, crc16 } from './cluster/slots.ts';
