// The RESP front over real TCP with real Redis clients (ioredis, node-redis) in RESP3
// (their default) and RESP2: reads verified against the records, SCAN over the
// whole set, read-only refusals, MULTI/EXEC; then raw bytes: inline commands, any
// split, Redis's error texts, and the protocol limits that close a connection.

import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pair, runBin } from './helpers.ts';
import { type Reply, command, respExchange, text } from './resp-helpers.ts';
import { RawClient, frame, serveRecords } from './server-helpers.ts';

const BIG = Buffer.alloc(200_000, 0x62);
const BINARY_KEY = Buffer.from([0x80, 0xff, 0x00, 0x41]);
const records: Pair[] = [['empty', ''], ['big', BIG], [BINARY_KEY, Buffer.from([0xfe, 0x0d, 0x0a])]];
for (let i = 0; i < 3000; i++) records.push([`key-${i}`, `value-${i}-${'x'.repeat(i % 50)}`]);
const stringKeys = records.filter(([k]) => typeof k === 'string').map(([k]) => k as string);
const valueOf = new Map(records.map(([k, v]) => [Buffer.from(k).toString('latin1'), Buffer.from(v)]));

const running = serveRecords(records, ['--resp-port', '0']);
const port = () => running.server.respPort;

describe('ioredis', () => {
  for (const protocol of [3, 2] as const) {
    describe(`RESP${protocol}`, () => {
      let redis: Redis;
      beforeAll(async () => {
        redis = new Redis({ port: port(), host: '127.0.0.1', protocol, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        await redis.connect(); // the ready check runs INFO and needs loading:0
      });
      afterAll(() => redis.quit());

      it('reads every key through one pipeline, byte for byte', async () => {
        const pipeline = redis.pipeline();
        for (const key of stringKeys) pipeline.getBuffer(key);
        const results = (await pipeline.exec()) ?? [];
        expect(results).toHaveLength(stringKeys.length);
        results.forEach(([error, value], i) => {
          expect(error).toBeNull();
          expect((value as Buffer).equals(valueOf.get(stringKeys[i]) as Buffer)).toBe(true);
        });
      });

      it('GET of a missing key is null, of a binary key its bytes, MGET mixes both', async () => {
        expect(await redis.get('no-such-key')).toBeNull();
        expect((await redis.getBuffer(BINARY_KEY))?.toString('hex')).toBe('fe0d0a');
        expect(await redis.mget('key-1', 'nope', 'empty')).toEqual([valueOf.get('key-1')?.toString(), null, '']);
      });

      it('SCAN visits every key exactly once', async () => {
        const seen: string[] = [];
        for await (const batch of redis.scanBufferStream({ count: 100 })) for (const key of batch as Buffer[]) seen.push(key.toString('latin1'));
        expect(seen.length).toBe(records.length);
        expect(new Set(seen).size).toBe(records.length);
        expect(new Set(seen)).toEqual(new Set(valueOf.keys()));
      });

      it('refuses writes with READONLY and changes nothing', async () => {
        await expect(redis.set('key-1', 'changed')).rejects.toThrow(/^READONLY You can't write against a read only replica\.$/);
        await expect(redis.del('key-1')).rejects.toThrow(/READONLY/);
        await expect(redis.flushall()).rejects.toThrow(/READONLY/);
        expect(await redis.get('key-1')).toBe(valueOf.get('key-1')?.toString());
      });

      it('MULTI/EXEC answers the queued reads together', async () => {
        const results = await redis.multi().get('key-2').exists('key-2', 'key-2', 'nope').strlen('key-3').exec();
        expect(results).toEqual([[null, valueOf.get('key-2')?.toString()], [null, 2], [null, valueOf.get('key-3')?.length]]);
      });
    });
  }
});

describe('node-redis', () => {
  for (const RESP of [3, 2] as const) {
    describe(`RESP${RESP}`, () => {
      let client: ReturnType<typeof createClient>;
      beforeAll(async () => {
        client = createClient({ socket: { port: port(), host: '127.0.0.1', reconnectStrategy: false }, RESP });
        client.on('error', () => {});
        await client.connect(); // sends HELLO (RESP3) and CLIENT SETINFO
      });
      afterAll(() => client.close());

      it('GET, MGET and a large value', async () => {
        expect(await client.get('key-7')).toBe(valueOf.get('key-7')?.toString());
        expect(await client.get('missing')).toBeNull();
        expect(await client.mGet(['key-8', 'missing'])).toEqual([valueOf.get('key-8')?.toString(), null]);
        expect(await client.get('big')).toBe(BIG.toString());
      });

      it('scanIterator visits every key exactly once', async () => {
        const seen: string[] = [];
        for await (const batch of client.scanIterator({ COUNT: 500 })) seen.push(...batch);
        expect(seen.length).toBe(records.length);
        expect(new Set(seen.filter((k) => !k.includes('\ufffd'))).size).toBe(records.length - 1);
      });

      it('a transaction of reads, and a refused write', async () => {
        expect(await client.multi().get('key-9').dbSize().exec()).toEqual([valueOf.get('key-9')?.toString(), records.length]);
        await expect(client.set('a', 'b')).rejects.toThrow(/READONLY/);
      });

      it('CLIENT SETINFO reached the server', async () => {
        const info = String(await client.sendCommand(['CLIENT', 'INFO']));
        expect(info).toMatch(/lib-name=node-redis/);
        expect(info).toContain(`resp=${RESP}`);
      });
    });
  }
});

describe('commands as Redis 7 answers them', () => {
  const ask = async (...args: string[]) => (await respExchange(port(), command(...args), 1)).replies[0];

  it('HELLO 3 is a map with proto 3; HELLO 4 is NOPROTO; HELLO then RESP3 nulls', async () => {
    const { replies } = await respExchange(port(), Buffer.concat([command('HELLO', '3'), command('GET', 'nope')]), 2);
    const map = new Map((replies[0] as { map: [Buffer, unknown][] }).map.map(([k, v]) => [text(k), v]));
    expect([...map.keys()]).toEqual(['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']);
    expect(map.get('proto')).toBe(3);
    expect((await respExchange(port(), Buffer.concat([command('HELLO', '3'), command('GET', 'nope')]), 2)).raw.toString('latin1')).toMatch(/\r\n_\r\n$/);
    expect(await ask('HELLO', '4')).toEqual({ error: 'NOPROTO unsupported protocol version' });
    expect(await ask('HELLO', 'x')).toEqual({ error: 'ERR Protocol version is not an integer or out of range' });
  });

  it('unknown commands, arity and bad integers', async () => {
    expect(await ask('FOO', 'a', 'b')).toEqual({ error: "ERR unknown command 'FOO', with args beginning with: 'a' 'b' " });
    expect(await ask('GET')).toEqual({ error: "ERR wrong number of arguments for 'get' command" });
    expect(await ask('SET', 'k')).toEqual({ error: "ERR wrong number of arguments for 'set' command" });
    expect(await ask('GETRANGE', 'key-1', 'a', '2')).toEqual({ error: 'ERR value is not an integer or out of range' });
    expect(await ask('CLIENT', 'NOPE')).toEqual({ error: "ERR unknown subcommand 'NOPE'. Try CLIENT HELP." });
    expect(await ask('SELECT', '0')).toBe('OK');
    expect(await ask('SELECT', '1')).toEqual({ error: 'ERR DB index is out of range' });
  });

  it('string reads: EXISTS counts repeats, STRLEN, GETRANGE with negative indexes, TYPE, TTL', async () => {
    expect(await ask('EXISTS', 'key-1', 'key-1', 'nope')).toBe(2);
    expect(await ask('STRLEN', 'big')).toBe(BIG.length);
    expect(await ask('STRLEN', 'nope')).toBe(0);
    expect(text(await ask('GETRANGE', 'key-12', '0', '4'))).toBe('value');
    expect(text(await ask('GETRANGE', 'key-12', '-2', '-1'))).toBe(valueOf.get('key-12')?.subarray(-2).toString());
    expect(text(await ask('SUBSTR', 'key-12', '5', '2'))).toBe('');
    expect(await ask('TYPE', 'key-1')).toBe('string');
    expect(await ask('TYPE', 'nope')).toBe('none');
    expect(await ask('TTL', 'key-1')).toBe(-1);
    expect(await ask('PTTL', 'nope')).toBe(-2);
    expect(await ask('DBSIZE')).toBe(records.length);
    expect(valueOf.has(text(await ask('RANDOMKEY')))).toBe(true);
  });

  it('SCAN MATCH and bad cursors', async () => {
    const seen: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = (await ask('SCAN', cursor, 'MATCH', 'key-1?', 'COUNT', '200')) as [Buffer, Buffer[]];
      cursor = text(next);
      seen.push(...keys.map(text));
    } while (cursor !== '0');
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `key-1${i}`).sort());
    expect(await ask('SCAN', 'abc')).toEqual({ error: 'ERR invalid cursor' });
    expect(await ask('SCAN', '0', 'COUNT', '0')).toEqual({ error: 'ERR syntax error' });
  });

  it('INFO has every section clients read, with loading:0 and the keyspace', async () => {
    const info = text(await ask('INFO'));
    for (const section of ['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'Cluster', 'Keyspace']) {
      expect(info).toContain(`# ${section}\r\n`);
    }
    expect(info).toMatch(/\r\nloading:0\r\n/);
    expect(info).toMatch(/^redis_version:7\.\d+\.\d+\r$/m);
    expect(info).toContain(`db0:keys=${records.length},expires=0,avg_ttl=0`);
    expect(text(await ask('INFO', 'keyspace'))).toBe(`# Keyspace\r\ndb0:keys=${records.length},expires=0,avg_ttl=0\r\n`);
  });

  it('CONFIG GET answers what redis-benchmark asks; unknown names are empty', async () => {
    expect((await ask('CONFIG', 'GET', 'save')) as Buffer[]).toEqual([Buffer.from('save'), Buffer.from('')]);
    expect(((await ask('CONFIG', 'GET', 'appendonly')) as Buffer[]).map(text)).toEqual(['appendonly', 'no']);
    expect(await ask('CONFIG', 'GET', 'no-such-thing')).toEqual([]);
  });

  it('COMMAND COUNT matches COMMAND, and COMMAND DOCS / INFO describe GET', async () => {
    const count = await ask('COMMAND', 'COUNT');
    expect(((await ask('COMMAND')) as unknown[]).length).toBe(count);
    const [get] = (await ask('COMMAND', 'INFO', 'get')) as Reply[][];
    expect(text(get[0] as Buffer)).toBe('get');
    expect(get[1]).toBe(2);
    const docs = (await ask('COMMAND', 'DOCS', 'get')) as Reply[];
    expect(text(docs[0] as Buffer)).toBe('get');
  });

  it('EXECABORT after a refused command inside MULTI; EXEC without MULTI', async () => {
    const { replies } = await respExchange(port(), Buffer.concat([
      command('MULTI'), command('GET', 'key-1'), command('SET', 'a', 'b'), command('EXEC'), command('EXEC'),
    ]), 5);
    expect(replies).toEqual(['OK', 'QUEUED', { error: "READONLY You can't write against a read only replica." },
      { error: 'EXECABORT Transaction discarded because of previous errors.' }, { error: 'ERR EXEC without MULTI' }]);
  });

  it('inline commands, as typed into telnet', async () => {
    const { replies } = await respExchange(port(), 'PING\r\nGET key-3\r\n  EXISTS   key-3 key-4\n\r\n', 3);
    expect(replies.map((r) => (Buffer.isBuffer(r) ? r.toString() : r))).toEqual(['PONG', valueOf.get('key-3')?.toString(), 2]);
  });

  it('QUIT answers OK and closes', async () => {
    const { replies, closed } = await respExchange(port(), Buffer.concat([command('QUIT'), command('PING')]), 2);
    expect(replies).toEqual(['OK']);
    expect(closed).toBe(true);
  });
});

describe('framing', () => {
  it('a pipeline split at every byte gets the same answers as sent whole', async () => {
    const bytes = Buffer.concat([
      command('GET', 'key-1'), command('MGET', 'key-2', 'nope'), Buffer.from('PING\r\n'), command('GET', BINARY_KEY), command('ECHO', ''),
    ]);
    const whole = (await respExchange(port(), bytes, 5)).raw;
    const client = await RawClient.connect(port());
    for (let i = 0; i < bytes.length; i++) {
      client.socket.write(bytes.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 1));
    }
    await client.until(() => client.received.length >= whole.length, 10_000);
    client.socket.destroy();
    expect(client.received.equals(whole)).toBe(true);
  });

  it('deep pipelines: 20,000 GETs in one write, answered in order', async () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `key-${i % 3000}`);
    const { replies } = await respExchange(port(), Buffer.concat(keys.map((k) => command('GET', k))), keys.length);
    expect(replies.map(text)).toEqual(keys.map((k) => valueOf.get(k)?.toString()));
  });
});

