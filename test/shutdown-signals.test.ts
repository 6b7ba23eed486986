// Signals during a shutdown: every signal the server documents (SIGHUP, SIGINT, SIGTERM,
// SIGUSR1, and SIGUSR2 under ROKV_TEST_FAULTS) is handled until the process exits, never
// left to its default action (which kills). The late window is real: a reload's loading
// thread keeps the process alive after everything else has closed, here reading a 512 MiB
// sparse file whose header passes (so it is read whole before its checksums refuse it). After the shutdown began, SIGHUP and SIGUSR2 are ignored with a log
// line; SIGTERM again is logged and changes nothing (--shutdown-timeout bounds the wait);
// SIGINT again exits at once with status 1 — Redis's rules.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksum } from '../src/format/checksum.ts';
import { DEFAULT_HASH_SEED, FORMAT_VERSION, H, HASH_MURMUR3_32, HEADER_SIZE, MAGIC, SLOT_SIZE, writeU64 } from '../src/format/layout.ts';
import { type Pair, packRecords, tempDir } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const records: Pair[] = Array.from({ length: 200 }, (_, i) => [`s${i}`, `v${i}`]);
const FAULTS = { ROKV_TEST_FAULTS: '1' };
/** Reading this much (a sparse file: no disk used) keeps the loading thread busy for a while. */
const SLOW_FILE_BYTES = 2 ** 29;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** How the process ended: an exit status, or the signal that killed it. */
function ending(server: RunningServer): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (server.process.exitCode !== null || server.process.signalCode !== null) resolve({ code: server.process.exitCode, signal: server.process.signalCode });
    else server.process.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Writes a `size`-byte file (a multiple of 8) with a valid header and holes for records
 * and index: the loader reads it all, then refuses it (records checksum mismatch).
 */
function writeSlowFile(file: string, size: number): void {
  const slots = 1024;
  const indexOffset = size - slots * SLOT_SIZE;
  const header = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(header, H.magic);
  header.writeUInt16LE(FORMAT_VERSION, H.version);
  header.writeUInt16LE(HEADER_SIZE, H.headerSize);
  writeU64(header, H.fileSize, size);
  writeU64(header, H.recordCount, 1);
  writeU64(header, H.recordsOffset, HEADER_SIZE);
  writeU64(header, H.recordsLength, indexOffset - HEADER_SIZE);
  writeU64(header, H.indexOffset, indexOffset);
  writeU64(header, H.slotCount, slots);
  header.writeUInt32LE(HASH_MURMUR3_32, H.hashId);
  header.writeUInt32LE(DEFAULT_HASH_SEED, H.hashSeed);
  header.writeUInt32LE(checksum(header.subarray(0, H.headerCrc)), H.headerCrc);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, header);
  fs.ftruncateSync(fd, size);
  fs.closeSync(fd);
}

/** A served data file and a function that puts a slow file (see writeSlowFile) at its path. */
function liveFile(): { live: string; makeSlow: () => void } {
  const dir = tempDir();
  const live = path.join(dir, 'live.data');
  packRecords(records, live);
  return {
    live,
    makeSlow: () => {
      const slow = path.join(dir, 'slow.data');
      writeSlowFile(slow, SLOW_FILE_BYTES);
      fs.renameSync(slow, live);
    },
  };
}

const count = (server: RunningServer, pattern: RegExp) => server.stderr().split('\n').filter((l) => pattern.test(l)).length;
const CLOSING = /^rokv: (SIGTERM|event loops keep dying): closing \d+ connections$/;

/** Sends the signals the server documents, 20 ms apart, then checks none of them killed it. */
async function lateSignals(server: RunningServer): Promise<void> {
  // The window under test: everything closed, the loading thread still reading.
  expect(server.stderr(), 'the loading thread finished before the late signals').not.toMatch(/refused/);
  for (const signal of ['SIGHUP', 'SIGUSR2', 'SIGUSR1', 'SIGTERM'] as const) {
    server.process.kill(signal);
    await sleep(20);
  }
}

