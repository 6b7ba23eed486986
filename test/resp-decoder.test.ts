// The RESP request decoder on its own: any commands (binary args, inline lines),
// cut at any bytes and paused anywhere, decode to the same arguments as sent whole;
// garbage gives at most one protocol error and never an exception; a limit is
// enforced before its bytes are buffered; a partial command is copied only once.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ArgList, MAX_BULK_LENGTH, MAX_INLINE_BYTES, MAX_REQUEST_BYTES, RespRequestDecoder } from '../src/protocol/resp/decoder.ts';
import { cut } from './helpers.ts';
import { command } from './resp-helpers.ts';

interface Result {
  commands: string[][];
  errors: string[];
  decoder: RespRequestDecoder;
}

/** Feeds chunks; pauses after the commands numbered in pauseAt and resumes at once. */
function decodeAll(chunks: Buffer[], pauseAt = new Set<number>()): Result {
  const commands: string[][] = [];
  const errors: string[] = [];
  const decoder = new RespRequestDecoder({
    onCommand(a: ArgList) {
      commands.push(Array.from({ length: a.count }, (_, i) => a.bytes(i).toString('hex')));
      return !pauseAt.has(commands.length);
    },
    onProtocolError: (message) => errors.push(message),
  });
  for (const chunk of chunks) {
    decoder.push(chunk);
    while (decoder.paused) decoder.resume();
  }
  return { commands, errors, decoder };
}

const hex = (args: (string | Buffer)[]) => args.map((a) => Buffer.from(a).toString('hex'));
const binaryArgs = fc.array(fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), { minLength: 1, maxLength: 6 });
const word = fc.stringMatching(/^[a-zA-Z0-9:{}_-]{1,12}$/);
const inlineLine = fc.array(word, { minLength: 1, maxLength: 5 });

describe('RESP request decoder', () => {
  it('multibulk and inline commands, cut anywhere and paused anywhere, decode as sent', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(binaryArgs.map((args) => ({ inline: false as const, args })), inlineLine.map((args) => ({ inline: true as const, args }))), { minLength: 1, maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.array(fc.nat({ max: 25 }), { maxLength: 5 }),
      (list, cuts, pauses) => {
        const bytes = Buffer.concat(list.map((c) => (c.inline ? Buffer.from(`${c.args.join(' ')}\r\n`) : command(...c.args))));
        const { commands, errors } = decodeAll(cut(bytes, cuts), new Set(pauses));
        expect(errors).toEqual([]);
        expect(commands).toEqual(list.map((c) => hex(c.args)));
      },
    ));
  });

  it('random bytes: never an exception, at most one protocol error, nothing decoded after it', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
      const errors: string[] = [];
      let afterError = 0;
      const decoder = new RespRequestDecoder({
        onCommand: () => {
          if (errors.length > 0) afterError++;
          return true;
        },
        onProtocolError: (m) => errors.push(m),
      });
      for (const chunk of cut(Buffer.from(bytes), cuts)) decoder.push(chunk);
      expect(errors.length).toBeLessThanOrEqual(1);
      expect(afterError).toBe(0);
      for (const e of errors) expect(e).toMatch(/^Protocol error: /);
    }));
  });

  it('empty arrays and empty inline lines are skipped, as Redis does', () => {
    const { commands, errors } = decodeAll([Buffer.from('*0\r\n*-1\r\n\r\n   \r\n*1\r\n$4\r\nPING\r\n')]);
    expect(errors).toEqual([]);
    expect(commands).toEqual([hex(['PING'])]);
  });

  it('a bulk length over the limit (proto-max-bulk-len) is refused from its header alone, nothing buffered', () => {
    const { errors, decoder } = decodeAll([Buffer.from(`*2\r\n$3\r\nGET\r\n$${MAX_BULK_LENGTH + 1}\r\n`)]);
    expect(errors).toEqual(['Protocol error: invalid bulk length']);
    expect(decoder.buffered).toBe(0);
  });

  it('a bulk longer than any key is taken', () => {
    const key = Buffer.alloc(100_000, 0x6b);
    const { commands, errors } = decodeAll(cut(command('GET', key), [1, 100, 5000, 70_000]));
    expect(errors).toEqual([]);
    expect(commands[0][1]).toBe(key.toString('hex'));
  });

  it('an inline line without a newline is refused once it passes 64 KiB, buffering no more', () => {
    const chunks = Array.from({ length: 3 }, () => Buffer.alloc(30_000, 0x61));
    const { errors, decoder } = decodeAll(chunks);
    expect(errors).toEqual(['Protocol error: too big inline request']);
    expect(decoder.buffered).toBe(0);
    expect(MAX_INLINE_BYTES).toBe(65_536);
  });

  it('a multibulk trickled byte by byte buffers only its own bytes and stays under the request limit', () => {
    const args = Array.from({ length: 40 }, (_, i) => Buffer.alloc(20_000, i));
    const bytes = command('MGET', ...args);
    expect(bytes.length).toBeLessThan(MAX_REQUEST_BYTES);
    let most = 0;
    const decoder = new RespRequestDecoder({ onCommand: () => true, onProtocolError: () => {} });
    for (let i = 0; i < bytes.length; i += 997) {
      decoder.push(bytes.subarray(i, i + 997));
      most = Math.max(most, decoder.buffered);
    }
    expect(decoder.buffered).toBe(0);
    expect(most).toBeLessThan(bytes.length);
  });
});
