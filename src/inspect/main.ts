#!/usr/bin/env node
// bin/inspect: loads and fully checks a data file, then prints its header summary, or
// with --dump every record (src/pack/dump.ts); exits 0 only for a valid file. On a
// terminal, a progress line says which stage runs (and the records dumped).

import '../node-version.ts'; // first: an older Node gets one line, not a TypeError
import { Option } from 'commander';
import { jsonLine, newCommand, runMain } from '../cli.ts';
import { InputError, UsageError } from '../errors.ts';
import type { DataFile } from '../format/data-file.ts';
import { RECORD_HEADER_SIZE } from '../format/layout.ts';
import { loadDataFile } from '../format/load.ts';
import { DUMP_FORMATS, type DumpFormat, dumpChunks, dumpProblem } from '../pack/dump.ts';
import { Progress } from '../progress.ts';

const program = newCommand('inspect')
  .description('Check a packed rokv data file completely and print its header summary.')
  .argument('<file>', 'the packed data file')
  .option('--json', 'print the summary as one JSON object')
  .option('--dump', 'write every record to stdout instead, as lines bin/pack reads back into the same file')
  .addOption(new Option('--format <format>', 'with --dump: tsv (key<TAB>value), ndjson (text) or base64 (ndjson of base64 strings, any bytes: pack --base64)').choices(DUMP_FORMATS))
  .option('-q, --quiet', 'no progress line on stderr (it is shown only on a terminal anyway, and with --dump only when stdout is not one)');

program.action((file: string, opts) => runMain('inspect', async () => {
  if (opts.format && !opts.dump) throw new UsageError('--format goes with --dump');
  if (opts.dump && opts.json) throw new UsageError('--dump and --json do not go together');
  // A dump on the terminal is its own progress: the line would be drawn among the records.
  const progress = new Progress('inspect', { quiet: opts.quiet || (opts.dump && process.stdout.isTTY) });
  const started = performance.now();
  const data = progress.during(`reading ${file} and checking its checksums and structure`, () => loadDataFile(file));
  if (opts.dump) return dump(data, opts.format ?? 'tsv', progress);
  const loadSeconds = (performance.now() - started) / 1000;
  progress.during(`finding each of ${data.recordCount.toLocaleString('en-US')} keys through the index`, () => data.verifyKeys());
  const seconds = (performance.now() - started) / 1000;
  const h = data.header;
  const rawBytes = h.recordsLength - h.recordCount * RECORD_HEADER_SIZE;
  const summary = {
    file,
    format_version: h.version,
    records: h.recordCount,
    file_bytes: h.fileSize,
    key_value_bytes: rawBytes,
    overhead_ratio: rawBytes > 0 ? h.fileSize / rawBytes : null,
    index_slots: h.slotCount,
    load_factor: h.recordCount / h.slotCount,
    longest_probe: h.maxDisplacement + 1,
    hash: `murmur3_32 seed 0x${h.hashSeed.toString(16)}`,
    checksums: 'ok',
    load_seconds: loadSeconds,
    verify_seconds: seconds - loadSeconds,
    rss_bytes_after_load: process.memoryUsage.rss(),
  };
  if (opts.json) {
    process.stdout.write(jsonLine(summary));
    return;
  }
  const n = (x: number) => x.toLocaleString('en-US');
  process.stdout.write([
    `file            ${file}`,
    `format version  ${h.version}`,
    `records         ${n(h.recordCount)}`,
    `file bytes      ${n(h.fileSize)} (${summary.overhead_ratio?.toFixed(3) ?? '-'}× the ${n(rawBytes)} key+value bytes)`,
    `index           ${n(h.slotCount)} slots, load factor ${summary.load_factor.toFixed(3)}, longest probe ${summary.longest_probe} slots`,
    `hash            ${summary.hash}`,
    `checksums       header, records, index: ok; every key found through the index`,
    `timing          read + validated in ${loadSeconds.toFixed(3)} s (what a server does), keys verified in ${(seconds - loadSeconds).toFixed(3)} s`,
    `RSS             ${(summary.rss_bytes_after_load / 1e6).toFixed(1)} MB`,
  ].join('\n') + '\n');
}));

/**
 * Writes the dump to stdout, waiting for the reader. Checked whole first: a record the
 * format cannot carry fails before any line is written. A reader that goes away
 * (`| head`) ends the dump quietly.
 */
async function dump(data: DataFile, format: DumpFormat, progress: Progress): Promise<void> {
  const why = progress.during(`checking that every record can be written as ${format}`, () => dumpProblem(data, format));
  if (why !== null) throw new InputError(why);
  let failed: NodeJS.ErrnoException | null = null;
  process.stdout.on('error', (error) => (failed = error));
  progress.start('dumping', 'records', data.recordCount);
  try {
    for (const chunk of dumpChunks(data, format, progress)) {
      if (failed) break;
      if (!process.stdout.write(chunk)) await drained();
    }
  } finally {
    progress.end();
  }
  await new Promise<void>((resolve) => (failed ? resolve() : process.stdout.write('', () => resolve())));
  const error = failed as NodeJS.ErrnoException | null;
  if (error && error.code !== 'EPIPE') throw new InputError(`cannot write stdout: ${error.message}`);
}

/**
 * Resolves when stdout drains or fails, taking both listeners off again: a listener
 * left behind on every wait (a pipe makes many) piles up on stdout and Node warns
 * "MaxListenersExceededWarning: Possible EventEmitter memory leak detected".
 */
function drained(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.stdout.off('drain', done).off('error', done);
      resolve();
    };
    process.stdout.once('drain', done).once('error', done);
  });
}

await program.parseAsync();
