// Data in and out, each case a test that failed before its fix: NDJSON that is not
// text, a byte-order mark, long lines, hash flooding, output paths (missing, read-only,
// a folder, the input itself, a full disk), signals and FIFOs during pack.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checksum } from '../src/format/checksum.ts';
import { murmur3 } from '../src/format/hash.ts';
import { DEFAULT_HASH_SEED, H, MAX_DISPLACEMENT, homeSlot, slotCountFor } from '../src/format/layout.ts';
import { loadDataFile } from '../src/format/load.ts';
import { readLines } from '../src/pack/lines.ts';
import { PackWriter } from '../src/format/writer.ts';
import { ROOT, cut, packRecords, runBin, runTool, tempDir } from './helpers.ts';
import { startServer } from './server-helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

describe('NDJSON is text', () => {
  it('a raw 0xff byte is refused with its line and a pointer to --base64; nothing is written', () => {
    const dir = tempDir();
    const input = path.join(dir, 'in.ndjson');
    fs.writeFileSync(input, Buffer.concat([Buffer.from('{"key":"ok","value":"1"}\n{"key":"a'), Buffer.from([0xff]), Buffer.from('b","value":"x"}\n')]));
    const run = runBin('pack', [input, '-o', path.join(dir, 'out.data')]);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(`pack: ${input}:2: not valid UTF-8 (byte 0xff at column 10); binary keys and values need --base64`);
    expect(fs.readdirSync(dir)).toEqual(['in.ndjson']);
  });

  it('a lone surrogate is refused: "\\ud800" and "\\udfff" would both become U+FFFD and collide', () => {
    const dir = tempDir();
    const input = path.join(dir, 'in.ndjson');
    fs.writeFileSync(input, '{"key":"\\ud800","value":"1"}\n{"key":"\\udfff","value":"2"}\n');
    const run = runBin('pack', [input, '-o', path.join(dir, 'out.data'), '--dedupe', 'last']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/in\.ndjson:1: "key" holds a lone UTF-16 surrogate .*--base64/);
  });

  it('valid multi-byte text still packs, and --base64 takes any bytes', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.ndjson'), '{"key":"clé 🔑","value":"ünïcode"}\n');
    expect(runBin('pack', [path.join(dir, 'in.ndjson'), '-o', path.join(dir, 'a.data')]).status).toBe(0);
    expect(loadDataFile(path.join(dir, 'a.data')).get(Buffer.from('clé 🔑'))?.toString()).toBe('ünïcode');
    fs.writeFileSync(path.join(dir, 'b.ndjson'), `{"key":"${Buffer.from([0xff, 0xfe]).toString('base64')}","value":"AA=="}\n`);
    expect(runBin('pack', [path.join(dir, 'b.ndjson'), '-o', path.join(dir, 'b.data'), '--base64']).status).toBe(0);
  });
});

describe('lines', () => {
  it('a UTF-8 byte-order mark at the start is dropped (TSV and NDJSON)', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.tsv'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('alpha\t1\nbeta\t2\n')]));
    fs.writeFileSync(path.join(dir, 'in.ndjson'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"key":"alpha","value":"1"}\n')]));
    for (const name of ['in.tsv', 'in.ndjson']) {
      expect(runBin('pack', [path.join(dir, name), '-o', path.join(dir, `${name}.data`)]).status).toBe(0);
      expect(loadDataFile(path.join(dir, `${name}.data`)).get(Buffer.from('alpha'))?.toString()).toBe('1');
    }
  });

  it('any chunking of the input gives the same lines, long lines included', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b).toString('latin1').replace(/\n/g, '.')), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      async (lines, cuts) => {
        const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'latin1');
        const chunks = cut(bytes, cuts);
        const got: string[] = [];
        for await (const line of readLines((async function* () { yield* chunks; })())) got.push(line.bytes.toString('latin1'));
        expect(got).toEqual(lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).map((l, i) => (i === 0 && l.startsWith('\xef\xbb\xbf') ? l.slice(3) : l)));
      },
    ));
  });
});

describe('hash flooding', () => {
  /** Keys whose default-seed home slot is 0 or 1 in a table sized for `count` keys. */
  function floodingKeys(count: number): string[] {
    const slots = slotCountFor(count);
    const keys: string[] = [];
    for (let i = 0; keys.length < count; i++) {
      const key = Buffer.from(`flood-${i}`);
      if (homeSlot(murmur3(key, 0, key.length, DEFAULT_HASH_SEED), slots) < 2) keys.push(key.toString());
    }
    return keys;
  }

  it('keys chosen to collide are rebuilt under another seed: short probes, same bytes every time', () => {
    const keys = floodingKeys(2500);
    const dir = tempDir();
    const input = path.join(dir, 'flood.tsv');
    fs.writeFileSync(input, keys.map((k, i) => `${k}\t${i}\n`).join(''));
    for (const out of ['a.data', 'b.data']) expect(runBin('pack', [input, '-o', path.join(dir, out)]).status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'a.data')).equals(fs.readFileSync(path.join(dir, 'b.data')))).toBe(true);
    const data = loadDataFile(path.join(dir, 'a.data'));
    expect(data.header.maxDisplacement).toBeLessThanOrEqual(MAX_DISPLACEMENT);
    expect(data.header.hashSeed).not.toBe(DEFAULT_HASH_SEED);
    keys.forEach((k, i) => expect(data.get(Buffer.from(k))?.toString()).toBe(String(i)));
  });

  it('ordinary inputs keep the default seed', () => {
    const data = loadDataFile(packRecords(Array.from({ length: 5000 }, (_, i) => [`key-${i}`, 'v'])));
    expect(data.header.hashSeed).toBe(DEFAULT_HASH_SEED);
  });

  it('a file whose longest probe is past the limit is refused at load', () => {
    const file = packRecords(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'])); // 267 slots: room for a long probe
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32LE(MAX_DISPLACEMENT + 1, H.maxDisplacement);
    bytes.writeUInt32LE(checksum(bytes.subarray(0, H.headerCrc)), H.headerCrc);
    fs.writeFileSync(file, bytes);
    const run = runBin('inspect', [file]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/over the limit of 128/);
  });
});

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
      expect(run.status).toBe(2);
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
      expect(run.status).toBe(2);
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
      expect(run.status).toBe(2);
      expect(run.stderr.trim()).toBe(`pack: cannot write ${path.join(ro, 'x.data')}: folder ${ro} is not writable (read-only file system)`);
    } finally {
      execFileSync('umount', [ro]);
    }
    const generated = runTool('tools/generate.ts', ['--count', '10', '-o', path.join(dir, 'nope', 'x.data')]);
    expect(generated.status).toBe(2);
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
    expect(code).toBe(2);
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
      expect(run.status).toBe(2);
      expect(run.stderr.trim()).toBe(`${bin}: ${fifo}: not a regular file (a FIFO: pipe it through standard input instead)`);
    }
  });
});
