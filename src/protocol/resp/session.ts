// The RESP front (the Redis protocol, RESP2 and RESP3) as a codec: one session per
// connection holds its state (protocol version, name, MULTI queue), answers GET on a
// fast path with no allocation, and dispatches every other command through the
// command table in the order Redis checks: known, arity, keys, read-only. Handlers see
// the session only as their CommandContext (context.ts). With the disk tier a command
// that reads records runs once they are fetched, its reply filled into the place the
// connection kept for it (Link.defer), so replies stay in request order.

import { type AuthSettings, type UserSpec, Users, openSettings } from '../../auth/users.ts';
import type { Service } from '../../service/service.ts';
import type { DiskRecords, FetchedRecords, Want } from '../../storage/disk.ts';
import { AUTH_FAILURES, DENIED_KEYS, ERRORS, OUTCOME_ERROR, OUTCOME_HIT, OUTCOME_MISS, OUTCOME_OK, PROTOCOL_RESP, REQUESTS, requestField } from '../../service/stats.ts';
import type { Records } from '../../storage/records.ts';
import type { Codec, Link, ReplySlot, Session } from '../codec.ts';
import { type KeyAccess, NOAUTH, NOPERM_KEY, NO_AUTH, WRONGPASS, keyAccessOf } from './acl.ts';
import { keysServedHere } from './cluster-commands.ts';
import { RESP_COMMAND_NUMBERS, RESP_GET, RESP_INVALID, RESP_UNKNOWN } from './command-numbers.ts';
import { type CommandSpec, arityFits } from './command-spec.ts';
import { wantsOf } from './disk-wants.ts';
import { COMMANDS } from './command-table.ts';
import type { CommandContext } from './context.ts';
import { type ArgList, MAX_REQUEST_BYTES, type RequestHandler, RespRequestDecoder } from './decoder.ts';
import { RespWriter } from './writer.ts';

/** Most commands one MULTI may queue. */
const MAX_QUEUED = 10_000;
const INVALID_ERROR = requestField(PROTOCOL_RESP, RESP_INVALID, OUTCOME_ERROR);
/** found: the request's GET is not known to have looked up a key (queued, refused, not a GET). */
const NOT_LOOKED_UP = -1;
/** found: the GET's key is being read from disk; its outcome is counted when the reply is filled. */
const DEFERRED = -2;
/** A failed authentication is answered this long later (plus up to FAILED_AUTH_JITTER_MS), the connection reading nothing meanwhile. */
const FAILED_AUTH_DELAY_MS = 200;
const FAILED_AUTH_JITTER_MS = 200;

/** Whether argument 0 is "get" in any case. */
function isGet(a: ArgList): boolean {
  const s = a.starts[0];
  const b = a.buf;
  return a.ends[0] - s === 3 && (b[s] | 0x20) === 0x67 && (b[s + 1] | 0x20) === 0x65 && (b[s + 2] | 0x20) === 0x74;
}

/** Redis's text for an unknown command: its name, then the first args up to 128 characters. */
function unknownCommand(a: ArgList): string {
  let args = '';
  for (let i = 1; i < a.count && args.length < 128; i++) args += `'${a.text(i).slice(0, 128 - args.length)}' `;
  return `ERR unknown command '${a.text(0).slice(0, 128)}', with args beginning with: ${args}`;
}

class RespSession implements Session, RequestHandler, CommandContext {
  readonly link: Link;
  readonly service: Service;
  readonly w: RespWriter;
  answered = 0;
  /** CLIENT SETNAME / HELLO SETNAME; CLIENT SETINFO. */
  name = '';
  libName = '';
  libVersion = '';
  readonly createdAt = Date.now();
  /** READONLY was sent: a replica of a slots cluster answers this connection's reads. */
  readonly = false;
  /** MULTI's queue, or null outside a transaction. */
  private queue: ArgList[] | null = null;
  /** For /metrics: the request's command number (-1 until dispatch knows it), and its GET's lookup (1 hit, 0 miss). */
  private command = -1;
  private found = NOT_LOOKED_UP;
  private queuedBytes = 0;
  /** A command was refused while queueing: EXEC must abort. */
  private queueBroken = false;
  private readonly decoder: RespRequestDecoder;
  /** Disk tier: the records the command running now reads (fetched for it, or the page-cache view readableNow gave). */
  private view: Records | null = null;
  /** While a command that paused runs: the version it started on (see pin). */
  private pinned: Records | null = null;
  private pinnedDisk: DiskRecords | null = null;
  /**
   * The rest of commands that paused for output room (forEachArg, EXEC), innermost
   * last: each step returns true once its command is done. While any waits, no new
   * request is decoded.
   */
  private readonly later: (() => boolean)[] = [];
  /** What paced commands still under way must give back if the connection closes. */
  private readonly abandons = new Set<() => void>();
  private readonly users: Users;
  user = 'default';
  authenticated = false;
  /** The user's key patterns, or null when it may read every key. */
  private keys: KeyAccess | null = null;
  /** Authenticated and may read every key: the GET fast path's one check. */
  private mayReadAll = false;

