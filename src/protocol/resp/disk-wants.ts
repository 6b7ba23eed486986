// What a RESP command reads from the disk tier before it runs (CommandSpec.reads): the
// records of its key arguments, or of the index slots it will visit. A command then
// runs, synchronously, against exactly these records (FetchedRecords), so every
// handler is the same in every tier.

import type { DiskRecords, Want } from '../../storage/disk.ts';
import type { CommandSpec } from './command-spec.ts';
import type { ArgList } from './decoder.ts';
import { scanWants } from './scan.ts';

/** The wants of `spec` run with `a` (a copy that owns its bytes: the keys are views of it). */
export function wantsOf(spec: CommandSpec, a: ArgList, disk: DiskRecords): Want[] {
  if (spec.reads === 'slots') {
    if (spec.name === 'scan') return scanWants(a, disk);
    const slot = disk.randomSlot(); // RANDOMKEY
    return slot < 0 ? [] : [{ key: null, slot, value: false }];
  }
  const wants: Want[] = [];
  const last = spec.lastKey < 0 ? a.count + spec.lastKey : Math.min(spec.lastKey, a.count - 1);
  for (let i = spec.firstKey; i <= last; i += spec.step) wants.push({ key: a.bytes(i), slot: -1, value: spec.reads === 'values' });
  return wants;
}
