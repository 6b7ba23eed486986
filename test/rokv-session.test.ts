// The binary protocol's codec and session in process, on a fake socket
// (tools/fake-connection.ts): each reply byte for byte, any split of the input,
// backpressure pausing and resuming the session, closing after a bad length, large
// values sent as views of the data, the counters, and a swap of the data between two
// reads. What crosses a real socket is binary-protocol.test.ts.

import { describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { rokvCodec } from '../src/protocol/rokv/session.ts';
import { Service } from '../src/service/service.ts';
import { memoryVersionOf } from '../src/storage/tiers.ts';
import { ERRORS, HITS, MISSES, OUTCOME_HIT, OUTCOME_MISS, PROTOCOL_ROKV, REQUESTS, requestField } from '../src/service/stats.ts';
import { fakeConnection } from '../tools/fake-connection.ts';
import { type Pair, cut, packRecords } from './helpers.ts';
import { frame, parseFrames } from './server-helpers.ts';

const GET = 1;
const PING = 2;
const INFO = 3;
const LARGE = Buffer.alloc(100_000, 0x4c);
const records: Pair[] = [['abc', 'xyz'], ['empty', ''], ['large', LARGE]];
for (let i = 0; i < 200; i++) records.push([`key-${i}`, `value-${i}`]);
const file = packRecords(records);

function serving(): { service: Service; session: ReturnType<typeof fakeConnection> } {
  const service = new Service(memoryVersionOf(loadDataFile(file)), { file });
  return { service, session: fakeConnection(rokvCodec, service) };
}

describe('binary session', () => {
  it('answers GET hit, miss and empty value, PING and errors byte for byte', () => {
    const { session } = serving();
    session.feed(Buffer.concat([frame(GET, 'abc'), frame(GET, 'nope'), frame(GET, 'empty'), frame(PING, 'p'), frame(0x09), frame(GET)]));
    const { frames, rest } = parseFrames(session.written());
    expect(rest).toBe(0);
    expect(frames.slice(0, 4).map((f) => [f.status, f.payload.toString()])).toEqual([[0, 'xyz'], [1, ''], [0, ''], [0, 'p']]);
    expect([frames[4].status, frames[4].payload[0]]).toEqual([2, 1]); // UNKNOWN_OP
    expect([frames[5].status, frames[5].payload[0]]).toEqual([2, 2]); // BAD_REQUEST
    expect(session.socket.ended).toBe(false);
  });

  it('any split of a pipeline gives the same bytes as the pipeline whole', () => {
    const stream = Buffer.concat(Array.from({ length: 300 }, (_, i) => frame(GET, i % 5 === 0 ? `missing-${i}` : `key-${i % 200}`)));
    const whole = serving().session;
    whole.feed(stream);
    const expected = whole.written();
    for (let round = 0; round < 20; round++) {
      const split = serving().session;
      const positions = Array.from({ length: 1 + Math.floor(Math.random() * 50) }, () => Math.floor(Math.random() * stream.length));
      for (const chunk of cut(stream, positions)) split.feed(chunk);
      expect(split.written().equals(expected), `round ${round}`).toBe(true);
    }
  });

  it('sends a value of 64 KiB or more as a view of the data, not a copy', () => {
    const { service, session } = serving();
    session.feed(frame(GET, 'large'));
    const view = session.writes.find((w) => w.length === LARGE.length);
    expect(view?.buffer).toBe(service.records.bytes.buffer);
    const { frames } = parseFrames(session.written());
    expect(frames[0].payload.equals(LARGE)).toBe(true);
  });

  it('pauses while the client does not drain, and answers the rest in order when it does', () => {
    const { session } = serving();
    session.socket.writableLength = 2 << 20; // over the connection's high-water mark
    session.feed(Buffer.concat([frame(GET, 'key-1'), frame(GET, 'key-2'), frame(GET, 'key-3')]));
    expect(session.socket.paused).toBe(true);
    expect(parseFrames(session.written()).frames.map((f) => f.payload.toString())).toEqual(['value-1']);
    session.socket.writableLength = 0;
    session.socket.emit('drain');
    expect(session.socket.paused).toBe(false);
    expect(parseFrames(session.written()).frames.map((f) => f.payload.toString())).toEqual(['value-2', 'value-3']);
  });

  it('a bad frame length is answered FRAME_TOO_LARGE, then the connection ends and takes nothing more', () => {
    const { session } = serving();
    const bad = Buffer.alloc(5);
    bad.writeUInt32BE(65_537, 0);
    session.feed(Buffer.concat([frame(GET, 'abc'), bad, frame(GET, 'abc')]));
    session.feed(frame(GET, 'abc'));
    const { frames } = parseFrames(session.written());
    expect(frames.map((f) => f.status)).toEqual([0, 2]);
    expect(frames[1].payload[0]).toBe(3);
    expect(session.socket.ended).toBe(true);
  });

  it('counts requests, hits, misses and errors where INFO and /metrics read them', () => {
    const { service, session } = serving();
    session.feed(Buffer.concat([frame(GET, 'abc'), frame(GET, 'abc'), frame(GET, 'nope'), frame(0x09), frame(INFO)]));
    const counts = service.counts;
    expect([counts[REQUESTS], counts[HITS], counts[MISSES], counts[ERRORS]]).toEqual([5, 2, 1, 1]);
    expect(counts[requestField(PROTOCOL_ROKV, 0, OUTCOME_HIT)]).toBe(2);
    expect(counts[requestField(PROTOCOL_ROKV, 0, OUTCOME_MISS)]).toBe(1);
    const info = JSON.parse(parseFrames(session.written()).frames[4].payload.toString());
    expect(info.requests).toBe(5);
    expect(info.keys).toBe(records.length);
  });

  it('reads the data version served at the time of each request (a swap between two reads)', () => {
    const { service, session } = serving();
    session.feed(frame(GET, 'abc'));
    const next = loadDataFile(packRecords([['abc', 'new value']]));
    service.swap(memoryVersionOf(next), { ...service.facts().dataVersion, version: 'next' }, null);
    session.feed(frame(GET, 'abc'));
    expect(parseFrames(session.written()).frames.map((f) => f.payload.toString())).toEqual(['xyz', 'new value']);
  });
});