  constructor(link: Link, service: Service, users: Users) {
    this.link = link;
    this.service = service;
    this.users = users;
    this.w = new RespWriter(link);
    this.decoder = new RespRequestDecoder(this, link.partials);
    this.becomeDefault();
  }

  get passwordless(): boolean {
    return !this.users.required;
  }

  userNames(): string[] {
    return this.users.names();
  }

  private become(user: UserSpec): void {
    this.user = user.name;
    this.authenticated = true;
    this.keys = keyAccessOf(user);
    this.mayReadAll = this.keys === null;
  }

  /** A new connection's user, as Redis: `default`, authenticated unless it needs a password (or is off). */
  private becomeDefault(): void {
    this.become(this.users.defaultUser);
    this.authenticated = !this.users.required;
    this.mayReadAll = this.authenticated && this.keys === null;
  }

  login(name: string, password: Buffer): boolean {
    const user = this.users.check(name, password);
    if (user !== null) {
      this.become(user);
      return true;
    }
    this.service.counts[AUTH_FAILURES]++;
    // The refusal waits, and so does the connection's input: a password cannot be tried at wire speed.
    const slot = this.link.defer();
    let waited = false;
    this.later.push(() => waited);
    setTimeout(() => {
      waited = true;
      this.link.fill(slot, () => this.error(WRONGPASS));
    }, FAILED_AUTH_DELAY_MS + Math.random() * FAILED_AUTH_JITTER_MS).unref();
    return false;
  }

  /** Where this connection's commands find records: the version being served, or (disk) what was fetched for this command. */
  get records(): Records {
    return this.view ?? this.pinned ?? this.service.records;
  }

  /** The disk tier's version this connection reads from now: the pinned one while a command that paused runs. */
  private get disk(): DiskRecords | null {
    return this.pinned === null ? this.service.disk : this.pinnedDisk;
  }

  /**
   * A command paused (output room, a disk read): it and the commands it runs (MGET's
   * keys, EXEC's queue) answer from the version it started on, whatever a swap brings
   * meanwhile; the disk tier keeps that version's file open until then.
   */
  private pin(): void {
    this.pinned = this.service.records;
    this.pinnedDisk = this.service.disk;
    this.pinnedDisk?.hold();
  }

  private unpin(): void {
    if (this.pinned === null) return;
    this.pinnedDisk?.release();
    this.pinned = null;
    this.pinnedDisk = null;
  }

  dispose(): void {
    this.decoder.stop();
    for (const abandon of this.abandons) abandon();
    this.abandons.clear();
    this.unpin();
  }

  get paused(): boolean {
    return this.decoder.paused;
  }

  get inMulti(): boolean {
    return this.queue !== null;
  }

  push(chunk: Buffer): void {
    this.decoder.push(chunk);
  }

  resume(): void {
    while (this.later.length > 0) {
      const top = this.later.length - 1;
      if (!this.later[top]()) return;
      this.later.splice(top, 1);
    }
    this.unpin();
    this.decoder.resume();
  }

  /** Runs `step`; if it paused, keeps it (below any step it started that paused too) for resume(), on the version it began with. */
  private runOrKeep(step: () => boolean): void {
    const depth = this.later.length;
    if (step()) return;
    if (this.pinned === null) this.pin();
    this.later.splice(depth, 0, step);
  }

  forEachArg(a: ArgList, first: number, emit: (args: ArgList, i: number) => void): void {
    let args = a;
    let i = first;
    this.runOrKeep(() => {
      const depth = this.later.length;
      while (i < args.count) {
        emit(args, i++);
        if (i < args.count && (this.later.length > depth || !this.link.hasRoom())) {
          if (args === a) args = a.clone(); // a's bytes are valid only during this call
          return false;
        }
      }
      return true;
    });
  }

  /** See CommandContext.paced. */
  paced(step: () => boolean, abandon: () => void): void {
    this.abandons.add(abandon);
    this.runOrKeep(() => {
      if (!step()) return false;
      this.abandons.delete(abandon);
      return true;
    });
  }

