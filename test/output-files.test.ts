// The files tools write, and what they leave behind: output paths checked before any
// work (missing, read-only, a folder, the input itself), a full disk blamed on the
// output, no temporary file after a signal during pack, FIFOs refused or survived.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PackWriter } from '../src/format/writer.ts';
import { ROOT, runBin, runTool, tempDir } from './helpers.ts';
import { startServer } from './server-helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

describe('output paths', () => {
  const input = path.join(ROOT, 'data', 'fixture.tsv');

  const cases: [string, (dir: string) => string[], RegExp][] = [
    ['pack into a missing folder', (d) => ['pack', input, '-o', path.join(d, 'nope', 'x.data')], /^pack: cannot write .*nope\/x\.data: folder .*nope does not exist$/],
    ['pack -o a folder', (d) => ['pack', input, '-o', d], /^pack: cannot write .*: it is a folder \(give a file name\)$/],
    ['pack -o the input itself', () => ['pack', input, '-o', input, '-f', 'tsv'], /^pack: .*fixture\.tsv is also the input: writing it would destroy the input; choose another output$/],
    ['shard -o a file', (d) => ['shard', path.join(ROOT, 'data', 'fixture.data'), '--shards', '2', '-o', path.join(d, 'file')], /^shard: cannot create folder .*file: .*file is not a folder$/],
    ['shard -o under /proc', () => ['shard', path.join(ROOT, 'data', 'fixture.data'), '--shards', '2', '-o', '/proc/rokv-nope'], /^shard: cannot create folder \/proc\/rokv-nope: /],
    ['client --report into a missing folder, before any load', (d) => ['client', path.join(ROOT, 'data', 'fixture.data'), '--port', '1', '--report', path.join(d, 'nope', 'r.html')], /^client: cannot write .*r\.html: folder .*nope does not exist$/],
  ];
  for (const [name, args, error] of cases) {
    it(name, () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'file'), 'x');
      const [bin, ...rest] = args(dir);
      const before = fs.readFileSync(input);
      const run = runBin(bin, rest);
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toMatch(error);
      expect(run.stderr).not.toMatch(/internal error|    at /);
      expect(fs.readFileSync(input).equals(before)).toBe(true);
    });
  }

  it('a full disk is blamed on the output, and leaves nothing behind', () => {
    const dir = tempDir();
    const small = path.join(dir, 'small');
    fs.mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
    try {
      const big = path.join(dir, 'big.tsv');
      fs.writeFileSync(big, Array.from({ length: 20_000 }, (_, i) => `key-${i}\t${'v'.repeat(40)}\n`).join(''));
      const run = runBin('pack', [big, '-o', path.join(small, 'x.data')]);
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe(`pack: cannot write ${path.join(small, 'x.data')}: no space left on device`);
      expect(fs.readdirSync(small)).toEqual([]);
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('a read-only folder, and the generator into a missing one', () => {
    const dir = tempDir();
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
    try {
      const run = runBin('pack', [path.join(ROOT, 'data', 'fixture.tsv'), '-o', path.join(ro, 'x.data')]);
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe(`pack: cannot write ${path.join(ro, 'x.data')}: folder ${ro} is not writable (read-only file system)`);
    } finally {
      execFileSync('umount', [ro]);
    }
    const generated = runTool('tools/generate.ts', ['--count', '10', '-o', path.join(dir, 'nope', 'x.data')]);
    expect(generated.status).toBe(1);
    expect(generated.stderr.trim()).toBe(`generate: cannot write ${path.join(dir, 'nope', 'x.data')}: folder ${path.join(dir, 'nope')} does not exist`);
  });

  it('client --report that fails after the run prints the results first, then one line, exit 1', async () => {
    const server = await startServer(path.join(ROOT, 'data', 'fixture.data'));
    const dir = tempDir();
    const report = path.join(dir, 'sub', 'r.html');
    fs.mkdirSync(path.dirname(report));
    const child = spawn(path.join(ROOT, 'bin', 'client'), [path.join(ROOT, 'data', 'fixture.data'), '--port', String(server.port), '--duration', '1.5', '--report', report, '--json']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    await sleep(700);
    fs.rmSync(path.dirname(report), { recursive: true }); // the folder vanishes during the run
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(JSON.parse(stdout).requests).toBeGreaterThan(0);
    expect(stderr.trim()).toBe(`client: cannot write ${report}: no such file or folder`);
    expect(await server.stop()).toBe(0);
  });
});

describe('signals and FIFOs', () => {
  it('the index build gives the event loop turns, so a signal is handled during it, not after', async () => {
    const writer = new PackWriter(path.join(tempDir(), 'big.data'));
    for (let i = 0; i < 600_000; i++) writer.add(Buffer.from(`key-${i}`), Buffer.from('v'));
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    await writer.finishAsync();
    clearInterval(ticker);
    expect(turns).toBeGreaterThan(0);
  });

  for (const signal of ['SIGHUP', 'SIGQUIT', 'SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during pack leaves no temporary file and ends pack by that signal`, async () => {
      const dir = tempDir();
      const child = spawn(path.join(ROOT, 'bin', 'pack'), ['-', '-o', path.join(dir, 'out.data')], { stdio: ['pipe', 'ignore', 'pipe'] });
      child.stdin.write(Array.from({ length: 50_000 }, (_, i) => `key-${i}\tvalue\n`).join(''));
      await sleep(800); // pack has its temporary file and waits for more input
      expect(leftovers(dir).length).toBe(1);
      const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (code, sig) => r([code, sig])));
      child.kill(signal);
      const [code, sig] = await Promise.race([exited, sleep(3000).then(() => [-1, 'still running'] as [number, string])]);
      expect([code, sig]).toEqual([null, signal]);
      expect(fs.readdirSync(dir)).toEqual([]);
    });
  }

  it('a FIFO with no writer: pack still dies on SIGTERM at once; inspect and server refuse it', async () => {
    const dir = tempDir();
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const child = spawn(path.join(ROOT, 'bin', 'pack'), [fifo, '-o', path.join(dir, 'out.data'), '-f', 'tsv'], { stdio: 'ignore' });
    await sleep(800);
    const exited = new Promise<string | null>((r) => child.once('exit', (_code, sig) => r(sig)));
    child.kill('SIGTERM');
    expect(await Promise.race([exited, sleep(3000).then(() => 'still running')])).toBe('SIGTERM');
    expect(fs.readdirSync(dir)).toEqual(['fifo']);
    for (const bin of ['inspect', 'server']) {
      const run = runBin(bin, [fifo]);
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe(`${bin}: ${fifo}: not a regular file (a FIFO: pipe it through standard input instead)`);
    }
  });
});
