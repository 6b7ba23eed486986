#!/usr/bin/env node
// bin/client: a concurrent load generator that checks every answer against the data
// file and reports throughput and latency percentiles (text, --json, -o HTML); Ctrl-C
// reports what was answered so far.

import '../node-version.ts'; // first: an older Node gets one line, not a TypeError
import { Progress } from '../progress.ts';
import fs from 'node:fs';
import { Option } from 'commander';
import { parseAddresses } from '../addresses.ts';
import { asFlag, jsonLine, newCommand, parseCount, parseIntIn, parseNumberIn, runMain } from '../cli.ts';
import { readClusterMap } from '../cluster/map.ts';
import { UsageError } from '../errors.ts';
import { checkOutputFile, writeError } from '../files.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/rokv/constants.ts';
import { UNIFORM, describeKeyDistribution, parseKeyDistribution } from './key-choice.ts';
import { CLIENT_STORAGE } from './load-data.ts';
import { defaultThreads, runLoad } from './load.ts';
import { formatText, renderHtml } from './report.ts';
import type { Credentials } from './wire.ts';

/** The environment's user name and password, when --user and --password are not given (as a password need not sit in `ps`). */
const USER_ENV = 'ROKV_USER';
const PASSWORD_ENV = 'ROKV_PASSWORD';

const INTERVAL_MS = 250;
/** 128 + SIGINT, as a shell reports a command stopped by Ctrl-C. */
const INTERRUPTED_EXIT_CODE = 130;

/** How this run was started, for the report: bin/client and its arguments, quoted where needed. */
function commandLine(): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
  return ['client', ...process.argv.slice(2)].map(quote).join(' ');
}

const program = newCommand('client')
  .description('Send GETs for random keys of a data file to a rokv server, check every answer, report latency.')
  .argument('<file>', 'the packed data file the server serves')
  .option('--host <host>', 'server address', DEFAULT_HOST)
  .option('-p, --port <port>', 'server port', parseIntIn(1, 65_535), DEFAULT_PORT)
  .option('-c, --clients <n>', 'concurrent connections', parseIntIn(1, 10_000), 10)
  .option('-n, --requests <n>', 'counted requests (e.g. 1M)', parseCount, 1_000_000)
  .option('-d, --pipeline <depth>', 'requests in flight per connection (1 = closed loop)', parseIntIn(1, 100_000), 1)
  .option('-t, --threads <n>', 'worker threads (default: half the cores, at least 1)', parseIntIn(1, 256))
  .option('--duration <seconds>', 'run for this long instead of a request count', parseNumberIn(0.1, 86_400))
  .option('--warmup <n>', 'requests answered before counting starts', parseCount, 0)
  .option('--miss-ratio <r>', 'fraction of requests for absent keys (must be NOT_FOUND)', parseNumberIn(0, 1), 0)
  .addOption(new Option('--distribution <spec>', 'how requests spread over the keys: uniform, or zipf:S (Zipf with exponent S > 0, e.g. zipf:0.99: a few hot keys, scattered over the file by --seed)').argParser(asFlag(parseKeyDistribution)).default(UNIFORM, describeKeyDistribution(UNIFORM)))
  .option('--seed <seed>', 'random seed for key choice', '1')
  .addOption(new Option('--storage <tier>', 'how the client holds the data file to check answers: memory (read whole and verified) or mmap (mapped read-only, for files larger than RAM: the client checks the header only and trusts the rest)').choices(CLIENT_STORAGE).default('memory'))
  .addOption(new Option('--protocol <protocol>', 'wire protocol: rokv, or resp to drive Redis').choices(['rokv', 'resp']).default('rokv'))
  .option('--cluster <map.json>', 'route GETs over a sharded cluster (the file argument is the unsharded data file)')
  .option('--servers <list>', 'with --cluster: host:port (binary protocol) of each server, in the map\'s order (ketama: shard i; slots: each shard\'s primary, then its replicas)', asFlag(parseAddresses))
  .option('--connect-timeout <seconds>', 'give up connecting after this long', parseNumberIn(0.1, 3600), 5)
  .option('--timeout <seconds>', 'a connection whose requests get no answer this long is lost, and the run fails (0 = wait forever)', parseNumberIn(0, 86_400), 10)
  .option('--user <name>', `authenticate as this user (default: default; or ${USER_ENV} in the environment)`)
  .option('--password <password>', `authenticate every connection with this password first (visible in ps: prefer ${PASSWORD_ENV} in the environment)`)
  .option('--json', 'print one JSON object on stdout instead of the table')
  .option('-o, --output <file.html>', 'write a self-contained HTML page with latency charts')
  .addOption(new Option('--report <file.html>').hideHelp());

