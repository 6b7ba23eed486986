// The RESP codec, its session and its command handlers in process, on a fake socket
// (tools/fake-connection.ts): replies byte for byte in RESP2 and RESP3, reads through
// the command context, MULTI/EXEC, SCAN, refusals, QUIT, the counters /metrics reads,
// and a swap of the data between two commands. Real Redis clients over real sockets
// are resp.test.ts.

import { describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { RESP_COMMAND_NUMBERS, RESP_GET } from '../src/protocol/resp/command-numbers.ts';
import { respCodec } from '../src/protocol/resp/session.ts';
import { Service } from '../src/service/service.ts';
import { memoryVersionOf } from '../src/storage/tiers.ts';
import { ERRORS, HITS, MISSES, OUTCOME_ERROR, OUTCOME_HIT, OUTCOME_MISS, OUTCOME_OK, PROTOCOL_RESP, requestField } from '../src/service/stats.ts';
import { fakeConnection } from '../tools/fake-connection.ts';
import { type Pair, cut, packRecords } from './helpers.ts';

const records: Pair[] = [['abc', 'xyz'], ['hello', 'Hello, world'], [Buffer.from([0, 0xff]), Buffer.from([1, 2, 3])]];
for (let i = 0; i < 100; i++) records.push([`key-${i}`, `value-${i}`]);
const file = packRecords(records);

/** A command as a client library sends it: an array of bulk strings. */
function command(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function serving(): { service: Service; session: ReturnType<typeof fakeConnection>; ask: (...commands: Buffer[]) => string } {
  const service = new Service(memoryVersionOf(loadDataFile(file)), { file });
  const session = fakeConnection(respCodec, service);
  const ask = (...commands: Buffer[]) => {
    session.feed(Buffer.concat(commands));
    return session.written().toString('latin1');
  };
  return { service, session, ask };
}

describe('RESP session', () => {
  it('GET and MGET read values; a missing key is a RESP2 null, and a RESP3 null after HELLO 3', () => {
    const { ask } = serving();
    expect(ask(command('GET', 'abc'), command('get', 'nope'))).toBe('$3\r\nxyz\r\n$-1\r\n');
    expect(ask(command('MGET', 'abc', 'nope', Buffer.from([0, 0xff])))).toBe('*3\r\n$3\r\nxyz\r\n$-1\r\n$3\r\n\x01\x02\x03\r\n');
    expect(ask(command('HELLO', '3'))).toMatch(/^%7\r\n/);
    expect(ask(command('GET', 'nope'))).toBe('_\r\n');
  });

  it('string reads go through the records: EXISTS, STRLEN, GETRANGE, TYPE, TTL, DBSIZE', () => {
    const { ask } = serving();
    expect(ask(command('EXISTS', 'abc', 'abc', 'nope'))).toBe(':2\r\n');
    expect(ask(command('STRLEN', 'hello'), command('STRLEN', 'nope'))).toBe(':12\r\n:0\r\n');
    expect(ask(command('GETRANGE', 'hello', '0', '4'), command('GETRANGE', 'hello', '-5', '-1'), command('GETRANGE', 'hello', 'x', '1')))
      .toBe('$5\r\nHello\r\n$5\r\nworld\r\n-ERR value is not an integer or out of range\r\n');
    expect(ask(command('TYPE', 'abc'), command('TYPE', 'nope'), command('TTL', 'abc'), command('TTL', 'nope'))).toBe('+string\r\n+none\r\n:-1\r\n:-2\r\n');
    expect(ask(command('DBSIZE'))).toBe(`:${records.length}\r\n`);
  });

  it('SCAN visits every key exactly once', () => {
    const { ask } = serving();
    const seen: string[] = [];
    let cursor = '0';
    do {
      const reply = ask(command('SCAN', cursor, 'COUNT', '7'));
      const lines = reply.split('\r\n');
      cursor = lines[2];
      for (let i = 5; i < lines.length; i += 2) seen.push(lines[i]);
    } while (cursor !== '0');
    expect(seen.sort()).toEqual(records.map(([k]) => Buffer.from(k).toString('latin1')).sort());
  });

  it('MULTI queues and EXEC answers together; a refused command aborts the transaction', () => {
    const { ask } = serving();
    expect(ask(command('MULTI'), command('GET', 'abc'), command('EXISTS', 'abc'), command('EXEC'))).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$3\r\nxyz\r\n:1\r\n');
    expect(ask(command('MULTI'), command('SET', 'a', 'b'), command('EXEC')))
      .toBe('+OK\r\n-READONLY You can\'t write against a read only replica.\r\n-EXECABORT Transaction discarded because of previous errors.\r\n');
  });

  it('refuses as Redis does: unknown commands, wrong arity, writes', () => {
    const { ask } = serving();
    expect(ask(command('NOSUCH', 'x'))).toBe('-ERR unknown command \'NOSUCH\', with args beginning with: \'x\' \r\n');
    expect(ask(command('GET'))).toBe('-ERR wrong number of arguments for \'get\' command\r\n');
    expect(ask(command('SET', 'k', 'v'))).toBe('-READONLY You can\'t write against a read only replica.\r\n');
  });

  it('inline commands and any split of a pipeline give the same replies', () => {
    const stream = Buffer.concat([command('GET', 'key-1'), Buffer.from('PING\r\n'), command('MGET', 'key-2', 'nope'), Buffer.from('get key-3\n')]);
    const whole = serving();
    const expected = whole.ask(stream);
    expect(expected).toBe('$7\r\nvalue-1\r\n+PONG\r\n*2\r\n$7\r\nvalue-2\r\n$-1\r\n$7\r\nvalue-3\r\n');
    for (let round = 0; round < 20; round++) {
      const { session } = serving();
      for (const chunk of cut(stream, Array.from({ length: 12 }, () => Math.floor(Math.random() * stream.length)))) session.feed(chunk);
      expect(session.written().toString('latin1'), `round ${round}`).toBe(expected);
    }
  });

  it('QUIT answers OK and ends the connection; later input is not answered', () => {
    const { session, ask } = serving();
    expect(ask(command('QUIT'), command('GET', 'abc'))).toBe('+OK\r\n');
    expect(session.socket.ended).toBe(true);
    expect(ask(command('GET', 'abc'))).toBe('');
  });

  it('CLIENT SETNAME, GETNAME and INFO describe this connection', () => {
    const { ask } = serving();
    expect(ask(command('CLIENT', 'SETNAME', 'me'), command('CLIENT', 'GETNAME'))).toBe('+OK\r\n$2\r\nme\r\n');
    expect(ask(command('CLIENT', 'INFO'))).toMatch(/^\$\d+\r\nid=1 addr=127\.0\.0\.1:50000 laddr=127\.0\.0\.1:7070 fd=-1 name=me /);
  });

  it('counts keys looked up, and each request by command and outcome, for /metrics', () => {
    const { service, ask } = serving();
    ask(command('GET', 'abc'), command('GET', 'nope'), command('MGET', 'abc', 'nope', 'key-1'), command('NOSUCH'));
    const counts = service.counts;
    expect([counts[HITS], counts[MISSES], counts[ERRORS]]).toEqual([3, 2, 1]);
    expect(counts[requestField(PROTOCOL_RESP, RESP_GET, OUTCOME_HIT)]).toBe(1);
    expect(counts[requestField(PROTOCOL_RESP, RESP_GET, OUTCOME_MISS)]).toBe(1);
    expect(counts[requestField(PROTOCOL_RESP, RESP_COMMAND_NUMBERS.get('mget') as number, OUTCOME_OK)]).toBe(1);
    expect(counts[requestField(PROTOCOL_RESP, RESP_COMMAND_NUMBERS.get('unknown') as number, OUTCOME_ERROR)]).toBe(1);
  });

  it('reads the data version served at the time of each command (a swap between two reads)', () => {
    const { service, ask } = serving();
    expect(ask(command('GET', 'abc'))).toBe('$3\r\nxyz\r\n');
    service.swap(memoryVersionOf(loadDataFile(packRecords([['abc', 'new value']]))), { ...service.facts().dataVersion, version: 'next' }, null);
    expect(ask(command('GET', 'abc'), command('DBSIZE'))).toBe('$9\r\nnew value\r\n:1\r\n');
  });
});
