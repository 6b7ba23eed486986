// The progress line of the long-running tools (src/progress.ts): its text (amounts,
// units, rates, time left) and its drawing (at most one draw per interval, the clock
// looked at every CHECK_EVERY ticks, one line redrawn in place, cleared at the end) on a
// fake clock and a fake terminal; then every tool run under a pseudo-terminal (script
// from util-linux) draws it with a rate, draws nothing into a pipe or with --quiet,
// and writes the same bytes either way.

import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_EVERY, Progress, type ProgressStream, formatBytes, formatDuration, progressLine } from '../src/progress.ts';
import { ROOT, tempDir } from './helpers.ts';
import { startServer } from './server-helpers.ts';

describe('the progress line', () => {
  it('shows bytes in decimal units, one decimal from kB on', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.0 kB');
    expect(formatBytes(123_456_789)).toBe('123.5 MB');
    expect(formatBytes(999_960)).toBe('1.0 MB'); // not "1000.0 kB"
    expect(formatBytes(4_400_000_000)).toBe('4.4 GB');
  });

  it('shows time left as m:ss or h:mm:ss, rounded up', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(0.2)).toBe('0:01');
    expect(formatDuration(59.5)).toBe('1:00');
    expect(formatDuration(61)).toBe('1:01');
    expect(formatDuration(3661)).toBe('1:01:01');
  });

  it('says done, out of the total, the mean rate and the time left', () => {
    expect(progressLine('generate', '', 'records', 250_000, 1_000_000, 2000))
      .toBe('generate: 250,000 / 1,000,000 records (25%), 125,000 records/s, ETA 0:06');
    expect(progressLine('pack', 'reading', 'bytes', 50_000_000, 200_000_000, 4000))
      .toBe('pack: reading 50.0 MB / 200.0 MB (25%), 12.5 MB/s, ETA 0:12');
  });

  it('has no ETA without a total, no rate before any time passed, and 100% for an empty total', () => {
    expect(progressLine('pack', 'reading', 'bytes', 3_000_000, null, 1500)).toBe('pack: reading 3.0 MB, 2.0 MB/s');
    expect(progressLine('shard', 'placing', 'records', 10, 100, 0)).toBe('shard: placing 10 / 100 records (10%)');
    expect(progressLine('client', 'answered', 'requests', 5000, null, 1000, 61)).toBe('client: answered 5,000 requests, 5,000 requests/s, ETA 1:01');
    expect(progressLine('inspect', 'dumping', 'records', 0, 0, 10)).toBe('inspect: dumping 0 / 0 records (100%), 0 records/s');
  });
});

/** A terminal that records what is written, a clock the test moves, and how often it was read. */
function fakeTerminal(isTTY = true, columns?: number) {
  const writes: string[] = [];
  const clock = { ms: 0, reads: 0 };
  const stream: ProgressStream = { isTTY, columns, write: (text: string) => writes.push(text) };
  const now = () => {
    clock.reads++;
    return clock.ms;
  };
  return { writes, clock, stream, now };
}

