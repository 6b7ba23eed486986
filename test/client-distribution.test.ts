// bin/client --distribution: the Zipf sampler's frequencies, seeded repeatability, the
// scatter of ranks over the file, the flag's errors, and a real run against a server
// with every answer checked.

import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { keyChooser, parseKeyDistribution, scatterRanks } from '../src/client/key-choice.ts';
import { ZipfSampler } from '../src/client/zipf.ts';
import { type Pair, runBin } from './helpers.ts';
import { serveRecords } from './server-helpers.ts';

const harmonic = (n: number, s: number) => {
  let sum = 0;
  for (let k = 1; k <= n; k++) sum += 1 / k ** s;
  return sum;
};

describe('ZipfSampler', () => {
  it('zipf:1.0 over 1000 ranks: rank 1 near 1/H(1000), frequencies fall over buckets', () => {
    const n = 1000;
    const samples = 200_000;
    const counts = new Float64Array(n + 1);
    const sampler = new ZipfSampler(n, 1, seedrandom.alea('zipf-test'));
    for (let i = 0; i < samples; i++) counts[sampler.next()]++;
    expect(counts[0]).toBe(0);
    // 1/H(1000) ≈ 0.1336; the standard error at 200k samples is about 0.00076.
    expect(Math.abs(counts[1] / samples - 1 / harmonic(n, 1))).toBeLessThan(0.005);
    expect(Math.abs(counts[2] / samples - 1 / (2 * harmonic(n, 1)))).toBeLessThan(0.005);
    // Buckets of doubling width [1], [2,3], [4,7], …: each holds about ln 2 / H of the mass
    // at s = 1, so compare per-rank means, which must fall.
    const means: number[] = [];
    for (let start = 1; start <= n; start *= 2) {
      const end = Math.min(n, start * 2 - 1);
      let sum = 0;
      for (let k = start; k <= end; k++) sum += counts[k];
      means.push(sum / (end - start + 1));
    }
    for (let i = 1; i < means.length; i++) expect(means[i]).toBeLessThan(means[i - 1]);
  });

  it('stays within 1..n at extreme exponents and for one rank', () => {
    for (const [n, s] of [[1, 1], [5, 500], [1000, 1e-6], [10_000_000, 1.2]]) {
      const sampler = new ZipfSampler(n, s, seedrandom.alea('edges'));
      for (let i = 0; i < 10_000; i++) {
        const rank = sampler.next();
        expect(Number.isInteger(rank) && rank >= 1 && rank <= n).toBe(true);
      }
    }
  });
});