function expectLateLog(log: string): void {
  expect(log).toMatch(/^rokv: SIGHUP ignored: shutting down$/m);
  expect(log).toMatch(/^rokv: SIGUSR2 ignored: shutting down$/m);
  expect(log).toMatch(/^rokv: SIGTERM while shutting down: still closing/m);
  // The reload started before the shutdown ended after these signals: they came in the window.
  expect(log.indexOf('SIGHUP ignored')).toBeLessThan(log.indexOf('refused'));
  expect(log).toMatch(/reload of .*live\.data refused \(SIGHUP\): .*checksum/);
}

describe('signals late in a shutdown, while a reload\'s loading thread keeps the process alive', () => {
  it('one loop: SIGHUP, SIGUSR2, SIGUSR1 and SIGTERM are handled; exit 0', async () => {
    const files = liveFile();
    const server = await startServer(files.live, [], FAULTS);
    const ended = ending(server);
    files.makeSlow();
    server.process.kill('SIGHUP');
    await sleep(50);
    server.process.kill('SIGTERM');
    await until('the shutdown', () => count(server, CLOSING) === 1);
    await sleep(30); // past the end of the shutdown's own work
    await lateSignals(server);
    expect(await ended, server.stderr()).toEqual({ code: 0, signal: null });
    expectLateLog(server.stderr());
  }, 30_000);

  it('--workers 2, giving up after a crash loop: the same signals are handled; exit 1', async () => {
    const files = liveFile();
    const server = await startServer(files.live, ['--workers', '2'], FAULTS);
    const ended = ending(server);
    const dead = () => count(server, /died/) - count(server, /restarted$/);
    // Five deaths a minute are restarted; the sixth gives up.
    for (let death = 1; death <= 5; death++) {
      await until('a live loop', () => dead() <= 1);
      server.process.kill('SIGUSR2');
      await until(`death ${death}`, () => count(server, /died/) === death);
    }
    await until('a live loop', () => dead() <= 1);
    files.makeSlow();
    server.process.kill('SIGHUP');
    await sleep(50);
    server.process.kill('SIGUSR2');
    await until('giving up', () => count(server, CLOSING) === 1);
    expect(server.stderr()).toMatch(/giving up$/m);
    await sleep(30);
    await lateSignals(server);
    expect(await ended, server.stderr()).toEqual({ code: 1, signal: null });
    expectLateLog(server.stderr());
  }, 40_000);
});

describe('a second stop signal while connections drain', () => {
  /** A server with one client that never closes: the shutdown waits --shutdown-timeout for it. */
  async function draining(timeoutSeconds: number): Promise<{ server: RunningServer; ended: ReturnType<typeof ending>; client: net.Socket }> {
    const server = await startServer(liveFile().live, ['--shutdown-timeout', String(timeoutSeconds)]);
    const ended = ending(server);
    const client = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    await new Promise((r) => client.once('connect', r));
    server.process.kill('SIGTERM');
    await until('the shutdown', () => count(server, CLOSING) === 1);
    return { server, ended, client };
  }

  it('SIGTERM again is logged and changes nothing: the open connection is cut at the timeout, exit 0', async () => {
    const { server, ended, client } = await draining(1.5);
    const at = Date.now();
    server.process.kill('SIGTERM');
    expect(await ended, server.stderr()).toEqual({ code: 0, signal: null });
    expect(Date.now() - at).toBeGreaterThan(900);
    expect(server.stderr()).toMatch(/^rokv: SIGTERM while shutting down: still closing \(connections open 1\.5 s after it began are cut; SIGINT exits now\)$/m);
    client.destroy();
  });

  it('SIGINT after SIGTERM exits at once with status 1', async () => {
    const { server, ended, client } = await draining(20);
    const at = Date.now();
    server.process.kill('SIGINT');
    expect(await ended, server.stderr()).toEqual({ code: 1, signal: null });
    expect(Date.now() - at).toBeLessThan(3000);
    expect(server.stderr()).toMatch(/^rokv: SIGINT while shutting down: exiting now, status 1$/m);
    client.destroy();
  });
});
