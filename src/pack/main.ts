#!/usr/bin/env node
// bin/pack: imports TSV or NDJSON records from one or more inputs (files, - for stdin,
// read in order as one input) into a packed data file, streaming them; any bad line,
// duplicate key (across all inputs), write error or signal stops the import and leaves
// no output behind. On a terminal, a progress line shows the bytes read.

import '../node-version.ts'; // first: an older Node gets one line, not a TypeError
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { newCommand, runMain } from '../cli.ts';
import { InputError, UsageError } from '../errors.ts';
import { checkOutputFile, reasonOf } from '../files.ts';
import { Progress } from '../progress.ts';
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

/** One input as given on the command line: a path, or - for standard input. */
interface Input {
  path: string;
  /** How messages name it: the path, or "stdin". */
  name: string;
  parse: LineParser;
}

/**
 * Where each record added came from (input and line, by ordinal), for duplicate-key
 * messages: a line number per record, and the ordinal at which each input began.
 */
class RecordSources {
  private lines = new Float64Array(1024);
  private count = 0;
  private readonly inputStarts: number[] = [];
  private readonly inputs: readonly Input[];
  constructor(inputs: readonly Input[]) {
    this.inputs = inputs;
  }
  /** The records added from now on come from the next input. */
  beginInput(): void {
    this.inputStarts.push(this.count);
  }
  push(line: number): void {
    if (this.count === this.lines.length) {
      const grown = new Float64Array(this.count * 2);
      grown.set(this.lines);
      this.lines = grown;
    }
    this.lines[this.count++] = line;
  }
  /** "in.tsv:12": the input and line of the record added as `ordinal`. */
  describe(ordinal: number): string {
    let input = this.inputStarts.length - 1;
    while (this.inputStarts[input] > ordinal) input--;
    return `${this.inputs[input].name}:${this.lines[ordinal]}`;
  }
}

const program = newCommand('pack')
  .description('Build a packed rokv data file from TSV (key<TAB>value) or NDJSON ({"key":…,"value":…}) lines, read from one or more inputs in order.')
  .argument('<input...>', 'input files, or - for standard input (once); read in the order given, as one input')
  .requiredOption('-o, --output <file>', 'the packed data file to write')
  .addOption(new Option('-f, --format <format>', 'input format of every input (default: each by its extension; tsv for -)').choices(['tsv', 'ndjson']))
  .option('--sep <char>', 'separator for tsv input (default: tab; \'\\t\' accepted)', parseSeparator)
  .option('--base64', 'NDJSON keys and values are base64 (any bytes)')
  .option('--json-values', 'NDJSON: a value that is not a string (object, array, number, true, false, null) is stored as its JSON text, byte for byte as it appears in the line; string values are stored decoded, as without it')
  .addOption(new Option('--dedupe <which>', 'keep the first or last record of a duplicate key, across all inputs (default: error)').choices(['first', 'last']))
  .option('-q, --quiet', 'no progress line and no summary line on stderr');

program.action((paths: string[], opts) => runMain('pack', async () => {
  if (paths.filter((p) => p === '-').length > 1) throw new UsageError('- (standard input) is given more than once');
  const formats = paths.map((input): 'tsv' | 'ndjson' => {
    const format: 'tsv' | 'ndjson' | undefined = opts.format ?? (input === '-' ? 'tsv' : FORMAT_BY_EXTENSION[path.extname(input).toLowerCase()]);
    if (!format) throw new UsageError(`cannot tell the format of ${input} from its extension; give --format tsv or --format ndjson`);
    return format;
  });
  if (opts.sep !== undefined && !formats.includes('tsv')) throw new UsageError('--sep applies to tsv input only');
  if (opts.base64 && !formats.includes('ndjson')) throw new UsageError('--base64 applies to ndjson input only');
  if (opts.jsonValues && !formats.includes('ndjson')) throw new UsageError('--json-values applies to ndjson input only');
  const tsv = separatedParser(opts.sep ?? TAB);
  const ndjson = ndjsonParser({ base64: Boolean(opts.base64), jsonValues: Boolean(opts.jsonValues) });
  const inputs: Input[] = paths.map((p, i) => ({ path: p, name: p === '-' ? 'stdin' : p, parse: formats[i] === 'tsv' ? tsv : ndjson }));
  for (const input of inputs) {
    if (input.path === '-') continue;
    try {
      fs.accessSync(input.path, fs.constants.R_OK);
    } catch (error) {
      throw new InputError(`cannot open ${input.path}: ${reasonOf(error)}`);
    }
  }
  checkOutputFile(opts.output, paths);

  const sources = new RecordSources(inputs);
  const writer = new PackWriter(opts.output, {
    onDuplicate: (existing, incoming, key) => {
      if (opts.dedupe === 'first') return existing;
      if (opts.dedupe === 'last') return incoming;
      throw new InputError(`duplicate key ${describeKey(key)} at ${sources.describe(existing)} and ${sources.describe(incoming)} (use --dedupe first|last to keep one)`);
    },
  });
  const stopWatching = cleanupOnSignal(() => writer.abort());
  const started = performance.now();
  const progress = new Progress('pack', { quiet: opts.quiet });
  try {
    progress.start('reading', 'bytes', inputBytes(inputs));
    const read = { bytes: 0 };
    for (const input of inputs) {
      sources.beginInput();
      const stream = input.path === '-' ? process.stdin : fs.createReadStream(input.path, { highWaterMark: 1 << 20 });
      for await (const line of readInput(readLines(refuseCrOnlyEndings(counted(stream, read, progress))), input.name)) {
        if (line.bytes.length === 0) continue;
        let record: ParsedRecord;
        try {
          record = input.parse(line.bytes);
          const problem = recordProblem(record.key.length, record.value.length);
          if (problem !== null) throw new InputError(problem);
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          throw new InputError(`${input.name}:${line.number}: ${error.message}`);
        }
        writer.add(record.key, record.value); // its errors name the output, not this line
        sources.push(line.number);
      }
    }
    progress.note(`building the index of ${writer.count.toLocaleString('en-US')} records`);
    const summary = await writer.finishAsync();
    progress.end();
    if (!opts.quiet) {
      const dropped = summary.dropped ? ` (${summary.dropped} duplicate keys dropped)` : '';
      process.stderr.write(
        `pack: wrote ${summary.path}: ${summary.records.toLocaleString('en-US')} records${dropped}, ` +
        `${summary.fileSize.toLocaleString('en-US')} bytes in ${((performance.now() - started) / 1000).toFixed(2)} s\n`,
      );
    }
  } catch (error) {
    progress.end();
    writer.abort();
    throw error;
  } finally {
    stopWatching();
  }
}));

/** The size of all inputs together, or null when one is not a regular file (stdin, a FIFO): the total of the progress line. */
function inputBytes(inputs: readonly Input[]): number | null {
  let total = 0;
  for (const input of inputs) {
    if (input.path === '-') return null;
    const stat = fs.statSync(input.path, { throwIfNoEntry: false });
    if (!stat?.isFile()) return null;
    total += stat.size;
  }
  return total;
}

/** The chunks of `stream`, unchanged, adding their sizes to `read.bytes` (all inputs so far) and reporting it to `progress`. */
async function* counted(stream: AsyncIterable<Buffer>, read: { bytes: number }, progress: Progress): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    read.bytes += chunk.length;
    progress.update(read.bytes);
    yield chunk;
  }
}

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
