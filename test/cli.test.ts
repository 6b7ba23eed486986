// The command-line tools behave alike: a bad flag is one line ending "see --help" and
// exit 2, --help exits 0, --json output has snake_case keys everywhere, and a tool that
// writes a file says where.

import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runBin, runTool, tempDir } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');
type Tool = { name: string; run: (args: string[]) => SpawnSyncReturns<string>; args: string[] };
const TOOLS: Tool[] = [
  { name: 'server', run: (a) => runBin('server', a), args: [FIXTURE] },
  { name: 'client', run: (a) => runBin('client', a), args: [FIXTURE] },
  { name: 'pack', run: (a) => runBin('pack', a), args: ['in.tsv', '-o', 'out.data'] },
  { name: 'inspect', run: (a) => runBin('inspect', a), args: [FIXTURE] },
  { name: 'shard', run: (a) => runBin('shard', a), args: [FIXTURE, '-n', '2'] },
  { name: 'generate', run: (a) => runTool('tools/generate.ts', a), args: ['--count', '10'] },
];

/** Every key of every object in `value`, recursively. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]);
}

describe('every tool', () => {
  for (const tool of TOOLS) {
    it(`${tool.name}: an unknown flag, a bad value and a missing argument are one line, "see --help", exit 2`, () => {
      const unknown = tool.run([...tool.args, '--no-such-flag']);
      expect(unknown.stderr).toBe(`${tool.name}: unknown option '--no-such-flag'; see --help\n`);
      expect(unknown.stdout).toBe('');
      expect(unknown.status).toBe(2);
      const bad = tool.run([...tool.args, tool.name === 'generate' ? '--count' : tool.name === 'shard' ? '-n' : tool.name === 'pack' || tool.name === 'inspect' ? '--format' : '--port', 'banana']);
      expect(bad.stderr).toMatch(new RegExp(`^${tool.name}: option '.*' argument 'banana' is invalid\\. [^\\n]+; see --help\\n$`));
      expect(bad.status).toBe(2);
      if (tool.name !== 'generate') {
        const missing = tool.run([]);
        expect(missing.stderr).toMatch(new RegExp(`^${tool.name}: (missing required argument|required option)[^\\n]*; see --help\\n$`));
        expect(missing.status).toBe(2);
      }
      const help = tool.run(['--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: /);
      expect(help.stderr).toBe('');
    });
  }
});

describe('make help', () => {
  it('lists every target of the Makefile and every variable it reads', () => {
    const makefile = fs.readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
    const targets = (/^\.PHONY: (.+)$/m.exec(makefile) as RegExpExecArray)[1].split(/\s+/);
    const variables = [...makefile.matchAll(/^([A-Z_]+) \?=/gm), ...makefile.matchAll(/\$\((BENCH_ARGS)\)/g)].map((m) => m[1]);
    const help = spawnSync('make', ['--no-print-directory', 'help'], { cwd: ROOT, encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const target of targets) expect(help.stdout, target).toMatch(new RegExp(`^  make ${target}\\b`, 'm'));
    expect(variables).toContain('PORT');
    for (const variable of new Set(variables)) expect(help.stdout, variable).toMatch(new RegExp(`^  ${variable}\\b`, 'm'));
  });
});

describe('--json and output files', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(FIXTURE);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('inspect, client and shard print snake_case keys only', () => {
    const outputs = [
      runBin('inspect', [FIXTURE, '--json']),
      runBin('client', [FIXTURE, '--port', String(server.port), '--requests', '200', '--clients', '2', '--json']),
      runBin('shard', [FIXTURE, '-n', '2', '-o', path.join(tempDir(), 'shards'), '--json']),
    ];
    const keys = outputs.flatMap((run) => {
      expect(run.status, run.stderr).toBe(0);
      return keysOf(JSON.parse(run.stdout));
    });
    expect(keys).toContain('lost_connections');
    expect(keys).toContain('format_version');
    expect(keys.filter((k) => !/^[a-z0-9_]+$/.test(k))).toEqual([]);
  });

  it('client -o writes the report and says where; the page names the data file, date and command', () => {
    const report = path.join(tempDir(), 'load.html');
    const run = runBin('client', [FIXTURE, '--port', String(server.port), '--requests', '500', '-o', report]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe(`client: wrote ${report}\n`);
    const html = fs.readFileSync(report, 'utf8');
    expect(html).toContain(`Data file <code>${FIXTURE}</code>`);
    expect(html).toMatch(/run on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(html).toContain(`client ${FIXTURE} --port ${server.port} --requests 500 -o ${report}`);
  });

  it('Ctrl-C on a running client prints the summary so far and exits 130', async () => {
    const child = spawn(path.join(ROOT, 'bin', 'client'), [FIXTURE, '--port', String(server.port), '--duration', '60', '--clients', '2']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const started = performance.now();
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(stderr).toBe('');
    expect(code).toBe(130);
    expect(stdout).toMatch(/\(interrupted: answers so far\)/);
    const requests = Number(/requests\s+([\d,]+) in/.exec(stdout)?.[1].replace(/,/g, ''));
    expect(requests).toBeGreaterThan(100);
    expect(stdout).toMatch(/0 errors, 0 mismatches/);
  }, 20_000);
});
