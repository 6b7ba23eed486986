// Turns one input line into a key and a value: TSV-like (split at the first separator
// byte, any bytes) or NDJSON ({"key": ..., "value": ...}, optionally base64). NDJSON is
// text: a line that is not valid UTF-8, or a string with a lone surrogate, is refused
// (it would be rewritten to U+FFFD and collide with other keys). Errors say why.

import { isUtf8 } from 'node:buffer';
import { InputError } from '../errors.ts';

/** The TSV separator unless --sep says otherwise. */
export const TAB = 0x09;
const BINARY_HINT = 'binary keys and values need --base64';

export interface Record {
  key: Buffer;
  value: Buffer;
}

export type LineParser = (line: Buffer) => Record;

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
    let object: unknown;
    try {
      object = JSON.parse(line.toString('utf8'));
    } catch (error) {
      throw new InputError(`bad JSON: ${(error as Error).message}`);
    }
    if (typeof object !== 'object' || object === null || Array.isArray(object)) {
      throw new InputError('bad JSON: not an object with "key" and "value"');
    }
    const record = object as { [name: string]: unknown };
    return { key: field(record, 'key', base64), value: field(record, 'value', base64) };
  };
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
