// The test-data generator: seeded random records written as a packed data file,
// byte-identical for the same options. Default shape: UUIDv4 keys, a–z values of 1..99 bytes.

import { InvalidArgumentError, Option } from 'commander';
import seedrandom from 'seedrandom';
import { newCommand, parseCount, runMain } from '../src/cli.ts';
import { checkOutputFile } from '../src/files.ts';
import { Progress } from '../src/progress.ts';
import { cleanupOnSignal } from '../src/signals.ts';
import { PackWriter } from '../src/format/writer.ts';
import { MAX_KEY_LENGTH } from '../src/format/layout.ts';

type Random = () => number;

/** A length distribution: fixed N, uniform A-B, or exponential exp:MEAN (capped at 4×MEAN). */
interface Lengths {
  readonly max: number;
  next(random: Random): number;
}

function parseLengths(text: string): Lengths {
  let match = /^(\d+)$/.exec(text);
  if (match) {
    const n = Number(match[1]);
    return { max: n, next: () => n };
  }
  match = /^(\d+)-(\d+)$/.exec(text);
  if (match && Number(match[1]) <= Number(match[2])) {
    const lo = Number(match[1]);
    const span = Number(match[2]) - lo + 1;
    return { max: lo + span - 1, next: (random) => lo + Math.floor(random() * span) };
  }
  match = /^exp:(\d+)$/.exec(text);
  if (match && Number(match[1]) > 0) {
    const mean = Number(match[1]);
    const max = 4 * mean;
    return { max, next: (random) => Math.min(max, Math.floor(-Math.log(1 - random()) * mean)) };
  }
  throw new InvalidArgumentError(`"${text}" is not a length: N, MIN-MAX or exp:MEAN`);
}

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const UUID_LENGTH = 36;
const UUID_DASHES = new Set([8, 13, 18, 23]);
const LOWERCASE_A = 0x61;
const LETTERS = 26;
const LETTERS_PER_DRAW = 6; // 26^6 < 2^32: one random number yields six letters
const LETTER_DRAW_RANGE = LETTERS ** LETTERS_PER_DRAW;
const ALNUM = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 'latin1');

/** Writes a random RFC 4122 version 4 UUID as 36 lowercase hex characters. */
function writeUuid(out: Buffer, random: Random): void {
  const raw = Buffer.allocUnsafe(16);
  for (let i = 0; i < 16; i += 4) raw.writeUInt32BE(Math.floor(random() * 2 ** 32), i);
  raw[6] = (raw[6] & 0x0f) | 0x40; // version 4
  raw[8] = (raw[8] & 0x3f) | 0x80; // variant 10xx
  let nibble = 0;
  for (let i = 0; i < UUID_LENGTH; i++) {
    if (UUID_DASHES.has(i)) {
      out[i] = 0x2d;
      continue;
    }
    const byte = raw[nibble >> 1];
    out[i] = HEX[nibble & 1 ? byte & 0x0f : byte >> 4];
    nibble++;
  }
}

function fillLowercase(out: Buffer, length: number, random: Random): void {
  for (let i = 0; i < length; ) {
    let draw = Math.floor(random() * LETTER_DRAW_RANGE);
    for (let j = 0; j < LETTERS_PER_DRAW && i < length; j++, i++) {
      out[i] = LOWERCASE_A + (draw % LETTERS);
      draw = Math.floor(draw / LETTERS);
    }
  }
}

function fillFrom(alphabet: Buffer | null, out: Buffer, length: number, random: Random): void {
  for (let i = 0; i < length; i++) {
    out[i] = alphabet ? alphabet[Math.floor(random() * alphabet.length)] : Math.floor(random() * 256);
  }
}

const program = newCommand('generate')
  .description('Write a packed data file of seeded random records (the same options give the same bytes).')
  .requiredOption('-n, --count <count>', 'number of records, e.g. 10000, 100K, 1M', parseCount)
  .option('-o, --output <file>', 'output file (default: testdata_<count>.data)')
  .option('-s, --seed <seed>', 'random seed', '1')
  .addOption(new Option('--keys <kind>', 'key kind: uuid (36 bytes), alnum, bytes').choices(['uuid', 'alnum', 'bytes']).default('uuid'))
  .option('--key-length <dist>', 'key length for alnum/bytes keys: N, MIN-MAX or exp:MEAN', parseLengths)
  .option('--value-length <dist>', 'value length: N, MIN-MAX or exp:MEAN', parseLengths)
  .addOption(new Option('--values <kind>', 'value bytes: lower (a-z), alnum, bytes').choices(['lower', 'alnum', 'bytes']).default('lower'))
  .option('-q, --quiet', 'no progress line on stderr (it is shown only on a terminal anyway)');

program.action((opts) => runMain('generate', async () => {
  const count: number = opts.count;
  const keyLengths: Lengths = opts.keyLength ?? parseLengths('8-32');
  const valueLengths: Lengths = opts.valueLength ?? parseLengths('1-99');
  if (opts.keys !== 'uuid' && (keyLengths.max > MAX_KEY_LENGTH || keyLengths.next(() => 0) < 1)) {
    throw new InvalidArgumentError(`key lengths must lie in 1..${MAX_KEY_LENGTH}`);
  }
  const output: string = opts.output ?? `testdata_${count}.data`;
  checkOutputFile(output);
  const random: Random = seedrandom.alea(String(opts.seed));
  const key = Buffer.alloc(opts.keys === 'uuid' ? UUID_LENGTH : keyLengths.max);
  const value = Buffer.alloc(valueLengths.max);
  const writer = new PackWriter(output, { onDuplicate: (existing) => existing });
  const started = performance.now();
  const progress = new Progress('generate', { quiet: opts.quiet });
  progress.start('', 'records', count);
  const stopWatching = cleanupOnSignal(() => writer.abort());
  try {
    for (let i = 0; i < count; i++) {
      let keyLength = UUID_LENGTH;
      if (opts.keys === 'uuid') writeUuid(key, random);
      else {
        keyLength = Math.max(1, keyLengths.next(random));
        fillFrom(opts.keys === 'alnum' ? ALNUM : null, key, keyLength, random);
      }
      const valueLength = valueLengths.next(random);
      if (opts.values === 'lower') fillLowercase(value, valueLength, random);
      else fillFrom(opts.values === 'alnum' ? ALNUM : null, value, valueLength, random);
      writer.add(key.subarray(0, keyLength), value.subarray(0, valueLength));
      progress.tick(i + 1);
    }
    progress.note(`building the index of ${count.toLocaleString('en-US')} records`);
    const summary = await writer.finishAsync();
    progress.end();
    const seconds = (performance.now() - started) / 1000;
    const duplicates = summary.dropped ? `, ${summary.dropped} duplicate random keys dropped` : '';
    process.stderr.write(
      `generate: wrote ${output}: ${summary.records.toLocaleString('en-US')} records, ` +
      `${summary.fileSize.toLocaleString('en-US')} bytes in ${seconds.toFixed(2)} s${duplicates}\n`,
    );
  } catch (error) {
    progress.end();
    writer.abort();
    throw error;
  } finally {
    stopWatching();
  }
}));

await program.parseAsync();
