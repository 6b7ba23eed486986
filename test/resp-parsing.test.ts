// How the RESP front reads requests, byte for byte as Redis 7 does (networking.c's
// processMultibulkBuffer and processInlineBuffer, string2ll, sdssplitargs). Every
// expected reply below is what redis-server 7.0.15 (Debian 12) answered to the same
// bytes, recorded with a raw socket; `closed` is whether Redis closed the connection.
// Each case is also fed one byte at a time, which must not change the answer.

import { describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { Budget } from '../src/protocol/budget.ts';
import { type ArgList, MAX_ARGS, RespRequestDecoder } from '../src/protocol/resp/decoder.ts';
import { respCodec } from '../src/protocol/resp/session.ts';
import { Service } from '../src/service/service.ts';
import { memoryVersionOf } from '../src/storage/tiers.ts';
import { fakeConnection } from '../tools/fake-connection.ts';
import { packRecords } from './helpers.ts';
import { command } from './resp-helpers.ts';

const file = packRecords([['k', 'v']]);
const service = new Service(memoryVersionOf(loadDataFile(file)), { file });

/** Feeds `bytes` (in one chunk, or one byte per chunk) to a new RESP connection: what it wrote, and whether it closed. */
function exchange(bytes: Buffer, byteByByte = false): { reply: string; closed: boolean } {
  const c = fakeConnection(respCodec, service);
  if (byteByByte) for (let i = 0; i < bytes.length; i++) c.feed(bytes.subarray(i, i + 1));
  else c.feed(bytes);
  return { reply: c.written().toString('latin1'), closed: c.socket.ended };
}

// [what, request bytes, Redis's reply, Redis closed the connection]
const REDIS: [string, string, string, boolean][] = [
    ["*01: leading zero in a count", '*01\r\n$4\r\nPING\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["$04: leading zero in a bulk length", '*1\r\n$04\r\nPING\r\n', '-ERR Protocol error: invalid bulk length\r\n', true],
    ["*-0", '*-0\r\n*1\r\n$4\r\nPING\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["*+1", '*+1\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["* 1", '* 1\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["* alone", '*\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["*-1 is skipped", '*-1\r\n*1\r\n$4\r\nPING\r\n', '+PONG\r\n', false],
    ["*0 is skipped", '*0\r\n*1\r\n$4\r\nPING\r\n', '+PONG\r\n', false],
    ["*-5 is skipped", '*-5\r\n*1\r\n$4\r\nPING\r\n', '+PONG\r\n', false],
    ["*-2^63 is skipped", '*-9223372036854775808\r\nPING\r\n', '+PONG\r\n', false],
    ["*-2^63-1 overflows", '*-9223372036854775809\r\nPING\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["*2^31 is over INT_MAX", '*2147483648\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["*2^64 overflows", '*18446744073709551616\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["a count line ending in LF only runs on to the next CR", '*1\n$4\r\nPING\r\n', '-ERR Protocol error: invalid multibulk length\r\n', true],
    ["the 2 bytes after a bulk are not checked", '*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n', '+PONG\r\n+PONG\r\n', false],
    ["the byte after a header CR is not checked", '*1\rX$4\rYPINGab*2\r\n$4\r\nECHO\r\n$1\r\nz\r\n', '+PONG\r\n$1\r\nz\r\n', false],
    ["$-1 inside a command", '*1\r\n$-1\r\n', '-ERR Protocol error: invalid bulk length\r\n', true],
    ["$-0", '*1\r\n$-0\r\n', '-ERR Protocol error: invalid bulk length\r\n', true],
    ["$ over proto-max-bulk-len", '*1\r\n$536870913\r\n', '-ERR Protocol error: invalid bulk length\r\n', true],
    ["$ with a space", '*1\r\n$ 4\r\nPING\r\n', '-ERR Protocol error: invalid bulk length\r\n', true],
    ["something else where $ belongs", '*1\r\n:5\r\n', '-ERR Protocol error: expected \'$\', got \':\'\r\n', true],
    ["not judged before its CR", '*1\r\n:5', '', false],
    ["a CR where $ belongs", '*1\r\n\r\n', '-ERR Protocol error: expected \'$\', got \' \'\r\n', true],
    ["an LF where $ belongs", '*1\r\n\n\r\n', '-ERR Protocol error: expected \'$\', got \' \'\r\n', true],
    ["a high byte where $ belongs", '*1\r\n\x80\r\n', '-ERR Protocol error: expected \'$\', got \'\x80\'\r\n', true],
    ["a count line with a CR at its very end waits", '*1\r', '', false],
    ["inline: a bare CR separates words", 'PING\rECHO\r\n', '$4\r\nECHO\r\n', false],
    ["inline: a bare CR inside a word", 'ECHO a\rb\r\n', '-ERR wrong number of arguments for \'echo\' command\r\n', false],
    ["inline: \\v inside a word is kept", 'ECHO a\x0bb\r\n', '$3\r\na\x0bb\r\n', false],
    ["inline: \\v and \\f before a word are skipped", 'ECHO \x0b\x0cb\r\n', '$1\r\nb\r\n', false],
    ["inline: spaces and CRs around", ' PING \r\r\n', '+PONG\r\n', false],
    ["inline: empty lines are skipped", '\r\n\n \t\r\nPING\n', '+PONG\r\n', false],
    ["inline: a NUL before the LF: never a line", 'PING\x00\r\n', '', false],
    ["inline: double quotes", 'ECHO "a b"\r\n', '$3\r\na b\r\n', false],
    ["inline: escapes in double quotes", 'ECHO "\\x41\\n\\r\\t\\b\\a\\q\\x4g\\\\"\r\n', '$11\r\nA\n\r\t\x08\x07qx4g\\\r\n', false],
    ["inline: single quotes", 'ECHO \'it\\\'s \\n\'\r\n', '$7\r\nit\'s \\n\r\n', false],
    ["inline: quotes inside a word", 'ECHO ab"cd"\r\n', '$4\r\nabcd\r\n', false],
    ["inline: empty quotes", 'ECHO \'\'\r\n', '$0\r\n\r\n', false],
    ["inline: closing quote then \\v", 'ECHO "a"\x0b\r\n', '$1\r\na\r\n', false],
    ["inline: closing quote then a letter", 'ECHO "a"b\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n', true],
    ["inline: unterminated double quote", 'ECHO "a\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n', true],
    ["inline: unterminated after a backslash", 'ECHO "a\\\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n', true],
    ["inline: unterminated single quote", 'ECHO \'a\\\\\'\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n', true],
    ["inline: quotes, then more commands", 'ECHO "x y" \'z\'\r\nPING\r\n', '-ERR wrong number of arguments for \'echo\' command\r\n+PONG\r\n', false],
    ["integers too: GETRANGE with -0", '*4\r\n$8\r\nGETRANGE\r\n$1\r\nk\r\n$2\r\n-0\r\n$1\r\n1\r\n', '-ERR value is not an integer or out of range\r\n', false],
    ["integers too: GETRANGE with 00", '*4\r\n$8\r\nGETRANGE\r\n$1\r\nk\r\n$2\r\n00\r\n$1\r\n1\r\n', '-ERR value is not an integer or out of range\r\n', false],
];

const A64K = (n: number, byte = 0x61) => Buffer.alloc(n, byte);
// Lines that never end (no CR or LF in 64 KiB, or a NUL first): refused once over 64 KiB wait.
const BIG: [string, Buffer, string, boolean][] = [
  ['inline: a NUL, then 70,000 bytes and an LF', Buffer.concat([Buffer.from('PING\0'), A64K(70_000), Buffer.from('\r\n')]), '-ERR Protocol error: too big inline request\r\n', true],
  ['inline: 70,000 bytes without LF', A64K(70_000), '-ERR Protocol error: too big inline request\r\n', true],
  ['*1 then a NUL and 70,000 bytes', Buffer.concat([Buffer.from('*1\0'), A64K(70_000), Buffer.from('\r\n')]), '-ERR Protocol error: too big mbulk count string\r\n', true],
  ['a count line of 70,000 digits without CR', Buffer.concat([Buffer.from('*'), A64K(70_000, 0x31)]), '-ERR Protocol error: too big mbulk count string\r\n', true],
  ['a count line of 65,535 digits without CR waits', Buffer.concat([Buffer.from('*'), A64K(65_535, 0x31)]), '', false],
  ['a count line of 1,000 digits, then CR', Buffer.concat([Buffer.from('*'), A64K(1000, 0x31), Buffer.from('\r\n')]), '-ERR Protocol error: invalid multibulk length\r\n', true],
  ['a bulk length line of 70,000 digits without CR', Buffer.concat([Buffer.from('*1\r\n$'), A64K(70_000, 0x31)]), '-ERR Protocol error: too big bulk count string\r\n', true],
  ['a bulk length line with a NUL', Buffer.concat([Buffer.from('*1\r\n$\0'), A64K(70_000, 0x31), Buffer.from('\r\n')]), '-ERR Protocol error: too big bulk count string\r\n', true],
  ['a wrong byte where $ belongs, and no CR in 70,000', Buffer.concat([Buffer.from('*1\r\n:'), A64K(70_000, 0x31)]), '-ERR Protocol error: too big bulk count string\r\n', true],
];

describe('requests are read as Redis 7 reads them', () => {
  for (const [what, request, reply, closed] of REDIS) {
    it(what, () => {
      const bytes = Buffer.from(request, 'latin1');
      expect(exchange(bytes)).toEqual({ reply, closed });
      expect(exchange(bytes, true)).toEqual({ reply, closed });
    });
  }

  for (const [what, bytes, reply, closed] of BIG) {
    it(what, () => {
      expect(exchange(bytes)).toEqual({ reply, closed });
      const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 40_000), bytes.subarray(40_000)];
      const c = fakeConnection(respCodec, service);
      for (const chunk of chunks) c.feed(chunk);
      expect({ reply: c.written().toString('latin1'), closed: c.socket.ended }).toEqual({ reply, closed });
    });
  }

  it('an inline command of a bulk-sized word, and pipelined commands after a skipped bulk trailer', () => {
    const word = 'w'.repeat(60_000);
    expect(exchange(Buffer.from(`ECHO ${word}\r\n`)).reply).toBe(`$60000\r\n${word}\r\n`);
    const pipeline = Buffer.concat([Buffer.from('*2\r\n$4\r\nECHO\r\n$3\r\nabc??'), command('GET', 'k'), Buffer.from('*-1\rXPING\r\n')]);
    expect(exchange(pipeline)).toEqual({ reply: '$3\r\nabc\r\n$1\r\nv\r\n+PONG\r\n', closed: false });
    expect(exchange(pipeline, true)).toEqual({ reply: '$3\r\nabc\r\n$1\r\nv\r\n+PONG\r\n', closed: false });
  });
});

describe('request limits', () => {
  /** A decoder on a budget of `limit` bytes; what it decoded and the errors it reported. */
  function decoder(limit: number) {
    const budget = new Budget(limit);
    const seen: { commands: number[]; errors: string[]; refused: number } = { commands: [], errors: [], refused: 0 };
    const d = new RespRequestDecoder({
      onCommand: (a: ArgList) => { seen.commands.push(a.count); return true; },
      onProtocolError: (m) => seen.errors.push(m),
      onBufferLimit: () => seen.refused++,
    }, budget);
    return { d, budget, seen };
  }

  it('an MGET of 100,000 36-byte keys (4.3 MB) is one command, fed in 64 KiB chunks', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);
    const bytes = command('MGET', ...keys);
    const { d, budget, seen } = decoder(64 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 65_536) d.push(bytes.subarray(i, i + 65_536));
    expect(seen).toEqual({ commands: [100_001], errors: [], refused: 0 });
    expect(budget.used).toBe(0);
  });

  it(`a command of ${MAX_ARGS} arguments is taken; one more is refused from its header`, () => {
    const { d, seen } = decoder(64 * 1024 * 1024);
    const arg = Buffer.from('$0\r\n\r\n');
    d.push(Buffer.from(`*${MAX_ARGS}\r\n`));
    d.push(Buffer.concat(Array.from({ length: MAX_ARGS }, () => arg)));
    expect(seen).toEqual({ commands: [MAX_ARGS], errors: [], refused: 0 });
    const over = decoder(64 * 1024 * 1024);
    over.d.push(Buffer.from(`*${MAX_ARGS + 1}\r\n`));
    expect(over.seen.errors).toEqual([`Protocol error: multibulk count over ${MAX_ARGS}`]);
  });

  it('a bulk of 1 MB is taken (Redis: up to proto-max-bulk-len, 512 MB)', () => {
    const { d, seen } = decoder(64 * 1024 * 1024);
    const bytes = command('ECHO', Buffer.alloc(1_000_000, 0x62));
    for (let i = 0; i < bytes.length; i += 65_536) d.push(bytes.subarray(i, i + 65_536));
    expect(seen).toEqual({ commands: [2], errors: [], refused: 0 });
  });

  it('a bulk that could never fit the budget for unfinished requests is refused from its header, nothing buffered', () => {
    const { d, seen, budget } = decoder(2 * 1024 * 1024);
    d.push(Buffer.from('*2\r\n$4\r\nECHO\r\n$3000000\r\nabc'));
    expect(seen.errors).toEqual(['Protocol error: request over the 2097152-byte budget for unfinished requests']);
    expect(budget.used).toBe(0);
    expect(d.buffered).toBe(0);
  });

  it('a request the budget cannot hold now (others hold it) is refused when its bytes arrive', () => {
    const { d, seen, budget } = decoder(2 * 1024 * 1024);
    budget.recharge(0, 1024 * 1024); // another connection's unfinished request
    const bytes = command('ECHO', Buffer.alloc(1_500_000, 0x62));
    for (let i = 0; i < bytes.length; i += 65_536) d.push(bytes.subarray(i, i + 65_536));
    expect(seen).toEqual({ commands: [], errors: [], refused: 1 });
    expect(budget.used).toBe(1024 * 1024);
  });
});
