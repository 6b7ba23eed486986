// Turns one input line into a key and a value: TSV-like (split at the first separator
// byte) or NDJSON ({"key": ..., "value": ...}, optionally base64). Errors say why.

import { InputError } from '../errors.ts';

export interface Record {
  key: Buffer;
  value: Buffer;
}

export type LineParser = (line: Buffer) => Record;

export function separatedParser(separator: number): LineParser {
  const shown = separator === 0x09 ? 'tab' : JSON.stringify(String.fromCharCode(separator));
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
  if (!base64) return Buffer.from(value, 'utf8');
  if (!BASE64.test(value)) throw new InputError(`"${name}" is not valid base64`);
  return Buffer.from(value, 'base64');
}

export function ndjsonParser(base64: boolean): LineParser {
  return (line) => {
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
