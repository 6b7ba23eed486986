// bin/pack: formats, separators, stdin, dedupe, and every input error (exit 1, a
// message with the line number, no output file left behind); several inputs (files
// and -, each format by its extension) read in order as one, duplicates across them;
// NDJSON is text (bytes that are not UTF-8 are refused, pointing to --base64); lines
// under any chunking.

import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { readLines } from '../src/pack/lines.ts';
import { cut, runBin, tempDir } from './helpers.ts';

function pack(name: string, content: string | Buffer, extra: string[] = []) {
  const dir = tempDir();
  const input = path.join(dir, name);
  fs.writeFileSync(input, content);
  const output = path.join(dir, 'out.data');
  const run = runBin('pack', [input, '-o', output, '--quiet', ...extra]);
  return { run, output, dir };
}

function expectFailure(result: ReturnType<typeof pack>, message: RegExp, status = 1) {
  expect(result.run.status).toBe(status);
  expect(result.run.stderr.trim()).toMatch(message);
  expect(result.run.stderr.trim().split('\n')).toHaveLength(1);
  expect(fs.readdirSync(result.dir)).toEqual([path.basename(fs.readdirSync(result.dir).find((f) => !f.endsWith('.data')) ?? '')]);
}

const value = (file: string, key: string | Buffer) => loadDataFile(file).get(Buffer.from(key));

describe('pack: inputs', () => {
  it('reads TSV, splitting at the first tab and accepting CRLF', () => {
    const { run, output } = pack('in.tsv', 'a\t1\r\nb\tx\ty\nempty\t\n\nlast\tno newline');
    expect(run.status).toBe(0);
    expect(value(output, 'a')?.toString()).toBe('1');
    expect(value(output, 'b')?.toString()).toBe('x\ty');
    expect(value(output, 'empty')?.length).toBe(0);
    expect(value(output, 'last')?.toString()).toBe('no newline');
    expect(loadDataFile(output).recordCount).toBe(4);
  });

  it('reads space-separated text with --sep " " (the old generator\'s files)', () => {
    const { run, output } = pack('old.txt', 'k1 v one\nk2 v2\n', ['--sep', ' ']);
    expect(run.status).toBe(0);
    expect(value(output, 'k1')?.toString()).toBe('v one');
  });

  it('reads NDJSON, and base64 NDJSON for any bytes', () => {
    const plain = pack('in.ndjson', '{"key":"k","value":"é"}\n{"value":"v2","key":"k2"}\n');
    expect(plain.run.status).toBe(0);
    expect(value(plain.output, 'k')?.toString()).toBe('é');
    const bytes = Buffer.from([0, 0xff, 0xc3, 0x28]);
    const b64 = pack('in.jsonl', `${JSON.stringify({ key: bytes.toString('base64'), value: Buffer.from([0xfe, 0]).toString('base64') })}\n`, ['--base64']);
    expect(b64.run.status).toBe(0);
    expect(value(b64.output, bytes)?.equals(Buffer.from([0xfe, 0]))).toBe(true);
  });

  it('reads standard input with -', () => {
    const dir = tempDir();
    const output = path.join(dir, 'stdin.data');
    const run = runBin('pack', ['-', '-o', output], 'x\t1\ny\t2\n');
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/wrote .*stdin\.data: 2 records/);
    expect(value(output, 'y')?.toString()).toBe('2');
  });

  it('keeps the first or last duplicate with --dedupe', () => {
    const content = 'a\t1\nb\t2\na\t3\n';
    const first = pack('d.tsv', content, ['--dedupe', 'first']);
    expect(first.run.status).toBe(0);
    expect(value(first.output, 'a')?.toString()).toBe('1');
    expect(loadDataFile(first.output).recordCount).toBe(2);
    const last = pack('d.tsv', content, ['--dedupe', 'last']);
    expect(value(last.output, 'a')?.toString()).toBe('3');
    expect(value(last.output, 'b')?.toString()).toBe('2');
  });
});

