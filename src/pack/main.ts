#!/usr/bin/env node
// bin/pack: imports TSV or NDJSON records into a packed data file, streaming the input;
// any bad line, write error or signal stops the import and leaves no output behind.

import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { newCommand, runMain } from '../cli.ts';
import { InputError, UsageError } from '../errors.ts';
import { checkOutputFile, reasonOf } from '../files.ts';
import { cleanupOnSignal } from '../signals.ts';
import { recordProblem } from '../format/layout.ts';
import { PackWriter, describeKey } from '../format/writer.ts';
import { LineEndingError, readLines, refuseCrOnlyEndings } from './lines.ts';
import { type LineParser, type ParsedRecord, TAB, ndjsonParser, separatedParser } from './records.ts';

const FORMAT_BY_EXTENSION: { [ext: string]: 'tsv' | 'ndjson' } = {
  '.tsv': 'tsv', '.txt': 'tsv', '.ndjson': 'ndjson', '.jsonl': 'ndjson',
};

function parseSeparator(text: string): number {
  const unescaped = text === '\\t' ? '\t' : text;
  const bytes = Buffer.from(unescaped, 'utf8');
  if (bytes.length !== 1 || bytes[0] === 0x0a || bytes[0] === 0x0d) {
    throw new InvalidArgumentError(`"${text}" is not a one-byte separator (other than CR or LF)`);
  }
  return bytes[0];
}

/** Line number of each record added, by ordinal (for duplicate-key messages). */
class LineNumbers {
  private numbers = new Float64Array(1024);
  private count = 0;
  push(line: number): void {
    if (this.count === this.numbers.length) {
      const grown = new Float64Array(this.count * 2);
      grown.set(this.numbers);
      this.numbers = grown;
    }
    this.numbers[this.count++] = line;
  }
  at(ordinal: number): number {
    return this.numbers[ordinal];
  }
}

const program = newCommand('pack')
  .description('Build a packed rokv data file from TSV (key<TAB>value) or NDJSON ({"key":…,"value":…}) lines.')
  .argument('<input>', 'input file, or - for standard input')
  .requiredOption('-o, --output <file>', 'the packed data file to write')
  .addOption(new Option('-f, --format <format>', 'input format (default: by extension; tsv for -)').choices(['tsv', 'ndjson']))
  .option('--sep <char>', 'separator for tsv input (default: tab; \'\\t\' accepted)', parseSeparator)
  .option('--base64', 'NDJSON keys and values are base64 (any bytes)')
  .addOption(new Option('--dedupe <which>', 'keep the first or last record of a duplicate key (default: error)').choices(['first', 'last']))
  .option('-q, --quiet', 'no summary line on stderr');

program.action((input: string, opts) => runMain('pack', async () => {
  const format: 'tsv' | 'ndjson' | undefined = opts.format ?? (input === '-' ? 'tsv' : FORMAT_BY_EXTENSION[path.extname(input).toLowerCase()]);
  if (!format) throw new UsageError(`cannot tell the format of ${input} from its extension; give --format tsv or --format ndjson`);
  if (opts.sep !== undefined && format !== 'tsv') throw new UsageError('--sep applies to tsv input only');
  if (opts.base64 && format !== 'ndjson') throw new UsageError('--base64 applies to ndjson input only');
  const parse: LineParser = format === 'tsv' ? separatedParser(opts.sep ?? TAB) : ndjsonParser(Boolean(opts.base64));
  if (input !== '-') {
    try {
      fs.accessSync(input, fs.constants.R_OK);
    } catch (error) {
      throw new InputError(`cannot open ${input}: ${reasonOf(error)}`);
    }
  }
  checkOutputFile(opts.output, [input]);

  const lines = new LineNumbers();
  const writer = new PackWriter(opts.output, {
    onDuplicate: (existing, incoming, key) => {
      if (opts.dedupe === 'first') return existing;
      if (opts.dedupe === 'last') return incoming;
      throw new InputError(`duplicate key ${describeKey(key)} on lines ${lines.at(existing)} and ${lines.at(incoming)} (use --dedupe first|last to keep one)`);
    },
  });
  const stopWatching = cleanupOnSignal(() => writer.abort());
  const started = performance.now();
  const name = input === '-' ? 'stdin' : input;
  try {
    const stream = input === '-' ? process.stdin : fs.createReadStream(input, { highWaterMark: 1 << 20 });
    for await (const line of readInput(readLines(refuseCrOnlyEndings(stream)), name)) {
      if (line.bytes.length === 0) continue;
      let record: ParsedRecord;
      try {
        record = parse(line.bytes);
        const problem = recordProblem(record.key.length, record.value.length);
        if (problem !== null) throw new InputError(problem);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw new InputError(`${name}:${line.number}: ${error.message}`);
      }
      writer.add(record.key, record.value); // its errors name the output, not this line
      lines.push(line.number);
    }
    const summary = await writer.finishAsync();
    if (!opts.quiet) {
      const dropped = summary.dropped ? ` (${summary.dropped} duplicate keys dropped)` : '';
      process.stderr.write(
        `pack: wrote ${summary.path}: ${summary.records.toLocaleString('en-US')} records${dropped}, ` +
        `${summary.fileSize.toLocaleString('en-US')} bytes in ${((performance.now() - started) / 1000).toFixed(2)} s\n`,
      );
    }
  } catch (error) {
    writer.abort();
    throw error;
  } finally {
    stopWatching();
  }
}));

/** The input's lines; a failure to read it becomes one line that blames the input. */
async function* readInput<T>(lines: AsyncGenerator<T>, name: string): AsyncGenerator<T> {
  try {
    yield* lines;
  } catch (error) {
    if (error instanceof LineEndingError) throw new InputError(`${name}:${error.line}: ${error.message}`);
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read ${name}: ${reasonOf(error)}`);
  }
}

await program.parseAsync();
