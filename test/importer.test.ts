// bin/pack: formats, separators, stdin, dedupe, and every input error (exit 1, a
// message with the line number, no output file left behind); NDJSON is text (bytes
// that are not UTF-8 are refused, pointing to --base64); lines under any chunking.

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
    expectFailure(pack('in.tsv', 'a\t1\nb\t2\n\nb\t3\n'), /duplicate key "b" on lines 2 and 4/);
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
