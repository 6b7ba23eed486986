// bin/pack's reading of its input: CR-only (old Mac) line endings are refused in one
// line naming them and the line, instead of packing the whole input as one record;
// CRLF and LF are read as before, and a lone CR after the first line break is data.
// inspect --dump refuses to write a first TSV line pack would refuse. An NDJSON object
// naming "key" or "value" twice, in any spelling, is refused with its line number.

import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { refuseCrOnlyEndings } from '../src/pack/lines.ts';
import { ndjsonParser } from '../src/pack/records.ts';
import { packRecords, runBin, tempDir } from './helpers.ts';

function pack(name: string, content: string | Buffer, extra: string[] = []) {
  const dir = tempDir();
  const input = path.join(dir, name);
  fs.writeFileSync(input, content);
  const output = path.join(dir, 'out.data');
  const run = runBin('pack', [input, '-o', output, '--quiet', ...extra]);
  return { run, input, output, dir };
}

/** Exit 1 (a failure at run time), exactly one line on stderr matching `message`, and no output file left. */
function expectRefused(result: ReturnType<typeof pack>, message: RegExp): void {
  expect(result.run.stderr.trim().split('\n'), result.run.stderr).toHaveLength(1);
  expect(result.run.stderr.trim()).toMatch(message);
  expect(result.run.status).toBe(1);
  expect(fs.readdirSync(result.dir)).toEqual([path.basename(result.input)]);
}

const records = (file: string) => {
  const data = loadDataFile(file);
  return Object.fromEntries(Array.from(data.recordOffsets(), (r) => [data.key(r).toString('latin1'), data.value(r).toString('latin1')]));
};

const CR_ONLY = /^pack: .*in\.(tsv|ndjson):1: input uses CR-only line endings \(old Mac\): line 1 ends with a CR, not LF or CRLF; convert them to LF, e.g\. tr '\\r' '\\n'$/;

