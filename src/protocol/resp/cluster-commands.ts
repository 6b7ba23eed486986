// The Redis Cluster commands of the RESP front: CLUSTER SLOTS, SHARDS, NODES, INFO,
// KEYSLOT, MYID and READONLY/READWRITE, answered as Redis 7 answers
// them from a slots-placement server's router (live servers first), and the key check
// every keyed command passes first: -CROSSSLOT for keys of different slots, -MOVED for
// a slot this server does not answer. Without a slots map, Redis's "cluster support
// disabled" error.

import { SERVED_HERE, type SlotRouter } from '../../cluster/slot-router.ts';
import { SLOT_COUNT, keySlot } from '../../cluster/slots.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import type { ArgList } from './decoder.ts';

const DISABLED = 'ERR This instance has cluster support disabled';
const CROSSSLOT = 'CROSSSLOT Keys in request don\'t hash to the same slot';
/** Redis's cluster bus listens on the client port + 10000; CLUSTER NODES shows it. */
const BUS_PORT_OFFSET = 10_000;

/** A CLUSTER subcommand: runs with the router, or answers that cluster support is disabled. */
function clusterOnly(run: (s: CommandContext, a: ArgList, router: SlotRouter) => void): CommandHandler {
  return (s, a) => {
    const router = s.service.router;
    if (router === null) return s.error(DISABLED);
    run(s, a, router);
  };
}

/**
 * Checks the keys of a command (argument positions first..last by step; last < 0
 * counts from the end) against the slot map. Writes -CROSSSLOT or -MOVED and returns
 * false when this server must not answer.
 */
export function keysServedHere(s: CommandContext, router: SlotRouter, a: ArgList, first: number, last: number, step: number): boolean {
  const end = last < 0 ? a.count + last : Math.min(last, a.count - 1);
  let slot = -1;
  for (let i = first; i <= end; i += step) {
    const keySlotOf = keySlot(a.buf, a.starts[i], a.ends[i]);
    if (slot >= 0 && keySlotOf !== slot) {
      s.error(CROSSSLOT);
      return false;
    }
    slot = keySlotOf;
  }
  if (slot < 0) return true;
  const routed = router.route(slot, s.readonly);
  if (routed === SERVED_HERE) return true;
  s.error(router.moved(routed));
  return false;
}

/** One node as CLUSTER SLOTS lists it: ip, port, id, networking metadata (none). */
function slotsNode(s: CommandContext, router: SlotRouter, node: number): void {
  const address = router.address(node);
  s.w.array(4);
  s.w.bulkText(address.host);
  s.w.integer(address.port);
  s.w.bulkText(router.ids[node]);
  s.w.map(0);
}

/** The servers a shard is listed with: the live ones (acting primary first); all of them if none is live. */
function listed(router: SlotRouter, shard: number): number[] {
  const servers = router.serversOf(shard);
  const live = servers.filter((i) => router.isLive(i));
  return live.length > 0 ? live : servers;
}

export const clusterSlots = clusterOnly((s, _a, router) => {
  const ranges = router.role.ranges;
  s.w.array(ranges.length);
  ranges.forEach(([first, last], shard) => {
    const servers = listed(router, shard);
    s.w.array(2 + servers.length);
    s.w.integer(first);
    s.w.integer(last);
    for (const node of servers) slotsNode(s, router, node);
  });
});

export const clusterShards = clusterOnly((s, _a, router) => {
  const w = s.w;
  const ranges = router.role.ranges;
  w.array(ranges.length);
  ranges.forEach(([first, last], shard) => {
    const primary = router.actingPrimary(shard);
    const servers = router.byLiveness(shard);
    w.map(2);
    w.bulkText('slots');
    w.array(2);
    w.integer(first);
    w.integer(last);
    w.bulkText('nodes');
    w.array(servers.length);
    for (const node of servers) {
      const address = router.address(node);
      w.map(7);
      w.bulkText('id');
      w.bulkText(router.ids[node]);
      w.bulkText('port');
      w.integer(address.port);
      w.bulkText('ip');
      w.bulkText(address.host);
      w.bulkText('endpoint');
      w.bulkText(address.host);
      w.bulkText('role');
      w.bulkText(node === primary ? 'master' : 'replica');
      w.bulkText('replication-offset');
      w.integer(0);
      w.bulkText('health');
      w.bulkText(router.isLive(node) ? 'online' : 'failed');
    }
  });
});

export const clusterNodes = clusterOnly((s, _a, router) => {
  const now = Date.now();
  const lines: string[] = [];
  router.role.ranges.forEach(([first, last], shard) => {
    const primary = router.actingPrimary(shard);
    for (const node of router.serversOf(shard)) {
      const address = router.address(node);
      const flags = [node === router.self ? 'myself' : '', node === primary ? 'master' : 'slave', router.isLive(node) ? '' : 'fail'].filter(Boolean).join(',');
      const live = router.isLive(node);
      lines.push([
        router.ids[node], `${address.host}:${address.port}@${address.port + BUS_PORT_OFFSET}`, flags,
        node === primary ? '-' : router.ids[primary], '0', live ? String(now) : '0', String(shard + 1),
        live ? 'connected' : 'disconnected', ...(node === primary ? [first === last ? `${first}` : `${first}-${last}`] : []),
      ].join(' '));
    }
  });
  s.w.verbatim(`${lines.join('\n')}\n`);
});

export const clusterInfo = clusterOnly((s, _a, router) => {
  const shards = router.role.ranges.length;
  let failedSlots = 0;
  router.role.ranges.forEach(([first, last], shard) => {
    if (!router.serversOf(shard).some((node) => router.isLive(node))) failedSlots += last - first + 1;
  });
  const lines = [
    `cluster_state:${failedSlots === 0 ? 'ok' : 'fail'}`, `cluster_slots_assigned:${SLOT_COUNT}`,
    `cluster_slots_ok:${SLOT_COUNT - failedSlots}`, 'cluster_slots_pfail:0', `cluster_slots_fail:${failedSlots}`,
    `cluster_known_nodes:${router.role.nodes.length}`, `cluster_size:${shards}`, `cluster_current_epoch:${shards}`,
    `cluster_my_epoch:${router.role.shard + 1}`, 'cluster_stats_messages_sent:0', 'cluster_stats_messages_received:0',
    'total_cluster_links_buffer_limit_exceeded:0',
  ];
  s.w.verbatim(`${lines.join('\r\n')}\r\n`);
});

/** CLUSTER KEYSLOT key: its slot (like every CLUSTER subcommand, refused without a slots map, as Redis does). */
export const clusterKeyslot = clusterOnly((s, a) => s.w.integer(keySlot(a.buf, a.starts[2], a.ends[2])));

export const clusterMyid = clusterOnly((s, _a, router) => s.w.bulkText(router.ids[router.self]));

/** READONLY / READWRITE: whether this connection may read from a replica. */
export function readMode(readonly: boolean): CommandHandler {
  return clusterOnly((s) => {
    s.readonly = readonly;
    s.w.simple('OK');
  });
}
