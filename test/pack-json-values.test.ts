// pack -f ndjson --json-values: a value that is not a JSON string (object, array,
// number, true, false, null) is stored as its JSON text exactly as it appears in the
// line — inner whitespace, escapes, number spellings and member order kept, the
// whitespace around it dropped; string values are decoded as without the flag, and
// without it a value that is not a string is still refused. The stored bytes are read
// back from the file, through inspect --dump and through a real server.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { command, respExchange } from './resp-helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';
import { runBin, tempDir } from './helpers.ts';

/** Packs NDJSON `lines` with `flags`; the run and the output path. */
function pack(lines: string[], flags: string[] = ['--json-values']) {
  const dir = tempDir();
  const input = path.join(dir, 'in.ndjson');
  fs.writeFileSync(input, lines.map((l) => `${l}\n`).join(''));
  const output = path.join(dir, 'out.data');
  const run = runBin('pack', [input, '-o', output, '--quiet', ...flags]);
  return { run, dir, input, output };
}

/** What the file stores for each key, as text. */
function stored(file: string): Record<string, string> {
  const data = loadDataFile(file);
  return Object.fromEntries(Array.from(data.recordOffsets(), (r) => [data.key(r).toString('utf8'), data.value(r).toString('utf8')]));
}

/** Value texts as they appear in a line, each stored as written. */
const AS_WRITTEN: [string, string][] = [
  ['object', '{"name": "Widget", "tags": ["a", "b"], "price": 9.5}'],
  ['empty object', '{}'],
  ['array', '[1, 2,3 ,[ ], {"a":[null]}]'],
  ['integer', '42'],
  ['negative exponent', '-1.5E+3'],
  ['a number past a double', '12345678901234567890123'], // JSON.stringify(JSON.parse()) would give 1.2345678901234568e+22
  ['a trailing zero', '1.0'], // canonical: 1
  ['true', 'true'],
  ['false', 'false'],
  ['null', 'null'],
  ['strings with escapes', '{"q":"say \\"hi\\"","path":"C:\\\\dir","nl":"a\\nb","u":"\\u00e9\\ud83d\\udd11","slash":"\\/"}'],
  ['raw unicode', '{"clé":"ünï 🔑","中文":["日本"]}'],
  ['whitespace inside', '{ "a" :\t1 ,\r "b" : [ 2 , 3 ] }'],
  ['braces and brackets inside strings', '{"x":"}]{[","y":"\\"}"}'],
  ['"key" and "value" text inside', '{"key":"inner","value":{"key":"deeper","value":1}}'],
];

