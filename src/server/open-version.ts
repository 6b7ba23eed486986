// Opening a data version for the server: the tier's verified file (storage/tiers.ts)
// and, with a cluster map, the shard check in the same pass. The first version is
// opened here on the main thread before listening; reloads in a worker thread
// (load-off-thread.ts) with the same function.

import { ShardCheck } from '../cluster/map.ts';
import { closeVersion, openVersion } from '../storage/tiers.ts';
import type { OpenRequest, Opened } from './load-off-thread.ts';

/** Opens and verifies the version `request` names; throws FormatError/InputError naming the problem. */
export function openChecked(request: OpenRequest, shared = true): Opened {
  const check = request.clusterMap ? new ShardCheck(request.clusterMap, request.file, request.self) : null;
  const version = openVersion(request.file, request.tier, { shared, onHeader: check?.onHeader });
  try {
    return { version, role: check?.role() ?? null };
  } catch (error) {
    closeVersion(version);
    throw error;
  }
}
