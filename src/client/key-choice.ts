// Which of the data file's keys each request asks for (--distribution): uniform, or
// Zipf-skewed (zipf.ts) with the ranks scattered over the file by a seeded affine
// permutation, so that the hot keys are not the file's first ones. The flag's parser
// and the name a report gives the distribution live here too.

import seedrandom from 'seedrandom';
import { ZipfSampler } from './zipf.ts';

export type KeyDistribution = { kind: 'uniform' } | { kind: 'zipf'; exponent: number };

export const UNIFORM: KeyDistribution = { kind: 'uniform' };

const EXPECTED = 'uniform or zipf:S with S > 0 (e.g. zipf:0.99)';
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * The --distribution flag's value: "uniform" or "zipf:S" (S a decimal number > 0).
 * Throws an Error whose message says what is wrong and what is expected.
 */
export function parseKeyDistribution(text: string): KeyDistribution {
  if (text === 'uniform') return UNIFORM;
  if (!text.startsWith('zipf:')) throw new Error(`not a key distribution: ${EXPECTED}`);
  const spec = text.slice('zipf:'.length);
  if (spec === '') throw new Error(`the Zipf exponent is missing: ${EXPECTED}`);
  const exponent = DECIMAL.test(spec) ? Number(spec) : NaN;
  if (!Number.isFinite(exponent)) throw new Error(`the Zipf exponent "${spec}" is not a number: ${EXPECTED}`);
  if (exponent <= 0) throw new Error(`the Zipf exponent ${spec} is not above 0: ${EXPECTED}`);
  return { kind: 'zipf', exponent };
}

/** The distribution as the flag spells it: "uniform" or "zipf:0.99". */
export function describeKeyDistribution(distribution: KeyDistribution): string {
  return distribution.kind === 'uniform' ? 'uniform' : `zipf:${distribution.exponent}`;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Multiplier halves: a × r mod n is computed as ((aHigh × r mod n) × 2^16 + aLow × r) mod n, exact below 2^53. */
const HALF = 0x10000;
/** Above this many keys a × r mod n could lose bits in a double. */
const MAX_SCATTERED = 2 ** 32;

/**
 * A bijection from ranks 1..count onto indexes 0..count-1, the same for the same
 * `seed`: index = (a × (rank - 1) + b) mod count, with a coprime to count and both
 * drawn from the seed, so consecutive ranks land far apart. Contract: count is a
 * whole number from 1 to 2^32; rank a whole number from 1 to count.
 */
export function scatterRanks(count: number, seed: string): (rank: number) => number {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SCATTERED) throw new RangeError(`cannot scatter ${count} ranks: need 1 to 2^32`);
  const random = seedrandom.alea(seed);
  let multiplier = 1 + Math.floor(random() * (count - 1));
  while (gcd(multiplier, count) !== 1) multiplier = multiplier + 1 === count ? 1 : multiplier + 1;
  const offset = Math.floor(random() * count);
  const high = Math.floor(multiplier / HALF);
  const low = multiplier % HALF;
  return (rank) => {
    const r = rank - 1;
    return ((((high * r) % count) * HALF + low * r + offset) % count);
  };
}

/** The scatterSeed of a run with --seed `seed`: every thread (and the cluster loop) derives the same one. */
export function hotKeySeed(seed: string): string {
  return `${seed}/hot-keys`;
}

/**
 * A chooser of key indexes 0..count-1 by `distribution`, drawing from `random` (values
 * in [0, 1)). Uniform takes one draw per key, as the client always did; Zipf ranks are
 * mapped to keys by scatterRanks(count, scatterSeed), which every thread of a run must
 * share for them to agree on which keys are hot. No allocation per call.
 */
export function keyChooser(distribution: KeyDistribution, count: number, scatterSeed: string, random: () => number): () => number {
  if (distribution.kind === 'uniform') return () => Math.floor(random() * count);
  const ranks = new ZipfSampler(count, distribution.exponent, random);
  const scatter = scatterRanks(count, scatterSeed);
  return () => scatter(ranks.next());
}
