// What the RESP front says about the server and itself: INFO's sections, CLIENT
// INFO's line, COMMAND and COMMAND DOCS from the command table (handed in by the
// table, which these commands are part of), CONFIG GET. Built from the service's
// facts, so both fronts report the same numbers.

import os from 'node:os';
import { AUTH_FAILURES, DENIED_KEYS } from '../../service/stats.ts';
import type { ServiceFacts } from '../../service/service.ts';
import type { CommandSpec } from './command-spec.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import { type ArgList, MAX_BULK_LENGTH } from './decoder.ts';
import { categoriesOf } from './acl.ts';
import { globMatch } from './glob.ts';

/** Every command by lower-case name (the command table). */
type Commands = ReadonlyMap<string, CommandSpec>;

/** The Redis version rokv answers as (HELLO, INFO redis_version): the commands it serves behave as in this one. */
export const REDIS_COMPATIBLE_VERSION = '7.2.0';

const RUN_ID = Array.from({ length: 40 }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/**
 * used_memory: what the process holds for data and state — the answering event loop's
 * V8 heap in use, plus what the served version holds in memory: the memory tier's
 * whole file, the disk tier's index (the mmap tier's file is the kernel's page cache:
 * counted in used_memory_rss as its pages are touched, not here). Counted from what
 * rokv allocated rather than from process.memoryUsage().external, which misses shared
 * buffers another thread allocated and counts a mapped file as if it were held.
 */
function usedMemory(s: CommandContext): number {
  const version = s.service.version;
  const held = version.tier === 'memory' ? version.size : version.tier === 'disk' ? (version.shared?.byteLength ?? 0) : 0;
  return process.memoryUsage().heapUsed + held;
}

/** The highest used_memory an INFO has measured in this event loop (used_memory_peak). */
let peakMemory = 0;

/** Bytes as Redis's bytesToHuman prints them: 512B, 994.70K, 6.61M, 23.54G. */
export function bytesToHuman(n: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  if (n < 1024) return `${n}B`;
  for (let i = 0; i < units.length; i++) {
    if (n < 1024 ** (i + 2)) return `${(n / 1024 ** (i + 1)).toFixed(2)}${units[i]}`;
  }
  return `${n}B`;
}

/** INFO's sections in order: name (as INFO takes it), title (its `# ` header, Redis's spelling); default ones are what a bare INFO prints. */
const SECTIONS: { name: string; title: string; isDefault: boolean; lines: (s: CommandContext, f: ServiceFacts) => string[] }[] = [
  {
    name: 'server', title: 'Server', isDefault: true, lines: (s, f) => {
      return [
        `redis_version:${REDIS_COMPATIBLE_VERSION}`, `rokv_version:${f.version}`, `redis_mode:${s.service.router === null ? 'standalone' : 'cluster'}`,
        `os:${os.type()} ${os.release()} ${os.arch()}`, `arch_bits:${process.arch.includes('64') ? 64 : 32}`,
        `process_id:${f.pid}`, `run_id:${RUN_ID}`, `tcp_port:${s.link.local.slice(s.link.local.lastIndexOf(':') + 1)}`,
        `uptime_in_seconds:${Math.floor(f.uptimeSeconds)}`, `uptime_in_days:${Math.floor(f.uptimeSeconds / 86_400)}`,
        `event_loops:${f.workers}`, `node_version:${process.version}`,
      ];
    },
  },
  {
    name: 'clients', title: 'Clients', isDefault: true, lines: (_s, f) => {
      return [
        `connected_clients:${f.connections}`, `maxclients:${f.maxConnections}`, 'blocked_clients:0', 'tracking_clients:0',
        `unsent_reply_bytes:${f.unsentBytes}`, `partial_request_bytes:${f.partialBytes}`,
      ];
    },
  },
  {
    name: 'memory', title: 'Memory', isDefault: true, lines: (s, f) => {
      const used = usedMemory(s);
      peakMemory = Math.max(peakMemory, used);
      const total = os.totalmem();
      return [
        `used_memory:${used}`, `used_memory_human:${bytesToHuman(used)}`,
        `used_memory_rss:${f.rssBytes}`, `used_memory_rss_human:${bytesToHuman(f.rssBytes)}`,
        `used_memory_peak:${peakMemory}`, `used_memory_peak_human:${bytesToHuman(peakMemory)}`,
        `used_memory_dataset:${f.dataBytes}`,
        `total_system_memory:${total}`, `total_system_memory_human:${bytesToHuman(total)}`,
        'maxmemory:0', 'maxmemory_human:0B', 'maxmemory_policy:noeviction',
        `mem_fragmentation_ratio:${(f.rssBytes / used).toFixed(2)}`, 'mem_allocator:node',
      ];
    },
  },
  {
    name: 'persistence', title: 'Persistence', isDefault: true, lines: () => [
      'loading:0', 'async_loading:0', 'rdb_changes_since_last_save:0', 'rdb_bgsave_in_progress:0',
      'rdb_last_bgsave_status:ok', 'aof_enabled:0', 'aof_rewrite_in_progress:0',
    ],
  },
  {
    name: 'stats', title: 'Stats', isDefault: true, lines: (s, f) => {
      return [
        `total_connections_received:${f.accepted}`, `total_commands_processed:${f.requests}`,
        `rejected_connections:${f.rejected}`, `keyspace_hits:${f.hits}`, `keyspace_misses:${f.misses}`,
        `total_error_replies:${f.errors}`, 'expired_keys:0', 'evicted_keys:0',
        `acl_access_denied_auth:${s.service.stats.total(AUTH_FAILURES)}`, 'acl_access_denied_cmd:0',
        `acl_access_denied_key:${s.service.stats.total(DENIED_KEYS)}`, 'acl_access_denied_channel:0',
      ];
    },
  },
  { name: 'replication', title: 'Replication', isDefault: true, lines: () => ['role:master', 'connected_slaves:0', 'master_repl_offset:0'] },
  {
    name: 'cpu', title: 'CPU', isDefault: true, lines: () => {
      const usage = process.cpuUsage();
      return [`used_cpu_sys:${(usage.system / 1e6).toFixed(6)}`, `used_cpu_user:${(usage.user / 1e6).toFixed(6)}`];
    },
  },
  { name: 'cluster', title: 'Cluster', isDefault: true, lines: (s) => [`cluster_enabled:${s.service.router === null ? 0 : 1}`] },
  {
    name: 'keyspace', title: 'Keyspace', isDefault: true, lines: (s) => {
      const keys = s.records.recordCount;
      return keys > 0 ? [`db0:keys=${keys},expires=0,avg_ttl=0`] : [];
    },
  },
  {
    name: 'rokv', title: 'Rokv', isDefault: true, lines: (_s, f) => {
      const extra = Object.entries(f.extra).map(([key, value]) => `${key}:${value}`);
      return [
        `data_file:${f.file}`, `data_bytes:${f.dataBytes}`, `keys:${f.keys}`,
        `data_version:${f.dataVersion.version}`, `loaded_at:${f.dataVersion.loadedAt}`,
        `reloads:${f.dataVersion.reloads}`, `reload_failures:${f.dataVersion.reloadFailures}`,
        `last_reload_error:${(f.dataVersion.lastReloadError ?? '').replace(/[\r\n]/g, ' ')}`,
        `loop_lag_mean_ms:${f.loopLagMs.mean.toFixed(3)}`, `loop_lag_max_ms:${f.loopLagMs.max.toFixed(3)}`,
        `storage:${f.storage}`, `used_memory_anon:${f.anonBytes}`, `data_resident_bytes:${f.residentBytes}`,
        `disk_reads_in_flight:${f.diskReadsInFlight}`, `disk_reads:${f.diskReads}`, `disk_read_mean_ms:${f.diskReadMeanMs.toFixed(3)}`, ...extra,
      ];
    },
  },
];

/** INFO [section ...]: `# Name` blocks of field:value lines, CRLF-separated, as Redis prints them. */
function infoText(s: CommandContext, a: ArgList): string {
  const asked = new Set<string>();
  for (let i = 1; i < a.count; i++) asked.add(a.lower(i));
  const everything = asked.has('all') || asked.has('everything');
  const defaults = asked.size === 0 || asked.has('default');
  const blocks: string[] = [];
  const f = s.service.facts(); // once: it reads /proc and asks the kernel what of the file is cached
  for (const section of SECTIONS) {
    if (!everything && !asked.has(section.name) && !(defaults && section.isDefault)) continue;
    blocks.push([`# ${section.title}`, ...section.lines(s, f)].join('\r\n'));
  }
  return blocks.length > 0 ? `${blocks.join('\r\n\r\n')}\r\n` : '';
}

export const info: CommandHandler = (s, a) => s.w.verbatim(infoText(s, a));

/** CLIENT INFO: one line of key=value pairs in Redis's order. */
function clientInfoLine(s: CommandContext): string {
  const age = Math.floor((Date.now() - s.createdAt) / 1000);
  return `id=${s.link.id} addr=${s.link.peer} laddr=${s.link.local} fd=-1 name=${s.name} age=${age} idle=0 flags=N db=0 ` +
    `sub=0 psub=0 ssub=0 multi=${s.inMulti ? 0 : -1} watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
    `obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info user=default redir=-1 resp=${s.w.proto} ` +
    `lib-name=${s.libName} lib-ver=${s.libVersion}\n`;
}

export const clientInfo: CommandHandler = (s) => s.w.verbatim(clientInfoLine(s));


/** One COMMAND entry: name, arity, flags, first/last key, step, ACL categories, tips, key specs, subcommands. */
function writeCommandEntry(s: CommandContext, c: CommandSpec): void {
  const w = s.w;
  w.array(10);
  w.bulkText(c.name);
  w.integer(c.arity);
  w.set(c.flags.length);
  for (const flag of c.flags) w.simple(flag);
  w.integer(c.firstKey);
  w.integer(c.lastKey);
  w.integer(c.step);
  const categories = categoriesOf(c);
  w.set(categories.length);
  for (const category of categories) w.simple(category);
  w.array(0);
  w.array(0);
  const subs = [...(c.subcommands?.values() ?? [])];
  w.array(subs.length);
  for (const sub of subs) writeCommandEntry(s, sub);
}

/** COMMAND (a = null: every command) or COMMAND INFO name...: unknown names give null. */
export function commandInfo(s: CommandContext, a: ArgList | null, commands: Commands): void {
  if (a === null || a.count === 2) {
    s.w.array(commands.size);
    for (const c of commands.values()) writeCommandEntry(s, c);
    return;
  }
  s.w.array(a.count - 2);
  s.forEachArg(a, 2, (args, i) => {
    const c = commands.get(args.lower(i));
    if (c) writeCommandEntry(s, c);
    else s.w.nil();
  });
}

function writeDocs(s: CommandContext, c: CommandSpec): void {
  const w = s.w;
  const subs = [...(c.subcommands?.values() ?? [])];
  w.map(subs.length > 0 ? 5 : 4);
  w.bulkText('summary');
  w.bulkText(c.summary);
  w.bulkText('since');
  w.bulkText(c.since);
  w.bulkText('group');
  w.bulkText(c.group);
  w.bulkText('complexity');
  w.bulkText(c.flags.includes('fast') ? 'O(1)' : 'O(N)');
  if (subs.length > 0) {
    w.bulkText('subcommands');
    w.map(subs.length);
    for (const sub of subs) {
      w.bulkText(sub.name);
      writeDocs(s, sub);
    }
  }
}

/** COMMAND DOCS [name ...]: a map of name to its docs; unknown names are left out, as in Redis. */
export function commandDocs(s: CommandContext, a: ArgList, commands: Commands): void {
  if (a.count === 2) {
    s.w.map(commands.size);
    for (const c of commands.values()) {
      s.w.bulkText(c.name);
      writeDocs(s, c);
    }
    return;
  }
  let known = 0;
  for (let i = 2; i < a.count; i++) if (commands.has(a.lower(i))) known++;
  s.w.map(known);
  // One entry per name asked, as output room allows: a name may be asked 100,000 times.
  s.forEachArg(a, 2, (args, i) => {
    const c = commands.get(args.lower(i));
    if (c === undefined) return;
    s.w.bulkText(c.name);
    writeDocs(s, c);
  });
}

/** COMMAND COUNT. */
export function commandCount(s: CommandContext, commands: Commands): void {
  s.w.integer(commands.size);
}

/** COMMAND LIST: every name. */
export function commandList(s: CommandContext, commands: Commands): void {
  s.w.array(commands.size);
  for (const name of commands.keys()) s.w.bulkText(name);
}

/** CONFIG GET pattern [pattern ...]: the parameters clients and tools ask about. */
export const configGet: CommandHandler = (s, a) => {
  const f = s.service.facts();
  const parameters: [string, string][] = [
    ['save', ''], ['appendonly', 'no'], ['databases', '1'], ['maxclients', String(f.maxConnections)],
    ['maxmemory', '0'], ['maxmemory-policy', 'noeviction'], ['proto-max-bulk-len', String(MAX_BULK_LENGTH)],
    ['cluster-enabled', s.service.router === null ? 'no' : 'yes'], ['replica-read-only', 'yes'], ['slave-read-only', 'yes'],
  ];
  const matched = parameters.filter(([name]) => {
    for (let i = 2; i < a.count; i++) if (globMatch(Buffer.from(a.lower(i), 'latin1'), Buffer.from(name, 'latin1'))) return true;
    return false;
  });
  s.w.map(matched.length);
  for (const [name, value] of matched) {
    s.w.bulkText(name);
    s.w.bulkText(value);
  }
};