  onCommand(a: ArgList): boolean {
    this.answered++;
    const counts = this.service.counts;
    counts[REQUESTS]++;
    const errors = counts[ERRORS];
    this.found = NOT_LOOKED_UP;
    if (this.mayReadAll && this.queue === null && a.count === 2 && isGet(a)) {
      this.command = RESP_GET;
      const router = this.service.router;
      if (router === null || keysServedHere(this, router, a, 1, 1, 1)) this.get(a.buf, a.starts[1], a.ends[1]);
    } else {
      this.command = -1;
      this.dispatch(a);
    }
    const command = this.command < 0 ? RESP_UNKNOWN : this.command;
    const outcome = counts[ERRORS] !== errors ? OUTCOME_ERROR : command !== RESP_GET || this.found === NOT_LOOKED_UP ? OUTCOME_OK : this.found === 1 ? OUTCOME_HIT : OUTCOME_MISS;
    if (this.found !== DEFERRED) counts[requestField(PROTOCOL_RESP, command, outcome)]++;
    return this.later.length === 0 && this.link.hasRoom();
  }

  onProtocolError(message: string): void {
    const counts = this.service.counts;
    counts[REQUESTS]++;
    counts[INVALID_ERROR]++;
    this.error(`ERR ${message}`);
    this.link.closeAfterReply();
  }

  onBufferLimit(): void {
    this.error('ERR the server holds too many unfinished requests; closing');
    this.link.closeAfterReply();
  }

  /** An error reply, counted. */
  error(text: string): void {
    this.service.counts[ERRORS]++;
    this.w.error(text);
  }

  /** GET: the value as a bulk string, or null. */
  get(bytes: Buffer, start: number, end: number): void {
    const disk = this.disk;
    if (disk !== null && this.view === null) return this.getFromDisk(disk, bytes, start, end);
    const records = this.records;
    const record = this.service.lookup(records, bytes, start, end);
    this.found = record < 0 ? 0 : 1;
    if (record < 0) return this.w.nil();
    const valueStart = records.valueStart(record);
    this.w.bulk(records.bytes, valueStart, valueStart + records.valueLength(record));
  }

  /** GET answered from a disk-tier view (fetched, or readableNow's). */
  private getIn(view: Records, bytes: Buffer, start: number, end: number): void {
    this.view = view;
    try {
      this.get(bytes, start, end);
    } finally {
      this.view = null;
    }
  }

  /**
   * Disk tier GET: a key no index slot's tag matches is a miss at once, with no read;
   * otherwise the reply's place is kept and filled when the record is read.
   */
  private getFromDisk(disk: DiskRecords, bytes: Buffer, start: number, end: number): void {
    const now = disk.readableNow(bytes, start, end);
    if (now !== null) return this.getIn(now, bytes, start, end); // a sure miss, or the record in the page cache
    const want: Want = { key: bytes.subarray(start, end), slot: -1, value: true };
    const countsRequest = this.command === RESP_GET; // a GET of its own (not in MGET or EXEC): its outcome is counted when filled
    let slot: ReplySlot | null = null;
    const fetched = disk.fetch([want], (view) => this.link.fill(slot as ReplySlot, () => {
      const counts = this.service.counts;
      if (view instanceof Error) {
        this.error(`ERR ${view.message}`);
        if (countsRequest) counts[requestField(PROTOCOL_RESP, RESP_GET, OUTCOME_ERROR)]++;
        return;
      }
      const key = want.key as Buffer;
      this.getIn(view, key, 0, key.length);
      if (countsRequest) counts[requestField(PROTOCOL_RESP, RESP_GET, this.found === 1 ? OUTCOME_HIT : OUTCOME_MISS)]++;
    }));
    if (fetched !== null) return this.getIn(fetched, bytes, start, end); // the record came into the page cache meanwhile
    want.key = Buffer.from(want.key as Buffer); // the request's bytes are valid only during this call
    if (countsRequest) this.found = DEFERRED;
    slot = this.link.defer();
  }

  /** Disk tier: fetches what the command reads (its spec says what), then runs it into the place kept for its reply. */
  private runFetched(disk: DiskRecords, spec: CommandSpec, a: ArgList): void {
    const args = a.clone(); // a's bytes are valid only during this call
    let slot: ReplySlot | null = null;
    const run = (view: FetchedRecords) => {
      this.view = view;
      try {
        (spec.run as NonNullable<CommandSpec['run']>)(this, args);
      } finally {
        this.view = null;
      }
    };
    const now = disk.fetch(wantsOf(spec, args, disk), (view) => this.link.fill(slot as ReplySlot, () => {
      if (view instanceof Error) return this.error(`ERR ${view.message}`);
      run(view);
    }));
    if (now !== null) return run(now); // every record was in the page cache
    slot = this.link.defer();
  }

