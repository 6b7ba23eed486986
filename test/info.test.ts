// INFO on the RESP port as monitoring built for Redis reads it: every section header
// spelled as redis-server 7.0.15 prints it (`# CPU`, not `# Cpu`), every field of a
// Redis section one Redis has there (or one of the few rokv documents as its own),
// and memory as Redis means it: used_memory what the process holds for data and state
// (for a memory-tier server, the data file and more, and less than the RSS), the RSS,
// the peak, the machine's memory, the ratio of the two, the *_human forms as Redis
// prints them.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startUntil, stop } from '../tools/bench/processes.ts';
import { runTool, tempDir } from './helpers.ts';
import { command, respExchange } from './resp-helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

/** Fields of Redis sections that Redis 7.0.15 does not print: rokv's own, or Redis 7.2's (rokv answers as 7.2.0). Documented in docs/RESP.md. */
const ROKV_FIELDS: Record<string, string[]> = {
  Server: ['rokv_version', 'event_loops', 'node_version'],
  Clients: ['unsent_reply_bytes', 'partial_request_bytes'],
  Memory: [],
  Stats: ['acl_access_denied_auth', 'acl_access_denied_cmd', 'acl_access_denied_key', 'acl_access_denied_channel'],
};

type Sections = Map<string, Map<string, string>>;

/** INFO text as sections (by their header, `# ` left out) of fields. */
function parseInfo(text: string): Sections {
  const sections: Sections = new Map();
  let current: Map<string, string> | null = null;
  for (const line of text.split('\r\n')) {
    if (line.startsWith('# ')) sections.set(line.slice(2), (current = new Map()));
    else if (line !== '') (current as Map<string, string>).set(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1));
  }
  return sections;
}

async function info(port: number, ...sections: string[]): Promise<Sections> {
  const reply = (await respExchange(port, command('INFO', ...sections), 1)).replies[0] as Buffer;
  return parseInfo(reply.toString());
}

/** Redis's bytesToHuman (util.c), written out here to check both servers by. */
function human(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['K', 'M', 'G', 'T', 'P'];
  for (let i = 0; i < units.length; i++) if (n < 1024 ** (i + 2)) return `${(n / 1024 ** (i + 1)).toFixed(2)}${units[i]}`;
  return `${n}B`;
}

const dir = tempDir();
const file = path.join(dir, 'one-million.data');
let memory: RunningServer;
let mmap: RunningServer;
let redisPort = 0;
let redis: Awaited<ReturnType<typeof startUntil>> | null = null;

beforeAll(async () => {
  const made = runTool('tools/generate.ts', ['--count', '1000000', '-o', file]);
  expect(made.status, made.stderr).toBe(0);
  memory = await startServer(file, ['--resp-port', '0']);
  mmap = await startServer(file, ['--resp-port', '0', '--storage', 'mmap']);
  redisPort = await freePort();
  redis = await startUntil('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/);
}, 120_000);
afterAll(async () => {
  expect(await memory.stop()).toBe(0);
  expect(await mmap.stop()).toBe(0);
  if (redis !== null) await stop(redis.child);
});

describe('INFO sections and fields, against redis-server 7.0.15', () => {
  it('every section header is spelled as Redis prints it; rokv\'s own section comes last', async () => {
    const ours = [...(await info(memory.respPort)).keys()];
    expect(ours).toEqual(['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'CPU', 'Cluster', 'Keyspace', 'Rokv']);
    const theirs = [...(await info(redisPort, 'everything')).keys()];
    for (const title of ours.slice(0, -1)) expect(theirs, title).toContain(title);
  });

  it('INFO cpu, CPU and Cpu all answer the `# CPU` section alone', async () => {
    for (const name of ['cpu', 'CPU', 'Cpu']) expect([...(await info(memory.respPort, name)).keys()], name).toEqual(['CPU']);
  });

  it('every field of a Redis section is one Redis 7.0.15 has in that section, or one docs/RESP.md names as rokv\'s', async () => {
    const ours = await info(memory.respPort, 'everything');
    const theirs = await info(redisPort, 'everything');
    for (const [title, fields] of ours) {
      if (title === 'Rokv' || title === 'Keyspace') continue;
      const known = theirs.get(title) as Map<string, string>;
      for (const field of fields.keys()) {
        expect(known.has(field) || (ROKV_FIELDS[title] ?? []).includes(field), `${title}: ${field}`).toBe(true);
      }
    }
  });
});

describe('INFO memory, as Redis means it', () => {
  it('the *_human forms are Redis\'s bytesToHuman (checked against Redis\'s own pairs first)', async () => {
    const theirs = (await info(redisPort, 'memory')).get('Memory') as Map<string, string>;
    const ours = (await info(memory.respPort, 'memory')).get('Memory') as Map<string, string>;
    for (const fields of [theirs, ours]) {
      for (const field of ['used_memory', 'used_memory_rss', 'used_memory_peak', 'total_system_memory', 'maxmemory']) {
        expect(fields.get(`${field}_human`), field).toBe(human(Number(fields.get(field))));
      }
    }
  });

  it('memory tier, 1M records: used_memory holds the data file and is less than the RSS; the ratio is rss / used; the peak is at least used', async () => {
    const size = fs.statSync(file).size;
    const fields = (await info(memory.respPort, 'memory')).get('Memory') as Map<string, string>;
    const used = Number(fields.get('used_memory'));
    const rss = Number(fields.get('used_memory_rss'));
    expect(used).toBeGreaterThan(size);
    expect(used).toBeLessThan(rss);
    expect(fields.get('mem_fragmentation_ratio')).toBe((rss / used).toFixed(2));
    expect(Number(fields.get('used_memory_peak'))).toBeGreaterThanOrEqual(used);
    expect(Number(fields.get('total_system_memory'))).toBe(os.totalmem());
    expect(fields.get('maxmemory')).toBe('0');
    expect(fields.get('maxmemory_human')).toBe('0B');
    // used_memory_rss is the process's RSS (/proc/PID/status VmRSS, read just after).
    const pid = Number((await info(memory.respPort, 'server')).get('Server')?.get('process_id'));
    const vmRss = Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
    expect(Math.abs(vmRss - rss) / vmRss).toBeLessThan(0.1);
  });

  it('mmap tier: the mapped file is the page cache\'s, not used_memory (which stays far below the file)', async () => {
    const size = fs.statSync(file).size;
    const fields = (await info(mmap.respPort, 'memory')).get('Memory') as Map<string, string>;
    expect(Number(fields.get('used_memory'))).toBeLessThan(size / 2);
    expect(Number(fields.get('used_memory'))).toBeGreaterThan(0);
  });
});