describe('drawing', () => {
  it('draws at most once per interval, in place, and clears the line at the end', () => {
    const t = fakeTerminal();
    const progress = new Progress('pack', { stream: t.stream, now: t.now, intervalMs: 250 });
    progress.start('reading', 'bytes', 1000);
    t.clock.ms = 100;
    progress.update(100); // too soon after the start
    expect(t.writes).toEqual([]);
    t.clock.ms = 300;
    progress.update(300);
    t.clock.ms = 400;
    progress.update(400); // 100 ms after the last draw
    t.clock.ms = 550;
    progress.update(550);
    expect(t.writes).toEqual([
      '\rpack: reading 300 B / 1.0 kB (30%), 1.0 kB/s, ETA 0:01\x1b[K',
      '\rpack: reading 550 B / 1.0 kB (55%), 1.0 kB/s, ETA 0:01\x1b[K',
    ]);
    progress.end();
    expect(t.writes.at(-1)).toBe('\r\x1b[K');
    progress.end(); // nothing shown: nothing written
    expect(t.writes).toHaveLength(3);
  });

  it('tick() reads the clock once every CHECK_EVERY calls', () => {
    const t = fakeTerminal();
    const progress = new Progress('generate', { stream: t.stream, now: t.now, intervalMs: 0 });
    progress.start('', 'records', null);
    const readsAtStart = t.clock.reads;
    t.clock.ms = 10;
    for (let i = 1; i <= 4 * CHECK_EVERY; i++) progress.tick(i);
    expect(t.clock.reads - readsAtStart).toBe(4);
    expect(t.writes.at(-1)).toBe(`\rgenerate: ${(4 * CHECK_EVERY).toLocaleString('en-US')} records, 409,600 records/s\x1b[K`);
  });

  it('cuts the line to the terminal width, so that it never wraps', () => {
    const t = fakeTerminal(true, 30);
    const progress = new Progress('shard', { stream: t.stream, now: t.now, intervalMs: 0 });
    progress.note('building the index of shard-0.data (1 of 3)');
    expect(t.writes).toEqual(['\rshard: building the index of \x1b[K']); // 29 characters: the 30th column stays free
  });

  it('during() shows a note while the work runs and clears it after, also when the work throws', () => {
    const t = fakeTerminal();
    const progress = new Progress('inspect', { stream: t.stream, now: t.now });
    expect(progress.during('checking', () => 7)).toBe(7);
    expect(() => progress.during('checking', () => { throw new Error('corrupt'); })).toThrow('corrupt');
    expect(t.writes).toEqual(['\rinspect: checking\x1b[K', '\r\x1b[K', '\rinspect: checking\x1b[K', '\r\x1b[K']);
  });

  it('draws nothing on a stream that is not a terminal, or with --quiet', () => {
    for (const [t, quiet] of [[fakeTerminal(false), false], [fakeTerminal(true), true]] as const) {
      const progress = new Progress('pack', { stream: t.stream, now: t.now, intervalMs: 0, quiet });
      progress.start('reading', 'bytes', 10);
      t.clock.ms = 5;
      progress.update(5);
      progress.note('building');
      progress.during('checking', () => 1);
      progress.end();
      expect(t.writes).toEqual([]);
    }
  });
});

const PROGRESS_ENV = { ...process.env, ROKV_PROGRESS_MS: '0' }; // every look at the clock draws
const shellQuote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
const commandLine = (argv: string[]) => argv.map(shellQuote).join(' ');

/** argv run with stdout and stderr on a pseudo-terminal; what the terminal showed. */
function onTerminal(argv: string[], redirectStdoutTo?: string): string {
  const command = commandLine(argv) + (redirectStdoutTo ? ` > ${shellQuote(redirectStdoutTo)}` : '');
  const run = spawnSync('script', ['-qfec', command, '/dev/null'], { encoding: 'utf8', env: PROGRESS_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  expect(run.status, run.stdout + run.stderr).toBe(0);
  return run.stdout;
}

/** argv run with stdout and stderr on pipes. */
function onPipes(argv: string[]): SpawnSyncReturns<string> {
  const run = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: PROGRESS_ENV });
  expect(run.status, run.stderr).toBe(0);
  return run;
}

const bin = (name: string) => path.join(ROOT, 'bin', name);
const GENERATE = [process.execPath, path.join(ROOT, 'tools', 'generate.ts')];
const RECORDS = 5000; // several CHECK_EVERY ticks

/** A drawn progress line of `tool`: "\r<tool>: …<rate>…\x1b[K". */
const drawnLine = (tool: string, rate: RegExp) => new RegExp(`\\r${tool}: [^\\r]*${rate.source}[^\\r]*\\x1b\\[K`);
const BYTE_RATE = /\d+(\.\d)? [kMG]?B\/s/;
/** Runs the rest of the argv (a server, stdout into a file), waits for its listening line, stops it with SIGTERM, then shows its stdout; exits 0. */
const UNTIL_LISTENING = ['sh', '-c', 'out=$(mktemp); "$@" > "$out" & pid=$!; until grep -q listening "$out"; do sleep 0.1; done; kill $pid; wait $pid; cat "$out"; rm -f "$out"; exit 0', 'sh'];

