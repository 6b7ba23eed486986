// The package's library entry: the client, the loader and the writer.

export { connect, RokvConnection, RokvError, type ConnectOptions } from './client/connection.ts';
export { DataFile } from './format/data-file.ts';
export { loadDataFile } from './format/load.ts';
export { PackWriter } from './format/writer.ts';
export * from './protocol/rokv/constants.ts';
export { ClusterClient, parseServers, type ServerAddress } from './cluster/cluster-client.ts';
export { readClusterMap, type ClusterMap } from './cluster/map.ts';
export { Ring } from './cluster/ring.ts';