describe('pack --json-values', () => {
  it('stores each value that is not a string as its text in the line, byte for byte', () => {
    const lines = AS_WRITTEN.map(([name, text]) => `{"key":${JSON.stringify(name)},"value":${text}}`);
    const { run, output } = pack(lines);
    expect(run.status, run.stderr).toBe(0);
    expect(stored(output)).toEqual(Object.fromEntries(AS_WRITTEN));
  });

  it('drops the whitespace around the value, wherever the value stands in the object', () => {
    const { run, output } = pack([
      '{"key":"after", "value" :   {"a": 1}   }',
      '{ "value":[true] ,"key":"first"}',
      '{"value":\t7\t,"key":"tabs","extra":{"value":0}}',
      '  {"key":"last","other":[1,{"value":2}],"value":null}  ',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(stored(output)).toEqual({ after: '{"a": 1}', first: '[true]', tabs: '7', last: 'null' });
  });

  it('finds "value" however its name is spelled ("v\\u0061lue")', () => {
    const { run, output } = pack(['{"key":"k","v\\u0061lue":{"x":"y"}}']);
    expect(run.status, run.stderr).toBe(0);
    expect(stored(output)).toEqual({ k: '{"x":"y"}' });
  });

  it('decodes string values as without the flag', () => {
    const { run, output } = pack(['{"key":"s","value":"caf\\u00e9 \\"q\\" {x}"}', '{"key":"json text in a string","value":"{\\"a\\":1}"}']);
    expect(run.status, run.stderr).toBe(0);
    expect(stored(output)).toEqual({ s: 'café "q" {x}', 'json text in a string': '{"a":1}' });
  });

  it('with --base64, string values are base64 and the others are stored as their text', () => {
    const { run, output } = pack([`{"key":"${Buffer.from('b').toString('base64')}","value":"${Buffer.from([0, 0xff]).toString('base64')}"}`, `{"key":"${Buffer.from('o').toString('base64')}","value":{"n": 1}}`], ['--json-values', '--base64']);
    expect(run.status, run.stderr).toBe(0);
    const data = loadDataFile(output);
    expect(data.get(Buffer.from('b'))?.equals(Buffer.from([0, 0xff]))).toBe(true);
    expect(data.get(Buffer.from('o'))?.toString()).toBe('{"n": 1}');
  });

  it('still refuses what it refused: a missing value, a key that is not a string, "value" given twice, bad JSON', () => {
    const refused: [string, RegExp][] = [
      ['{"key":"k"}', /in\.ndjson:1: "value" is missing$/],
      ['{"key":1,"value":{}}', /in\.ndjson:1: "key" is not a string$/],
      ['{"key":"k","value":{},"value":[]}', /in\.ndjson:1: bad JSON: "value" appears twice in the object; give it once$/],
      ['{"key":"k","value":{"a":}}', /in\.ndjson:1: bad JSON: /],
    ];
    for (const [line, message] of refused) {
      const { run, dir } = pack([line]);
      expect(run.status, line).toBe(1);
      expect(run.stderr.trim(), line).toMatch(message);
      expect(run.stderr.trim().split('\n'), line).toHaveLength(1);
      expect(fs.readdirSync(dir)).toEqual(['in.ndjson']);
    }
  });

  it('without the flag, a value that is not a string is refused as before, pointing to the flag', () => {
    const { run, dir } = pack(['{"key":"k","value":{"a":1}}'], []);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/in\.ndjson:1: "value" is not a string \(pack --json-values stores it as its JSON text\)$/);
    expect(fs.readdirSync(dir)).toEqual(['in.ndjson']);
  });

  it('inspect --dump gives the documents back as written (tsv), and as strings (ndjson) that pack reads into the same file', () => {
    const lines = AS_WRITTEN.map(([name, text]) => `{"key":${JSON.stringify(name)},"value":${text}}`);
    const { output, dir } = pack(lines);
    const tsv = runBin('inspect', [output, '--dump']);
    expect(tsv.status, tsv.stderr).toBe(0);
    expect(tsv.stdout.split('\n').filter((l) => l !== '').sort()).toEqual(AS_WRITTEN.map(([name, text]) => `${name}\t${text}`).sort());
    const ndjson = runBin('inspect', [output, '--dump', '--format', 'ndjson']);
    fs.writeFileSync(path.join(dir, 'dump.ndjson'), ndjson.stdout);
    const again = runBin('pack', [path.join(dir, 'dump.ndjson'), '-o', path.join(dir, 'again.data'), '--quiet']);
    expect(again.status, again.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'again.data')).equals(fs.readFileSync(output))).toBe(true);
  });

  describe('through a server', () => {
    let server: RunningServer | null = null;
    afterAll(async () => {
      await server?.stop();
    });

    it('GET answers each document as written', async () => {
      const lines = AS_WRITTEN.map(([name, text]) => `{"key":${JSON.stringify(name)},"value":${text}}`);
      const { output } = pack(lines);
      server = await startServer(output, ['--resp-port', '0']);
      const requests = Buffer.concat(AS_WRITTEN.map(([name]) => command('GET', name)));
      const { replies } = await respExchange(server.respPort, requests, AS_WRITTEN.length);
      expect(replies.map((r) => (Buffer.isBuffer(r) ? r.toString('utf8') : r))).toEqual(AS_WRITTEN.map(([, text]) => text));
    });
  });
});