describe('the tools, on a terminal and not', () => {
  const dir = tempDir();
  const data = path.join(dir, 'in.data');
  onPipes([...GENERATE, '-n', String(RECORDS), '-o', data, '--quiet']);
  const tsv = path.join(dir, 'in.tsv');
  fs.writeFileSync(tsv, onPipes([bin('inspect'), data, '--dump']).stdout);

  it('generate: a line of records with rate and ETA on a terminal; none into a pipe or with --quiet; the same file', () => {
    const shown = onTerminal([...GENERATE, '-n', String(RECORDS), '-o', path.join(dir, 'g1.data')]);
    expect(shown).toMatch(drawnLine('generate', /\/ 5,000 records \(\d+%\), [\d,]+ records\/s, ETA \d+:\d\d/));
    expect(shown).toMatch(/\r\x1b\[Kgenerate: wrote /); // cleared before the summary
    const piped = onPipes([...GENERATE, '-n', String(RECORDS), '-o', path.join(dir, 'g2.data')]);
    expect(piped.stderr).not.toMatch(/\r|records\/s/);
    expect(piped.stderr).toMatch(/^generate: wrote .*g2\.data: 5,000 records/);
    expect(onTerminal([...GENERATE, '-n', String(RECORDS), '-o', path.join(dir, 'g3.data'), '--quiet'])).not.toMatch(/\r(?!\n)|records\/s/);
    const bytes = fs.readFileSync(path.join(dir, 'g1.data'));
    expect(fs.readFileSync(path.join(dir, 'g2.data')).equals(bytes)).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'g3.data')).equals(bytes)).toBe(true);
    expect(fs.readFileSync(data).equals(bytes)).toBe(true);
  });

  it('pack: bytes read with rate and ETA, the index stage, then the summary; none into a pipe or with --quiet; the same file', () => {
    const shown = onTerminal([bin('pack'), tsv, '-o', path.join(dir, 'p1.data')]);
    expect(shown).toMatch(drawnLine('pack', new RegExp(`reading [\\d.]+ [kM]?B / ${formatBytes(fs.statSync(tsv).size)} \\(\\d+%\\), ${BYTE_RATE.source}, ETA \\d+:\\d\\d`)));
    expect(shown).toMatch(/\rpack: building the index of 5,000 records\x1b\[K/);
    expect(shown).toMatch(/\r\x1b\[Kpack: wrote .*p1\.data: 5,000 records/);
    const piped = onPipes([bin('pack'), tsv, '-o', path.join(dir, 'p2.data')]);
    expect(piped.stderr).not.toMatch(/\r|B\/s|building/);
    expect(piped.stderr).toMatch(/^pack: wrote .*p2\.data: 5,000 records/);
    expect(onTerminal([bin('pack'), tsv, '-o', path.join(dir, 'p3.data'), '--quiet'])).toBe('');
    for (const file of ['p1.data', 'p2.data', 'p3.data']) expect(fs.readFileSync(path.join(dir, file)).equals(fs.readFileSync(data)), file).toBe(true);
  });

  it('shard: records placed with rate and ETA; none into a pipe or with --quiet; the same shards and report', () => {
    const args = (out: string) => [bin('shard'), data, '-n', '3', '-o', path.join(dir, out), '--json'];
    const shown = onTerminal(args('s1'));
    expect(shown).toMatch(drawnLine('shard', /placing [\d,]+ \/ 5,000 records \(\d+%\), [\d,]+ records\/s, ETA \d+:\d\d/));
    expect(shown).toMatch(/\rshard: building the index of shard-2\.data \(3 of 3\)\x1b\[K/);
    const piped = onPipes(args('s2'));
    expect(piped.stderr).toBe('');
    expect(onTerminal([...args('s3'), '--quiet'])).not.toMatch(/\r(?!\n)/);
    for (const file of ['shard-0.data', 'shard-1.data', 'shard-2.data', 'cluster.json']) {
      const bytes = fs.readFileSync(path.join(dir, 's2', file));
      expect(fs.readFileSync(path.join(dir, 's1', file)).equals(bytes), file).toBe(true);
      expect(fs.readFileSync(path.join(dir, 's3', file)).equals(bytes), file).toBe(true);
    }
    // the report on stdout is the same, apart from the output folder's name
    // (the whole folder path: a temporary folder's random name may hold "s1" itself)
    const report = (text: string, out: string) => JSON.parse(text.slice(text.indexOf('{')).replaceAll(path.join(dir, out), 'OUT')) as unknown;
    expect(report(shown, 's1')).toEqual(report(piped.stdout, 's2'));
  });

  it('inspect --dump: records dumped with rate and ETA; none into a pipe or with --quiet; the same dump', () => {
    const dump = path.join(dir, 'dump1.tsv');
    const shown = onTerminal([bin('inspect'), data, '--dump'], dump);
    expect(shown).toMatch(/\rinspect: reading .*in\.data and checking its checksums and structure\x1b\[K/);
    expect(shown).toMatch(drawnLine('inspect', /dumping [\d,]+ \/ 5,000 records \(\d+%\), [\d,]+ records\/s, ETA \d+:\d\d/));
    expect(shown.endsWith('\r\x1b[K')).toBe(true); // the line cleared at the end
    const piped = onPipes([bin('inspect'), data, '--dump']);
    expect(piped.stderr).toBe('');
    const quiet = path.join(dir, 'dump3.tsv');
    expect(onTerminal([bin('inspect'), data, '--dump', '--quiet'], quiet)).toBe('');
    expect(fs.readFileSync(dump, 'utf8')).toBe(piped.stdout);
    expect(fs.readFileSync(quiet, 'utf8')).toBe(piped.stdout);
    expect(piped.stdout).toBe(fs.readFileSync(tsv, 'utf8'));
  });

  it('inspect: the verification stages on a terminal, then the summary on a clean line; none into a pipe or with --quiet', () => {
    const shown = onTerminal([bin('inspect'), data, '--json']);
    expect(shown).toMatch(/\rinspect: reading .*in\.data and checking its checksums and structure\x1b\[K\r\x1b\[K/);
    expect(shown).toMatch(/\rinspect: finding each of 5,000 keys through the index\x1b\[K\r\x1b\[K\{"file"/);
    const summary = JSON.parse(shown.slice(shown.indexOf('{'))) as { records: number };
    expect(summary.records).toBe(RECORDS);
    expect(onPipes([bin('inspect'), data, '--json']).stderr).toBe('');
    expect(onTerminal([bin('inspect'), data, '--json', '--quiet'])).toMatch(/^\{"file"/);
  });

  it('client: answered requests with rate and time left on a terminal (of a --duration: what is left of it; of a count: from the rate, as progressLine above); none with --json', async () => {
    const server = await startServer(data);
    try {
      const run = (args: string[]) => onTerminal([bin('client'), data, '--port', String(server.port), '--clients', '2', ...args]);
      // A 2-second run is drawn at least three times (the load reports every 500 ms).
      const timed = run(['--duration', '2']);
      expect(timed).toMatch(drawnLine('client', /answered [\d,]+ requests, [\d,]+ requests\/s, ETA 0:0[0-2]/));
      expect(timed).toMatch(/\r\x1b\[Krokv client: /); // cleared before the summary
      expect(run(['--duration', '1', '--json'])).toMatch(/^\{"server"/);
    } finally {
      await server.stop();
    }
  });

  it('server: a load shows reading and checking with rate (memory tier) or checking (disk), cleared before the listening line; nothing with --quiet or into a pipe', () => {
    for (const [tier, stages] of [['memory', ['reading', 'checking']], ['disk', ['checking']]] as const) {
      const shown = onTerminal([...UNTIL_LISTENING, bin('server'), data, '--port', '0', '--storage', tier]);
      for (const stage of stages) expect(shown, tier).toMatch(drawnLine('server', new RegExp(`${stage} .*in\\.data [\\d.]+ [kM]?B / [\\d.]+ [kM]?B \\(100%\\), ${BYTE_RATE.source}`)));
      expect(shown, tier).toMatch(/\x1b\[K\r\x1b\[K[^\r]*rokv: SIGTERM/); // cleared once loaded: what comes next starts on a clean line
      expect(shown, tier).toMatch(/rokv listening on /);
    }
    // With --quiet, and into a pipe: the listening line alone.
    const quiet = onTerminal([...UNTIL_LISTENING, bin('server'), data, '--port', '0', '--quiet']);
    expect(quiet).toMatch(/rokv listening on /);
    expect(quiet).not.toMatch(/server: /);
    const piped = onPipes([...UNTIL_LISTENING, bin('server'), data, '--port', '0']);
    expect(piped.stdout).toMatch(/^rokv listening on /);
    expect(piped.stderr).not.toMatch(/\r/);
  });

  it('an error on a terminal is printed on a cleared line', () => {
    const bad = path.join(dir, 'bad.tsv');
    fs.writeFileSync(bad, `${fs.readFileSync(tsv, 'utf8')}no separator here\n`);
    const run = spawnSync('script', ['-qfec', commandLine([bin('pack'), bad, '-o', path.join(dir, 'bad.data')]), '/dev/null'], { encoding: 'utf8', env: PROGRESS_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/\r\x1b\[Kpack: .*bad\.tsv:5001: no separator \(tab\)\r\n$/);
    expect(fs.existsSync(path.join(dir, 'bad.data'))).toBe(false);
  });
});
