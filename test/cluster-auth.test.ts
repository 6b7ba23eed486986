// bin/client --cluster against shard servers that require a password (--requirepass):
// with the right one every key reads its value; a wrong one, or none, is one error
// line naming the server and a non-zero exit, not "every server is down".

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShardedCluster } from './cluster-helpers.ts';
import { type Pair, runBin } from './helpers.ts';
import type { RunningServer } from './server-helpers.ts';

const PASSWORD = 'cluster-secret';

describe('bin/client --cluster --password', () => {
  const records: Pair[] = Array.from({ length: 2000 }, (_, i) => [`${i}:key`, `value-${i}`]);
  let source: string;
  let dir: string;
  let servers: RunningServer[] = [];

  beforeAll(async () => {
    ({ source, dir, servers } = await startShardedCluster(records, 3, [], ['--requirepass', PASSWORD]));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  const clientArgs = (...more: string[]) => [source, '--cluster', path.join(dir, 'cluster.json'),
    '--servers', servers.map((s) => `127.0.0.1:${s.port}`).join(','), '--requests', '4000', '--clients', '2', '--json', ...more];

  it('with the right password: every answer checked, no error', () => {
    const run = runBin('client', clientArgs('--password', PASSWORD));
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.errors).toBe(0);
    expect(r.mismatches).toBe(0);
    expect(r.hits).toBeGreaterThan(3000);
    expect(r.failovers).toBe(0);
  });

  it('with a wrong password: one line naming the server and WRONGPASS, non-zero exit', () => {
    const run = runBin('client', clientArgs('--password', 'not-it'));
    expect(run.status).not.toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^client: 127\.0\.0\.1:\d+: WRONGPASS/);
    expect(run.stdout).toBe('');
  });

  it('with no password: one line naming the server and NOAUTH, non-zero exit', () => {
    const run = runBin('client', clientArgs());
    expect(run.status).not.toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^client: 127\.0\.0\.1:\d+: NOAUTH/);
  });
});