describe('protocol errors close the connection, as Redis does', () => {
  const cases: [string, Buffer | string, RegExp][] = [
    ['a bulk length over the limit, before its bytes are sent', '*2\r\n$3\r\nGET\r\n$536870913\r\n', /^ERR Protocol error: invalid bulk length$/],
    ['a multibulk count over the limit', '*99999999\r\n', /^ERR Protocol error: multibulk count over 1048576$/],
    ['a malformed multibulk length', '*x\r\n', /^ERR Protocol error: invalid multibulk length$/],
    ['a malformed bulk length', '*1\r\n$-5\r\n', /^ERR Protocol error: invalid bulk length$/],
    ['something else where $ belongs', '*1\r\n:5\r\n', /^ERR Protocol error: expected '\$', got ':'$/],
    ['unbalanced quotes in an inline command', 'ECHO "a\r\n', /^ERR Protocol error: unbalanced quotes in request$/],
    ['an inline line over 64 KiB', Buffer.alloc(70_000, 0x61), /^ERR Protocol error: too big inline request$/],
  ];
  for (const [name, bytes, error] of cases) {
    it(name, async () => {
      const { replies, closed } = await respExchange(port(), bytes, 2);
      expect(replies).toHaveLength(1);
      expect((replies[0] as { error: string }).error).toMatch(error);
      expect(closed).toBe(true);
    });
  }

  it('a request over 1 MiB in total is answered, as by Redis (the budget for unfinished requests bounds it)', async () => {
    const args = Array.from({ length: 20 }, () => Buffer.alloc(60_000, 0x6b));
    const { replies, closed } = await respExchange(port(), command('MGET', ...args), 1);
    expect(replies).toEqual([Array.from({ length: 20 }, () => null)]);
    expect(closed).toBe(false);
  });
});

describe('bin/client --protocol resp', () => {
  it('drives the RESP port at depth 16 with every answer verified, a 200 KB value among them', () => {
    const run = runBin('client', [running.file, '--port', String(port()), '--protocol', 'resp', '--clients', '4', '--pipeline', '16', '--requests', '30000', '--miss-ratio', '0.1', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.requests).toBe(30_000);
    expect(report.hits).toBeGreaterThan(20_000);
    expect([report.mismatches, report.errors, report.lost_connections]).toEqual([0, 0, 0]);
  });
});

describe('one transport for both protocols', () => {
  it('the binary port answers alongside, over the same data', async () => {
    const client = await RawClient.connect(running.server.port);
    client.socket.write(frame(1, 'key-5'));
    const [reply] = await client.frames(1);
    client.socket.destroy();
    expect(reply.payload.toString()).toBe(valueOf.get('key-5')?.toString());
  });
});
