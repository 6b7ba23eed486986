// Opening a data version for the server: the tier's verified file (storage/tiers.ts)
// and, with a cluster map, the shard check in the same pass. The first version is
// opened here on the main thread before listening; reloads in a worker thread
// (load-off-thread.ts) with the same function.

import type { NodeAddress } from '../addresses.ts';
import { ShardCheck, type ShardRole } from '../cluster/map.ts';
import type { LoadProgress } from '../format/data-file.ts';
import { type StorageTier, type VersionFile, closeVersion, openVersion, verifyOpened } from '../storage/tiers.ts';

/** What a successful load hands back: the verified version and what INFO says of the shard. */
export interface Opened {
  version: VersionFile;
  /** With a cluster map: what the server is in the cluster. */
  role: ShardRole | null;
}

export interface OpenRequest {
  file: string;
  tier: StorageTier;
  clusterMap?: string;
  self: NodeAddress | null;
  /** Already opened by the thread that will own the descriptor (see verifyOpened); else opened here. */
  opened?: { fd: number; size: number };
}


/** Opens and verifies the version `request` names; throws FormatError/InputError naming the problem. */
export function openChecked(request: OpenRequest, shared = true, onProgress?: LoadProgress): Opened {
  const check = request.clusterMap ? new ShardCheck(request.clusterMap, request.file, request.self) : null;
  const options = { shared, onHeader: check?.onHeader, onProgress };
  const version = request.opened ? verifyOpened(request.opened, request.file, request.tier, options) : openVersion(request.file, request.tier, options);
  try {
    return { version, role: check?.role() ?? null };
  } catch (error) {
    if (!request.opened) closeVersion(version);
    throw error;
  }
}