describe('pack: line endings', () => {
  const crOnly: [string, string][] = [
    ['CR-only TSV', 'a\t1\rb\t2\r'],
    ['CR-only TSV without a final CR', 'a\t1\rb\t2'],
    ['CR-only TSV ending in one LF', 'a\t1\rb\t2\r\n'],
    ['one record ended by a CR', 'a\t1\r'],
    ['a first line break of CR CR LF', 'a\t1\r\r\nb\t2\r\n'],
    ['a byte-order mark, then CR-only lines', '\ufeffa\t1\rb\t2\r'],
  ];
  for (const [name, content] of crOnly) {
    it(`refuses ${name} (${JSON.stringify(content)}), naming the line ending and the line`, () => {
      expectRefused(pack('in.tsv', content), CR_ONLY);
    });
  }

  it('refuses CR-only NDJSON, and CR-only standard input', () => {
    expectRefused(pack('in.ndjson', '{"key":"a","value":"1"}\r{"key":"b","value":"2"}\r'), CR_ONLY);
    const dir = tempDir();
    const run = runBin('pack', ['-', '-o', path.join(dir, 'out.data')], 'a\t1\rb\t2\r');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^pack: stdin:1: input uses CR-only line endings \(old Mac\)/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('reads LF and CRLF as before; after the first line break a lone CR is data', () => {
    const crlf = pack('in.tsv', 'a\t1\r\nb\t2\r\n');
    expect(crlf.run.status, crlf.run.stderr).toBe(0);
    expect(records(crlf.output)).toEqual({ a: '1', b: '2' });
    const lone = pack('in.tsv', 'a\t1\nb\tx\ry\nc\r\tz\r\n\r\nd\t\r\r\n');
    expect(lone.run.status, lone.run.stderr).toBe(0);
    expect(records(lone.output)).toEqual({ a: '1', b: 'x\ry', 'c\r': 'z', d: '\r' });
    const empty = pack('in.tsv', '\r\na\t1\r');
    expect(empty.run.status, empty.run.stderr).toBe(0);
    expect(records(empty.output)).toEqual({ a: '1' });
  });

  it('decides on the first line break wherever the chunks are cut (a CR at the end of one chunk, LF or not at the start of the next)', async () => {
    const check = async (chunks: string[]): Promise<string> => {
      try {
        for await (const _ of refuseCrOnlyEndings((async function* () { yield* chunks.map((c) => Buffer.from(c, 'latin1')); })()));
        return 'ok';
      } catch (error) {
        return (error as Error).name;
      }
    };
    expect(await check(['a\t1\r', '\nb\t2\r'])).toBe('ok');
    expect(await check(['a\t1\r', '', '\n'])).toBe('ok');
    expect(await check(['a\t', '1\r', 'b\t2\n'])).toBe('LineEndingError');
    expect(await check(['a\t1\r', '', 'b'])).toBe('LineEndingError');
    expect(await check(['a\t1', '\r'])).toBe('LineEndingError');
    expect(await check(['', 'a\t1\n', 'b\rc\n'])).toBe('ok');
    // Any cut of any input decides as the whole input does.
    await fc.assert(fc.asyncProperty(
      fc.array(fc.constantFrom('a', '\t', '\r', '\n'), { maxLength: 12 }).map((c) => c.join('')),
      fc.array(fc.nat({ max: 12 }), { maxLength: 4 }),
      async (input, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
        const chunks = [0, ...at].map((start, i) => input.slice(start, [...at, input.length][i]));
        const first = input.search(/[\r\n]/);
        const want = first >= 0 && input[first] === '\r' && input[first + 1] !== '\n' ? 'LineEndingError' : 'ok';
        expect(await check(chunks)).toBe(want);
        expect(await check([input])).toBe(want);
      },
    ), { numRuns: 300 });
  });
});

describe('inspect --dump --format tsv and a CR on the first line', () => {
  it('refuses a first record holding a CR (pack would refuse that line), before writing anything; base64 carries it', () => {
    const file = packRecords([['cr\rinside', 'v']]);
    const tsv = runBin('inspect', [file, '--dump']);
    expect(tsv.stdout).toBe('');
    expect(tsv.stderr.trim()).toMatch(/^inspect: record 1 cannot be written as tsv: it holds a carriage return, which pack takes on the first line for CR-only line endings; use --format base64 \(any bytes\)$/);
    expect(tsv.status).toBe(1);
    const base64 = runBin('inspect', [file, '--dump', '--format', 'base64']);
    expect(base64.status).toBe(0);
    const again = path.join(tempDir(), 'again.data');
    expect(runBin('pack', ['-', '-f', 'ndjson', '--base64', '-o', again, '-q'], base64.stdout).status).toBe(0);
    expect(fs.readFileSync(again).equals(fs.readFileSync(file))).toBe(true);
  });
});

describe('pack: NDJSON objects naming "key" or "value" twice', () => {
  const lines = (bad: string) => `{"key":"first","value":"1"}\n{"key":"second","value":"2"}\n${bad}\n{"key":"last","value":"4"}\n`;
  const twice: [string, string, 'key' | 'value'][] = [
    ['"key" twice', '{"key":"a","value":"1","key":"b"}', 'key'],
    ['"value" twice', '{"value":"1","key":"a","value":"2"}', 'value'],
    ['"key" the second time as "k\\u0065y"', '{"key":"a","k\\u0065y":"b","value":"1"}', 'key'],
    ['"key" the first time all escaped, upper-case hex', '{"\\u006B\\u0065\\u0079":"a","value":"1","key":"b"}', 'key'],
    ['"value" as "val\\u0075e", with spaces around the colon', '{ "key" : "a" , "value" : "1" , "val\\u0075e" : "2" }', 'value'],
    ['"key" twice with the same value', '{"key":"a","key":"a","value":"1"}', 'key'],
  ];
  for (const [name, line, field] of twice) {
    it(`refuses ${name}, naming the line`, () => {
      expectRefused(pack('in.ndjson', lines(line)), new RegExp(`^pack: .*in\\.ndjson:3: bad JSON: "${field}" appears twice in the object; give it once$`));
    });
  }

  it('with --base64 too', () => {
    expectRefused(pack('in.ndjson', '{"key":"eA==","value":""}\n\n{"key":"YQ==","value":"MQ==","value":"Mg=="}\n', ['--base64']), /in\.ndjson:3: bad JSON: "value" appears twice/);
  });

  it('takes objects where the names only look alike: nested, in strings, escaped backslashes, other fields twice', () => {
    const fine = [
      '{"key":"a","value":"1","meta":{"key":"x","value":"y"},"list":[{"key":1},{"value":2}]}',
      '{"key":"key","value":"\\"key\\": \\"value\\""}',
      '{"key":"caf\\u00e9 \\u0065","value":"\\u006b\\u0065\\u0079"}',
      '{"key":"e","value":"2","k\\\\u0065y":"not key: a backslash, then u0065","other":1,"other":2}',
      '{"key":"f","value":"3","keys":"x","Key":"y","value ":"z"}',
    ];
    const { run, output } = pack('in.ndjson', `${fine.join('\n')}\n`);
    expect(run.status, run.stderr).toBe(0);
    expect(Object.keys(records(output)).sort()).toEqual(['a', 'caf\xc3\xa9 e', 'e', 'f', 'key'].sort());
  });

  it('refuses exactly the objects that name a field twice, however the names are spelled (property)', () => {
    const parse = ndjsonParser({ base64: false, jsonValues: false });
    /** A JSON string for `text`, each character escaped as \uXXXX (either case) or not, at random. */
    const spelled = (text: string) => fc.array(fc.constantFrom('plain', 'lower', 'upper'), { minLength: text.length, maxLength: text.length }).map((how) => `"${[...text].map((ch, i) => {
      const code = ch.charCodeAt(0).toString(16).padStart(4, '0');
      return how[i] === 'plain' ? ch : `\\u${how[i] === 'upper' ? code.toUpperCase() : code}`;
    }).join('')}"`);
    const member = fc.constantFrom('key', 'value', 'other', 'kee', 'values').chain((name) => fc.tuple(fc.constant(name), spelled(name), fc.constantFrom('"s"', '"key"', '{"key":"n","value":"m"}', '["value"]', '1')));
    fc.assert(fc.property(fc.array(member, { maxLength: 6 }), fc.constantFrom('', ' '), (members, space) => {
      const line = `{${members.map(([, name, value]) => `${space}${name}${space}:${space}${value}`).join(',')}}`;
      const names = members.map(([name]) => name);
      const count = (n: string) => names.filter((x) => x === n).length;
      let got: string;
      try {
        parse(Buffer.from(line));
        got = 'ok';
      } catch (error) {
        got = (error as Error).message;
      }
      if (count('key') > 1 || count('value') > 1) expect(got, line).toMatch(/^bad JSON: "(key|value)" appears twice in the object; give it once$/);
      else expect(got, line).not.toMatch(/appears twice/);
    }), { numRuns: 2000 });
  });
});