  /** Looks the command up, checks it as Redis does, then runs or queues it. */
  private dispatch(a: ArgList): void {
    let spec = COMMANDS.get(a.lower(0));
    if (spec === undefined) return this.refuse(unknownCommand(a));
    if (this.command < 0) this.command = RESP_COMMAND_NUMBERS.get(spec.name) as number; // EXEC's queued commands count as EXEC
    if (!arityFits(spec, a.count)) return this.refuse(`ERR wrong number of arguments for '${spec.name}' command`);
    if (spec.subcommands && (a.count > 1 || spec.run === undefined)) {
      const sub = spec.subcommands.get(`${spec.name}|${a.lower(1)}`);
      if (sub === undefined) {
        return this.refuse(`ERR unknown subcommand '${a.text(1).slice(0, 128)}'. Try ${spec.name.toUpperCase()} HELP.`);
      }
      spec = sub;
      if (!arityFits(spec, a.count)) return this.refuse(`ERR wrong number of arguments for '${spec.name}' command`);
    }
    if (!this.authenticated && !NO_AUTH.has(spec.name)) return this.refuse(NOAUTH);
    if (this.keys !== null && spec.firstKey > 0 && !this.keys.allowsKeys(spec, a)) {
      this.service.counts[DENIED_KEYS]++;
      return this.refuse(NOPERM_KEY);
    }
    const router = this.service.router;
    if (router !== null && spec.firstKey > 0 && a.count > spec.firstKey && !keysServedHere(this, router, a, spec.firstKey, spec.lastKey, spec.step)) {
      if (this.queue !== null) this.queueBroken = true;
      return;
    }
    if (spec.run === undefined) return this.refuse('READONLY You can\'t write against a read only replica.');
    if (this.queue !== null && !spec.flags.includes('no-multi') && !NOT_QUEUED.has(spec.name)) return this.enqueue(a);
    const disk = this.disk;
    if (spec.reads !== undefined && disk !== null && this.view === null) return this.runFetched(disk, spec, a);
    spec.run(this, a);
  }

  /** Refuses a command; inside MULTI that also dooms the transaction, as in Redis. */
  private refuse(text: string): void {
    if (this.queue !== null) this.queueBroken = true;
    this.error(text);
  }

  private enqueue(a: ArgList): void {
    const queue = this.queue as ArgList[];
    const size = a.ends[a.count - 1] - a.starts[0];
    if (queue.length >= MAX_QUEUED || this.queuedBytes + size > MAX_REQUEST_BYTES) {
      return this.refuse(`ERR a transaction may queue at most ${MAX_QUEUED} commands and ${MAX_REQUEST_BYTES} bytes`);
    }
    queue.push(a.clone());
    this.queuedBytes += size;
    this.w.simple('QUEUED');
  }

  multi(): void {
    if (this.queue !== null) return this.error('ERR MULTI calls can not be nested');
    this.queue = [];
    this.queuedBytes = 0;
    this.queueBroken = false;
    this.w.simple('OK');
  }

  exec(): void {
    const queue = this.queue;
    if (queue === null) return this.error('ERR EXEC without MULTI');
    const broken = this.queueBroken;
    this.endMulti();
    if (broken) return this.error('EXECABORT Transaction discarded because of previous errors.');
    this.w.array(queue.length);
    let next = 0;
    // Each queued command in turn, pausing (as forEachArg does) while there is no output room.
    this.runOrKeep(() => {
      const depth = this.later.length;
      while (next < queue.length) {
        this.dispatch(queue[next++]);
        if (next < queue.length && (this.later.length > depth || !this.link.hasRoom())) return false;
      }
      return true;
    });
  }

  discard(): void {
    if (this.queue === null) return this.error('ERR DISCARD without MULTI');
    this.endMulti();
    this.w.simple('OK');
  }

  /** RESET: back to a new connection's state. */
  reset(): void {
    this.endMulti();
    this.w.proto = 2;
    this.readonly = false;
    this.name = this.libName = this.libVersion = '';
    this.becomeDefault();
    this.w.simple('RESET');
  }

  private endMulti(): void {
    this.queue = null;
    this.queuedBytes = 0;
    this.queueBroken = false;
  }
}

/** Commands MULTI runs at once instead of queueing (as Redis does). */
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

/** The RESP codec for a server with these users (--requirepass, --aclfile). */
export function respCodecFor(auth: AuthSettings): Codec {
  const users = new Users(auth);
  return {
    name: 'resp',
    open: (link, service) => new RespSession(link, service, users),
    refusal: (reason) => Buffer.from(reason === 'limit' ? '-ERR max number of clients reached\r\n' : '-ERR server is shutting down\r\n', 'latin1'),
  };
}

/** RESP with no password configured: Redis's passwordless `default` user. */
export const respCodec: Codec = respCodecFor(openSettings());
