// Turns one input line into a key and a value: TSV-like (split at the first separator
// byte, any bytes) or NDJSON ({"key": ..., "value": ...}, optionally base64). NDJSON is
// text: a line that is not valid UTF-8, or a string with a lone surrogate, is refused
// (it would be rewritten to U+FFFD and collide with other keys), and so is an object
// with "key" or "value" twice (JSON.parse would keep the last). With jsonValues, a
// value that is not a string is kept as its JSON text, sliced from the line byte for
// byte. Errors say why.

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

/** How NDJSON lines are read: --base64 strings, --json-values. */
export interface NdjsonOptions {
  /** Keys and values are base64 strings (any bytes). */
  base64: boolean;
  /** A value that is not a string is stored as its JSON text, as it appears in the line. */
  jsonValues: boolean;
}

function field(object: { [name: string]: unknown }, name: string, base64: boolean): Buffer {
  const value = object[name];
  if (typeof value !== 'string') throw new InputError(`"${name}" is ${value === undefined ? 'missing' : 'not a string'}${name === 'value' && value !== undefined ? ' (pack --json-values stores it as its JSON text)' : ''}`);
  if (!base64) {
    if (!value.isWellFormed()) throw new InputError(`"${name}" holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; ${BINARY_HINT}`);
    return Buffer.from(value, 'utf8');
  }
  if (!BASE64.test(value)) throw new InputError(`"${name}" is not valid base64`);
  return Buffer.from(value, 'base64');
}

export function ndjsonParser(options: NdjsonOptions): LineParser {
  const { base64, jsonValues } = options;
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
    const repeated = mayRepeatAField(text) ? repeatedField(line) : null;
    if (repeated !== null) throw new InputError(`bad JSON: "${repeated}" appears twice in the object; give it once`);
    const record = object as { [name: string]: unknown };
    const key = field(record, 'key', base64);
    const value = record.value;
    if (jsonValues && value !== undefined && typeof value !== 'string') return { key, value: memberText(line, 'value') };
    return { key, value: field(record, 'value', base64) };
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
 * "key" or "value" if the top-level object of `line` (valid JSON, an object) names it
 * more than once, escapes decoded; else null.
 */
function repeatedField(line: Buffer): string | null {
  let keys = 0;
  let values = 0;
  for (const member of topLevelMembers(line)) {
    if (member.name === 'key' && ++keys > 1) return 'key';
    if (member.name === 'value' && ++values > 1) return 'value';
  }
  return null;
}

/** The text of the value of the top-level member `name` of `line` (valid JSON, an object that has it), as a view of the line's bytes. */
function memberText(line: Buffer, name: string): Buffer {
  for (const member of topLevelMembers(line)) if (member.name === name) return line.subarray(member.start, member.end);
  throw new Error(`no member "${name}"`); // the caller parsed the line and saw the member
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** JSON whitespace: space, tab, LF, CR. */
function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function skipSpace(line: Buffer, at: number): number {
  while (at < line.length && isSpace(line[at])) at++;
  return at;
}

/** The index after the string that starts at `at` (its opening quote). */
function stringEnd(line: Buffer, at: number): number {
  for (at++; line[at] !== QUOTE; at++) if (line[at] === BACKSLASH) at++;
  return at + 1;
}

/** The index after the JSON value that starts at `at`: a string, an object or array (nesting counted, strings skipped), or a number, true, false or null. */
function valueEnd(line: Buffer, at: number): number {
  const first = line[at];
  if (first === QUOTE) return stringEnd(line, at);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (;;) {
      const c = line[at];
      if (c === QUOTE) {
        at = stringEnd(line, at);
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return at + 1;
      at++;
    }
  }
  while (at < line.length && line[at] !== COMMA && line[at] !== CLOSE_BRACE && !isSpace(line[at])) at++;
  return at;
}

/**
 * Each member of the top-level object of `line` (valid JSON, an object), in order: its
 * name with escapes decoded, and where its value's text lies (bytes [start, end), the
 * whitespace around it excluded). Structure bytes are ASCII, so the UTF-8 bytes of
 * other characters are never taken for them.
 */
function* topLevelMembers(line: Buffer): Generator<{ name: string; start: number; end: number }> {
  let at = skipSpace(line, 0) + 1; // after the opening brace
  for (;;) {
    at = skipSpace(line, at);
    if (line[at] !== QUOTE) return; // the closing brace
    const nameEnd = stringEnd(line, at);
    const quoted = line.subarray(at, nameEnd);
    const name = quoted.includes(BACKSLASH) ? (JSON.parse(quoted.toString('utf8')) as string) : quoted.toString('utf8', 1, quoted.length - 1);
    at = skipSpace(line, skipSpace(line, nameEnd) + 1); // past the colon
    const end = valueEnd(line, at);
    yield { name, start: at, end };
    at = skipSpace(line, end);
    if (line[at] === COMMA) at++;
  }
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