describe('key choice', () => {
  const sequence = (spec: string, seed: string, count = 50) => {
    const choose = keyChooser(parseKeyDistribution(spec), 10_000, `${seed}/hot`, seedrandom.alea(seed));
    return Array.from({ length: count }, choose);
  };

  it('the same seed gives the same keys; another seed other keys', () => {
    expect(sequence('zipf:0.99', 'a')).toEqual(sequence('zipf:0.99', 'a'));
    expect(sequence('zipf:0.99', 'a')).not.toEqual(sequence('zipf:0.99', 'b'));
    expect(sequence('uniform', 'a')).toEqual(sequence('uniform', 'a'));
  });

  it('uniform takes one draw per key, as before the flag', () => {
    const random = seedrandom.alea('same');
    const expected = Array.from({ length: 20 }, () => Math.floor(random() * 777));
    const choose = keyChooser(parseKeyDistribution('uniform'), 777, 'unused', seedrandom.alea('same'));
    expect(Array.from({ length: 20 }, choose)).toEqual(expected);
  });

  it('ranks scatter onto every key once, the hottest not at the start, and by seed', () => {
    for (const n of [1, 2, 12, 1000, 4096, 99_991]) {
      const scatter = scatterRanks(n, 'x');
      const seen = new Uint8Array(n);
      for (let rank = 1; rank <= n; rank++) seen[scatter(rank)]++;
      expect(seen.every((c) => c === 1)).toBe(true);
    }
    const hottest = ['1', '2', '3', '4', '5'].map((seed) => scatterRanks(1_000_000, seed)(1));
    expect(new Set(hottest).size).toBe(5);
    expect(hottest).not.toContain(0);
    // Near the top of a 2^32-key file, a × r mod n is still exact (a bijection needs it).
    const big = scatterRanks(2 ** 32 - 5, 'big');
    const indexes = [1, 2, 2 ** 32 - 6, 2 ** 32 - 5].map(big);
    for (const i of indexes) expect(Number.isInteger(i) && i >= 0 && i < 2 ** 32 - 5).toBe(true);
    expect(new Set(indexes).size).toBe(4);
  });

  it('zipf: the key asked for most is rank 1 scattered, not the first key', () => {
    const counts = new Uint32Array(10_000);
    const choose = keyChooser(parseKeyDistribution('zipf:1.2'), 10_000, 'run/hot', seedrandom.alea('run'));
    for (let i = 0; i < 20_000; i++) counts[choose()]++;
    const top = counts.indexOf(Math.max(...counts));
    expect(top).toBe(scatterRanks(10_000, 'run/hot')(1));
    expect(top).not.toBe(0);
  });

  it('a zipf exponent other than asked fails the frequency check', () => {
    const samples = 100_000;
    const sampler = new ZipfSampler(1000, 0.9, seedrandom.alea('zipf-test'));
    let top = 0;
    for (let i = 0; i < samples; i++) if (sampler.next() === 1) top++;
    expect(Math.abs(top / samples - 1 / harmonic(1000, 1))).toBeGreaterThan(0.005);
  });

  it('parses uniform and zipf:S', () => {
    expect(parseKeyDistribution('uniform')).toEqual({ kind: 'uniform' });
    expect(parseKeyDistribution('zipf:0.99')).toEqual({ kind: 'zipf', exponent: 0.99 });
    expect(parseKeyDistribution('zipf:1.2')).toEqual({ kind: 'zipf', exponent: 1.2 });
  });
});

describe('bin/client --distribution', () => {
  const records: Pair[] = [];
  for (let i = 0; i < 2000; i++) records.push([`key-${i}`, `value-${i}-${'z'.repeat(i % 40)}`]);
  const running = serveRecords(records);

  it('zipf:1.1 against a real server: every answer checked, the report says zipf', () => {
    const args = [running.file, '--port', String(running.server.port), '--clients', '4', '--threads', '2', '--pipeline', '8', '--requests', '20000', '--distribution', 'zipf:1.1', '--miss-ratio', '0.1'];
    const json = runBin('client', [...args, '--json']);
    expect(json.status, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout);
    expect(r.key_distribution).toBe('zipf:1.1');
    expect(r.key_count).toBe(2000);
    expect(r.hits + r.misses).toBe(20_000);
    expect(r.hits).toBeGreaterThan(15_000);
    expect(r.errors + r.mismatches + r.lost_connections).toBe(0);
    const text = runBin('client', [...args, '--requests', '2000']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^keys +zipf:1\.1 over 2,000 keys$/m);
    expect(text.stdout).toMatch(/ 0 mismatches/);
  });

  it('defaults to uniform', () => {
    const run = runBin('client', [running.file, '--port', String(running.server.port), '--clients', '1', '--requests', '500', '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).key_distribution).toBe('uniform');
  });

  it.each([
    ['zipf:', /the Zipf exponent is missing/],
    ['zipf:0', /the Zipf exponent 0 is not above 0/],
    ['zipf:-1', /the Zipf exponent -1 is not above 0/],
    ['zipf:abc', /the Zipf exponent "abc" is not a number/],
    ['pareto', /not a key distribution: uniform or zipf:S/],
  ])('refuses --distribution %s in one line, exit 2', (value, message) => {
    const run = runBin('client', [running.file, '--port', String(running.server.port), '--distribution', value]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^client: option '--distribution <spec>' argument '.*' is invalid\. /);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toMatch(/; see --help$/);
  });

  it('shows the flag in --help', () => {
    const run = runBin('client', ['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/--distribution <spec>[\s\S]*zipf:S[\s\S]*\(default: uniform\)/);
  });
});
