// Turns one input line into a key and a value: TSV-like (split at the first separator
// byte, any bytes) or NDJSON ({"key": ..., "value": ...}, optionally base64). NDJSON is
// text: a line that is not valid UTF-8, or a string with a lone surrogate, is refused
// (it would be rewritten to U+FFFD and collide with other keys), and so is an object
// with "key" or "value" twice (JSON.parse would keep the last). Errors say why.

import { isUtf8 } from 'node:buffer';
import { InputError } from '../errors.ts';

/** The TSV separator unless --sep says otherwise. */
export const TAB = 0x09;
const BINARY_HINT = 'binary keys and values need --base64';

export interface ParsedRecord {
  key: Buffer;
  value: Buffer;
}

export type LineParser = (line: Buffer) => ParsedRecord;

export function separatedParser(separator: number): LineParser {
  const shown = separator === TAB ? 'tab' : JSON.stringify(String.fromCharCode(separator));
  return (line) => {
    const at = line.indexOf(separator);
    if (at < 0) throw new InputError(`no separator (${shown})`);
    return { key: line.subarray(0, at), value: line.subarray(at + 1) };
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function field(object: { [name: string]: unknown }, name: string, base64: boolean): Buffer {
  const value = object[name];
  if (typeof value !== 'string') throw new InputError(`"${name}" is ${value === undefined ? 'missing' : 'not a string'}`);
  if (!base64) {
    if (!value.isWellFormed()) throw new InputError(`"${name}" holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; ${BINARY_HINT}`);
    return Buffer.from(value, 'utf8');
  }
  if (!BASE64.test(value)) throw new InputError(`"${name}" is not valid base64`);
  return Buffer.from(value, 'base64');
}

export function ndjsonParser(base64: boolean): LineParser {
  return (line) => {
    if (!isUtf8(line)) throw new InputError(`not valid UTF-8 (${firstBadByte(line)}); ${BINARY_HINT}`);
    const text = line.toString('utf8');
    let object: unknown;
    try {
      object = JSON.parse(text);
    } catch (error) {
      throw new InputError(`bad JSON: ${(error as Error).message}`);
    }
    if (typeof object !== 'object' || object === null || Array.isArray(object)) {
      throw new InputError('bad JSON: not an object with "key" and "value"');
    }
    const repeated = mayRepeatAField(text) ? repeatedField(text) : null;
    if (repeated !== null) throw new InputError(`bad JSON: "${repeated}" appears twice in the object; give it once`);
    const record = object as { [name: string]: unknown };
    return { key: field(record, 'key', base64), value: field(record, 'value', base64) };
  };
}

/**
 * Whether the object's text could name "key" or "value" twice: either name written
 * twice as is, or a \u escape of one of their letters (k e y v a l u) that could spell
 * one of them another way ("k\u0065y"). False for nearly every line, at the cost of a
 * few native searches (about a third of what JSON.parse takes on a typical line);
 * true sends the line to repeatedField().
 */
function mayRepeatAField(text: string): boolean {
  return occursTwice(text, '"key"') || occursTwice(text, '"value"') || (text.includes('\\') && ESCAPED_FIELD_LETTER.test(text));
}

const ESCAPED_FIELD_LETTER = /\\u00(?:6[15bcBC]|7[569])/;

function occursTwice(text: string, what: string): boolean {
  const first = text.indexOf(what);
  return first >= 0 && text.indexOf(what, first + 1) >= 0;
}

/**
 * "key" or "value" if the top-level object of `text` (valid JSON, an object) names it
 * more than once, escapes decoded; else null. Walks the text once: strings skipped,
 * nesting counted, and each member name of the top level decoded by JSON.parse.
 */
function repeatedField(text: string): string | null {
  let depth = 0;
  let keys = 0;
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth !== 1) continue;
      let after = i + 1;
      while (after < text.length && ' \t\r\n'.includes(text[after])) after++;
      if (text[after] !== ':') continue;
      const name = JSON.parse(text.slice(start, i + 1)) as string;
      if (name === 'key' && ++keys > 1) return 'key';
      if (name === 'value' && ++values > 1) return 'value';
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}

/** Where the first byte that breaks UTF-8 is, for the message (each sequence checked by its lead byte). */
function firstBadByte(line: Buffer): string {
  let at = 0;
  while (at < line.length) {
    const lead = line[at];
    const size = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (size === 0 || at + size > line.length || !isUtf8(line.subarray(at, at + size))) break;
    at += size;
  }
  return `byte 0x${line[at].toString(16).padStart(2, '0')} at column ${at + 1}`;
}