program.action((file: string, opts) => runMain('client', async () => {
  if (Boolean(opts.cluster) !== Boolean(opts.servers)) throw new UsageError('--cluster and --servers go together');
  if (opts.cluster && opts.protocol !== 'rokv') throw new UsageError('--cluster speaks the rokv protocol only');
  const password: string | undefined = opts.password ?? (process.env[PASSWORD_ENV] || undefined);
  const user: string | undefined = opts.user ?? (process.env[USER_ENV] || undefined);
  if (user !== undefined && password === undefined) throw new UsageError(`--user needs --password (or ${PASSWORD_ENV})`);
  const credentials: Credentials | null = password === undefined ? null : { user: user ?? null, password };
  const reportFile: string | undefined = opts.output ?? opts.report;
  if (reportFile) checkOutputFile(reportFile, [file]);
  // Ctrl-C: stop sending, report what was answered, exit 130; a second Ctrl-C exits at once.
  const stop = new AbortController();
  const onInterrupt = () => {
    if (stop.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    stop.abort();
  };
  process.on('SIGINT', onInterrupt);
  // Answered so far, the rate and the time left (of the count, or of --duration), on a terminal only.
  const progress = new Progress('client', { quiet: opts.json });
  progress.start('answered', 'requests', opts.duration ? null : opts.requests);
  const runsUntil = performance.now() + (opts.duration ?? 0) * 1000;
  const secondsLeft = () => (opts.duration ? Math.max(0, runsUntil - performance.now()) / 1000 : null);
  const report = await runLoad({
    file,
    storage: opts.storage,
    host: opts.host,
    port: opts.port,
    protocol: opts.protocol,
    clients: opts.clients,
    pipeline: opts.pipeline,
    threads: opts.threads ?? defaultThreads(opts.clients),
    requests: opts.duration ? 0 : opts.requests,
    durationSeconds: opts.duration ?? 0,
    warmup: opts.warmup,
    missRatio: opts.missRatio,
    distribution: opts.distribution,
    seed: opts.seed,
    intervalMs: INTERVAL_MS,
    connectTimeoutMs: opts.connectTimeout * 1000,
    timeoutMs: opts.timeout * 1000,
    credentials,
    cluster: opts.cluster ? readClusterMap(opts.cluster) : undefined,
    servers: opts.servers,
    onProgress: progress.enabled ? (answered) => progress.update(answered, secondsLeft()) : undefined,
    stop: stop.signal,
  });
  progress.end();
  // The results first: a report that cannot be written must not lose them.
  process.stdout.write(opts.json ? jsonLine(report) : `${formatText(report)}\n`);
  const failures = report.errors + report.mismatches + report.lostConnections;
  if (failures > 0) process.exitCode = 1;
  if (reportFile) {
    try {
      fs.writeFileSync(reportFile, renderHtml(report, { file, command: commandLine() }));
    } catch (error) {
      throw writeError(reportFile, error);
    }
    process.stderr.write(`client: wrote ${reportFile}\n`);
  }
  if (report.interrupted) process.exitCode = INTERRUPTED_EXIT_CODE;
  process.off('SIGINT', onInterrupt);
}));

await program.parseAsync();
