// bin/server: loads a packed data file and serves it over the rokv protocol until
// SIGINT/SIGTERM; prints one startup line and, unless --quiet, a stats line every 10 s.

import { Command } from 'commander';
import { parseIntIn, parseNumberIn, runMain } from '../cli.ts';
import { InputError } from '../errors.ts';
import { loadDataFile } from '../format/load.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/constants.ts';
import { RokvServer } from './server.ts';

const STATS_INTERVAL_MS = 10_000;
const MB = 1e6;

const program = new Command('server')
  .description('Serve GETs from a packed rokv data file over TCP (protocol: shared/protocol.md).')
  .argument('<file>', 'the packed data file')
  .option('--host <host>', 'address to listen on', DEFAULT_HOST)
  .option('-p, --port <port>', 'TCP port (0 = any free port)', parseIntIn(0, 65_535), DEFAULT_PORT)
  .option('--max-connections <n>', 'connections beyond this get BUSY (0 = no limit)', parseIntIn(0, 10_000_000), 0)
  .option('--idle-timeout <seconds>', 'close connections idle or not draining this long (0 = never)', parseNumberIn(0, 86_400 * 365), 0)
  .option('--verify', 'also find every key through the index before serving (slower start)')
  .option('-q, --quiet', 'no periodic stats line')
  .showHelpAfterError();

program.action((file: string, opts) => runMain('server', async () => {
  const started = performance.now();
  const data = loadDataFile(file);
  if (opts.verify) data.verifyKeys();
  const loadSeconds = (performance.now() - started) / 1000;
  const server = new RokvServer(data, {
    host: opts.host,
    port: opts.port,
    file,
    maxConnections: opts.maxConnections,
    idleTimeoutMs: opts.idleTimeout * 1000,
  });
  let address;
  try {
    address = await server.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EADDRINUSE' ? 'address in use' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new InputError(`cannot listen on ${opts.host}:${opts.port}: ${reason}`);
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  process.stdout.write(
    `rokv listening on ${host}:${address.port}: ${data.recordCount.toLocaleString('en-US')} records, ` +
    `${(data.bytes.length / MB).toFixed(1)} MB file, loaded in ${loadSeconds.toFixed(3)} s, ` +
    `RSS ${(process.memoryUsage.rss() / MB).toFixed(1)} MB, pid ${process.pid}\n`,
  );

  let lastRequests = 0;
  const statsTimer = setInterval(() => {
    const s = server.stats;
    if (opts.quiet || s.requests === lastRequests) return;
    const rate = (s.requests - lastRequests) / (STATS_INTERVAL_MS / 1000);
    lastRequests = s.requests;
    process.stderr.write(
      `rokv: ${Math.round(rate).toLocaleString('en-US')} req/s, ${server.connections.size} connections, ` +
      `${s.requests.toLocaleString('en-US')} requests (${s.hits} hits, ${s.misses} misses, ${s.errors} errors), ` +
      `RSS ${(process.memoryUsage.rss() / MB).toFixed(1)} MB\n`,
    );
  }, STATS_INTERVAL_MS);
  statsTimer.unref();

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`rokv: ${signal}: closing ${server.connections.size} connections\n`);
      server.close().then(resolve);
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
  });
  clearInterval(statsTimer);
}));

await program.parseAsync();
