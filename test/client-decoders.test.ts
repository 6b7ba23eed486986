// The client's reply decoders end on every input: the RESP reply decoder of the load
// generator (--protocol resp) and the binary frame decoder of the library and the load
// generator, fed random bytes at random cuts by fast-check, each push returns, with
// answers or the documented protocol error (onBadLength), never an exception, the
// same answers however the bytes are cut; valid replies decode to what was sent. The
// properties run in a worker thread, ended when it overstays: a decoder stuck in a
// loop (as the RESP one was on `$5\n`, a length line without CR) fails the test, with
// the input it was stuck on, instead of freezing the test run.

import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

/** Time for a whole suite; a decoder that loops never reports, whatever the budget. */
const SUITE_TIMEOUT_MS = 20_000;

function runSuite(suite: string, numRuns: number): Promise<{ ok: boolean; message?: string }> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./client-decoders.worker.ts', import.meta.url), { workerData: { suite, numRuns, seed: Date.now() % 2 ** 31 } });
    let trying = '(none yet)';
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve({ ok: false, message: `no answer within ${SUITE_TIMEOUT_MS / 1000} s: the decoder is stuck on input ${trying.slice(0, 400)}` });
    }, SUITE_TIMEOUT_MS);
    worker.on('message', (message: { trying?: string; done?: boolean; ok: boolean; message?: string }) => {
      if (message.trying !== undefined) trying = message.trying;
      else if (message.done) {
        clearTimeout(timer);
        void worker.terminate();
        resolve(message);
      }
    });
    worker.on('error', (error: Error) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `worker failed: ${error.message}` });
    });
  });
}

describe('client reply decoders, on random bytes cut anywhere', () => {
  const suites: [string, string, number][] = [
    ['resp-random', 'RESP reply decoder: random and broken replies end in answers or one protocol error, alike whole or cut', 2000],
    ['resp-valid', 'RESP reply decoder: valid replies decode to what was sent, however cut', 500],
    ['resp-limits', 'RESP reply decoder: a first line over 64 KiB, or a bulk length over 2^32 - 2, is a protocol error', 1],
    ['frame-random', 'binary frame decoder: random and broken frames end in answers or one protocol error, alike whole or cut', 1500],
    ['frame-valid', 'binary frame decoder: valid frames decode to what was sent, however cut', 500],
  ];
  for (const [suite, title, numRuns] of suites) {
    it(title, async () => {
      const result = await runSuite(suite, numRuns);
      expect(result.message ?? '').toBe('');
      expect(result.ok).toBe(true);
    }, SUITE_TIMEOUT_MS + 5000);
  }
});

describe('bin/client --protocol resp against a server that answers `$5\\n` (no CR)', () => {
  it('ends at once with a protocol error, instead of spinning', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('data', () => socket.write('$5\n'));
    });
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
    try {
      const started = Date.now();
      const run = await new Promise<{ status: number | null; output: string }>((resolve) => {
        const child = spawn(path.join(ROOT, 'bin', 'client'), [path.join(ROOT, 'data', 'fixture.data'), '--protocol', 'resp', '--port', String(port), '--requests', '100', '--clients', '1', '--timeout', '2']);
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.on('exit', (status) => {
          clearTimeout(kill);
          resolve({ status, output });
        });
      });
      expect(run.output).toMatch(/protocol error: malformed RESP reply/);
      expect(run.status).toBe(1);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  }, 20_000);
});