describe('pack: errors', () => {
  it('a line without a separator', () => {
    expectFailure(pack('in.tsv', 'a\t1\nno-tab-here\n'), /in\.tsv:2: no separator \(tab\)$/);
  });
  it('bad JSON', () => {
    expectFailure(pack('in.ndjson', '{"key":"a","value":"1"}\n{"key": "b",\n'), /in\.ndjson:2: bad JSON/);
  });
  it('a JSON line without a string value', () => {
    expectFailure(pack('in.ndjson', '{"key":"a","value":1}\n'), /in\.ndjson:1: "value" is not a string/);
  });
  it('an empty key', () => {
    expectFailure(pack('in.tsv', 'a\t1\n\tvalue\n'), /in\.tsv:2: empty key/);
  });
  it('a key over 65,535 bytes', () => {
    expectFailure(pack('in.tsv', `ok\t1\n${'k'.repeat(65_536)}\tv\n`), /in\.tsv:2: key of 65536 bytes is over 65535 bytes/);
  });
  it('bad base64', () => {
    expectFailure(pack('in.ndjson', '{"key":"a$b=","value":"AA=="}\n', ['--base64']), /in\.ndjson:1: "key" is not valid base64/);
  });
  it('a duplicate key names both lines', () => {
    expectFailure(pack('in.tsv', 'a\t1\nb\t2\n\nb\t3\n'), /duplicate key "b" at \S*in\.tsv:2 and \S*in\.tsv:4 \(use --dedupe first\|last to keep one\)$/);
  });
  it('an unknown extension without --format', () => {
    expectFailure(pack('in.csv', 'a,1\n'), /cannot tell the format/, 2);
  });
  it('a bad flag value', () => {
    const run = runBin('pack', ['x.tsv', '-o', 'y.data', '--sep', 'ab']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/not a one-byte separator/);
  });
  it('a missing input file', () => {
    const run = runBin('pack', ['/nonexistent/in.tsv', '-o', path.join(tempDir(), 'o.data')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot open \/nonexistent\/in\.tsv/);
  });
  it('an existing output file is left as it was when the import fails', () => {
    const { dir } = pack('in.tsv', 'a\t1\n');
    const output = path.join(dir, 'out.data');
    const before = fs.readFileSync(output);
    fs.writeFileSync(path.join(dir, 'bad.tsv'), 'a\t1\nbad\n');
    const run = runBin('pack', [path.join(dir, 'bad.tsv'), '-o', output]);
    expect(run.status).toBe(1);
    expect(fs.readFileSync(output).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['bad.tsv', 'in.tsv', 'out.data']);
  });
});

describe('pack: several inputs', () => {
  /** Files in a new folder (name → content); their paths, by name. */
  function files(contents: Record<string, string>): { dir: string; at: (name: string) => string } {
    const dir = tempDir();
    for (const [name, content] of Object.entries(contents)) fs.writeFileSync(path.join(dir, name), content);
    return { dir, at: (name) => path.join(dir, name) };
  }
  const records = (file: string) => {
    const data = loadDataFile(file);
    return Array.from(data.recordOffsets(), (r) => `${data.key(r)}=${data.value(r)}`);
  };

  it('reads files of each format and stdin, in the order given, into one file: the same as their lines in one input', () => {
    const { at } = files({ 'a.tsv': 'a\t1\nb\t2\n', 'b.ndjson': '{"key":"c","value":"3"}\n', 'one.tsv': 'a\t1\nb\t2\nc\t3\nd\t4\n' });
    const run = runBin('pack', [at('a.tsv'), at('b.ndjson'), '-', '-o', at('out.data')], 'd\t4\n');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^pack: wrote .*out\.data: 4 records, /);
    expect(records(at('out.data'))).toEqual(['a=1', 'b=2', 'c=3', 'd=4']);
    expect(runBin('pack', [at('one.tsv'), '-o', at('one.data')]).status).toBe(0);
    expect(fs.readFileSync(at('out.data')).equals(fs.readFileSync(at('one.data')))).toBe(true);
  });

  it('a duplicate key across inputs is an error naming both inputs and lines; --dedupe keeps the first or last in input order', () => {
    const { dir, at } = files({ 'a.tsv': 'x\t1\nk\tfirst\n', 'b.tsv': 'y\t2\n\nk\tlast\n' });
    const run = runBin('pack', [at('a.tsv'), at('b.tsv'), '-o', at('out.data')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`pack: duplicate key "k" at ${at('a.tsv')}:2 and ${at('b.tsv')}:3 (use --dedupe first|last to keep one)\n`);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.tsv', 'b.tsv']);
    const fromStdin = runBin('pack', [at('a.tsv'), '-', '-o', at('out.data')], 'k\tagain\n');
    expect(fromStdin.stderr).toBe(`pack: duplicate key "k" at ${at('a.tsv')}:2 and stdin:1 (use --dedupe first|last to keep one)\n`);
    expect(runBin('pack', [at('a.tsv'), at('b.tsv'), '-o', at('first.data'), '--dedupe', 'first']).status).toBe(0);
    expect(records(at('first.data'))).toEqual(['x=1', 'k=first', 'y=2']);
    expect(runBin('pack', [at('a.tsv'), at('b.tsv'), '-o', at('last.data'), '--dedupe', 'last']).status).toBe(0);
    expect(loadDataFile(at('last.data')).get(Buffer.from('k'))?.toString()).toBe('last');
  });

  it('a bad line names its input and its line in that input; nothing is written', () => {
    const { dir, at } = files({ 'a.tsv': 'a\t1\nb\t2\n', 'b.ndjson': '{"key":"c","value":"3"}\n{"key":"d"}\n' });
    const run = runBin('pack', [at('a.tsv'), at('b.ndjson'), '-o', at('out.data')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`pack: ${at('b.ndjson')}:2: "value" is missing\n`);
    const stdin = runBin('pack', [at('a.tsv'), '-', '-o', at('out.data')], 'ok\t1\nno tab\n');
    expect(stdin.stderr).toBe('pack: stdin:2: no separator (tab)\n');
    expect(fs.readdirSync(dir).sort()).toEqual(['a.tsv', 'b.ndjson']);
  });

  it('each input has its own line numbers, byte-order mark and line endings', () => {
    const { at } = files({ 'a.tsv': '\ufeffa\t1\r\n', 'b.tsv': '\ufeffb\t2\n', 'c.tsv': 'c\t3\rd\t4\r' });
    expect(runBin('pack', [at('a.tsv'), at('b.tsv'), '-o', at('out.data')]).status).toBe(0);
    expect(records(at('out.data'))).toEqual(['a=1', 'b=2']);
    const run = runBin('pack', [at('a.tsv'), at('c.tsv'), '-o', at('out2.data')]);
    expect(run.stderr).toMatch(/^pack: \S*c\.tsv:1: input uses CR-only line endings/);
  });

  it('a missing input anywhere in the list fails before anything is read; flags must fit some input; - only once', () => {
    const { dir, at } = files({ 'a.tsv': 'a\t1\n', 'b.ndjson': '{"key":"b","value":"2"}\n' });
    const missing = runBin('pack', [at('a.tsv'), at('nope.tsv'), '-o', at('out.data')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^pack: cannot open \S*nope\.tsv: no such file\b[^\n]*\n$/);
    const usage = (args: string[], message: RegExp) => {
      const run = runBin('pack', [...args, '-o', at('out.data')]);
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr.trim()).toMatch(message);
    };
    usage([at('a.tsv'), '-', '-'], /^pack: - \(standard input\) is given more than once; see --help$/);
    usage([at('a.tsv'), at('a.tsv'), '--base64'], /^pack: --base64 applies to ndjson input only; see --help$/);
    usage([at('a.tsv'), '--json-values'], /^pack: --json-values applies to ndjson input only; see --help$/);
    usage([at('b.ndjson'), '--sep', ','], /^pack: --sep applies to tsv input only; see --help$/);
    usage([at('a.tsv'), path.join(dir, 'c.csv')], /cannot tell the format of \S*c\.csv/);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.tsv', 'b.ndjson']);
    // --base64 with a TSV and an NDJSON input applies to the NDJSON one
    fs.writeFileSync(at('c.ndjson'), `{"key":"${Buffer.from('c').toString('base64')}","value":"${Buffer.from([0, 0xff]).toString('base64')}"}\n`);
    expect(runBin('pack', [at('a.tsv'), at('c.ndjson'), '--base64', '-o', at('mixed.data')]).status).toBe(0);
    expect(loadDataFile(at('mixed.data')).get(Buffer.from('c'))?.equals(Buffer.from([0, 0xff]))).toBe(true);
    // -f sets the format of every input
    fs.writeFileSync(at('d.txt'), '{"key":"d","value":"4"}\n');
    expect(runBin('pack', [at('b.ndjson'), at('d.txt'), '-f', 'ndjson', '-o', at('all.data')]).status).toBe(0);
    expect(records(at('all.data'))).toEqual(['b=2', 'd=4']);
  });

  it('the output may not be one of the inputs', () => {
    const { at } = files({ 'a.tsv': 'a\t1\n', 'b.tsv': 'b\t2\n' });
    const run = runBin('pack', [at('a.tsv'), at('b.tsv'), '-o', at('b.tsv'), '-f', 'tsv']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/b\.tsv is also the input/);
    expect(fs.readFileSync(at('b.tsv'), 'utf8')).toBe('b\t2\n');
  });
});

describe('NDJSON is text', () => {
  it('a raw 0xff byte is refused with its line and a pointer to --base64; nothing is written', () => {
    const dir = tempDir();
    const input = path.join(dir, 'in.ndjson');
    fs.writeFileSync(input, Buffer.concat([Buffer.from('{"key":"ok","value":"1"}\n{"key":"a'), Buffer.from([0xff]), Buffer.from('b","value":"x"}\n')]));
    const run = runBin('pack', [input, '-o', path.join(dir, 'out.data')]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(`pack: ${input}:2: not valid UTF-8 (byte 0xff at column 10); binary keys and values need --base64`);
    expect(fs.readdirSync(dir)).toEqual(['in.ndjson']);
  });

  it('a lone surrogate is refused: "\\ud800" and "\\udfff" would both become U+FFFD and collide', () => {
    const dir = tempDir();
    const input = path.join(dir, 'in.ndjson');
    fs.writeFileSync(input, '{"key":"\\ud800","value":"1"}\n{"key":"\\udfff","value":"2"}\n');
    const run = runBin('pack', [input, '-o', path.join(dir, 'out.data'), '--dedupe', 'last']);
    expect(run.status).toBe(1);
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
