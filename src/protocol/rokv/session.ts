// rokv's binary protocol (docs/PROTOCOL.md) as a codec: decodes request
// frames, asks the service, and encodes each reply into the link's batch buffer;
// GET values are copied, large ones sent as views of the data Buffer. With users
// (--requirepass, --aclfile) a connection authenticates first (AUTH, 1.1) and its GETs
// are checked against its user's key patterns, as on RESP.

import { type AuthSettings, type UserSpec, Users, openSettings } from '../../auth/users.ts';
import type { Service } from '../../service/service.ts';
import { AUTH_FAILURES, DENIED_KEYS, ERRORS, OUTCOME_ERROR, OUTCOME_HIT, OUTCOME_MISS, OUTCOME_OK, PROTOCOL_ROKV, REQUESTS, requestField } from '../../service/stats.ts';
import type { DiskRecords, Want } from '../../storage/disk.ts';
import type { Records } from '../../storage/records.ts';
import { type Codec, LARGE_VALUE, type Link, type ReplySlot, type Session } from '../codec.ts';
import { type KeyAccess, keyAccessOf } from '../resp/acl.ts';
import {
  AUTH_HEADER_SIZE, ERR_BAD_REQUEST, ERR_BUSY, ERR_NOAUTH, ERR_NOPERM, ERR_SERVER, ERR_FRAME_TOO_LARGE, ERR_UNKNOWN_OP, ERR_WRONGPASS,
  FRAME_HEADER_SIZE, MAX_REQUEST_PAYLOAD, OP_AUTH, OP_GET, OP_INFO, OP_PING, PROTOCOL_MINOR, PROTOCOL_VERSION, STATUS_NOT_FOUND, STATUS_OK,
} from './constants.ts';
import { FrameDecoder, type FrameHandler } from './decoder.ts';
import { encodeError, encodeFrame, writeFrameHeader } from './frames.ts';

/** The binary protocol's request kinds, as /metrics labels them (in requestField order). */
export const ROKV_COMMAND_NAMES = ['get', 'ping', 'info', 'unknown', 'invalid', 'auth'] as const;
/** Where requests of command `name` with `outcome` are counted. */
function field(name: (typeof ROKV_COMMAND_NAMES)[number], outcome: number): number {
  return requestField(PROTOCOL_ROKV, ROKV_COMMAND_NAMES.indexOf(name), outcome);
}
const GET_HIT = field('get', OUTCOME_HIT);
const GET_MISS = field('get', OUTCOME_MISS);
const GET_ERROR = field('get', OUTCOME_ERROR);
const PING_OK = field('ping', OUTCOME_OK);
const INFO_OK = field('info', OUTCOME_OK);
const INFO_ERROR = field('info', OUTCOME_ERROR);
const UNKNOWN_ERROR = field('unknown', OUTCOME_ERROR);
const INVALID_ERROR = field('invalid', OUTCOME_ERROR);
const AUTH_OK = field('auth', OUTCOME_OK);
const AUTH_ERROR = field('auth', OUTCOME_ERROR);
/** Requests refused before authentication, by op (in the order of ROKV_COMMAND_NAMES; other ops count as unknown). */
const NOAUTH_FIELDS = [UNKNOWN_ERROR, GET_ERROR, field('ping', OUTCOME_ERROR), INFO_ERROR];
/** A failed AUTH is answered this long later (plus up to FAILED_AUTH_JITTER_MS), the connection reading nothing meanwhile (as RESP). */
const FAILED_AUTH_DELAY_MS = 200;
const FAILED_AUTH_JITTER_MS = 200;
const NOAUTH_TEXT = 'authentication required: send AUTH first';
const WRONGPASS_TEXT = 'invalid username-password pair or user is disabled';
const NOPERM_TEXT = 'this user has no permissions to access this key';

/** The binary INFO object: the fields of docs/PROTOCOL.md, then rokv's own. */
export function infoObject(service: Service): Record<string, unknown> {
  const f = service.facts();
  return {
    protocol: PROTOCOL_VERSION,
    protocol_minor: PROTOCOL_MINOR,
    keys: f.keys,
    data_bytes: f.dataBytes,
    file: f.file,
    uptime_s: f.uptimeSeconds,
    connections: f.connections,
    requests: f.requests,
    hits: f.hits,
    misses: f.misses,
    errors: f.errors,
    connections_accepted: f.accepted,
    connections_rejected: f.rejected,
    unsent_bytes: f.unsentBytes,
    partial_bytes: f.partialBytes,
    rss_bytes: f.rssBytes,
    loop_lag_ms: f.loopLagMs,
    pid: f.pid,
    version: f.version,
    workers: f.workers,
    data_version: f.dataVersion.version,
    loaded_at: f.dataVersion.loadedAt,
    reloads: f.dataVersion.reloads,
    reload_failures: f.dataVersion.reloadFailures,
    last_reload_error: f.dataVersion.lastReloadError,
    storage: f.storage,
    anon_bytes: f.anonBytes,
    data_resident_bytes: f.residentBytes,
    disk_reads_in_flight: f.diskReadsInFlight,
    disk_reads: f.diskReads,
    disk_read_mean_ms: f.diskReadMeanMs,
    ...f.extra,
  };
}

class RokvSession implements Session, FrameHandler {
  private readonly link: Link;
  private readonly service: Service;
  private readonly decoder: FrameDecoder;
  private readonly users: Users;
  answered = 0;
  private authenticated: boolean;
  /** The user's key patterns, or null when it may read every key. */
  private keys: KeyAccess | null;
  /** Authenticated and may read every key: the request path's one check. */
  private open: boolean;
  /** A failed AUTH's answer is still waiting: nothing more is decoded until it is sent. */
  private waiting = false;

  constructor(link: Link, service: Service, users: Users) {
    this.link = link;
    this.service = service;
    this.users = users;
    this.decoder = new FrameDecoder(this, MAX_REQUEST_PAYLOAD, link.partials);
    this.authenticated = !users.required;
    this.keys = keyAccessOf(users.defaultUser);
    this.open = this.authenticated && this.keys === null;
  }

  private become(user: UserSpec): void {
    this.authenticated = true;
    this.keys = keyAccessOf(user);
    this.open = this.keys === null;
  }

  /** Where this connection's GETs find records: today the data version being served. */
  get records(): Records {
    return this.service.records;
  }

  dispose(): void {
    this.decoder.stop();
  }

  get paused(): boolean {
    return this.decoder.paused;
  }

  push(chunk: Buffer): void {
    this.decoder.push(chunk);
  }

  resume(): void {
    if (!this.waiting) this.decoder.resume();
  }

  onFrame(op: number, bytes: Buffer, start: number, end: number): boolean {
    const link = this.link;
    const out = link.out;
    const service = this.service;
    const counts = service.counts;
    counts[REQUESTS]++;
    this.answered++;
    if (!this.open && this.guarded(op, bytes, start, end)) return !this.waiting && link.hasRoom();
    if (op === OP_GET && end > start) {
      const disk = service.disk;
      if (disk === null) this.get(this.records, bytes, start, end);
      else this.getFromDisk(disk, bytes, start, end);
    } else if (op === OP_PING) {
      counts[PING_OK]++;
      out.pos = writeFrameHeader(link.reserve(FRAME_HEADER_SIZE), out.pos, STATUS_OK, end - start);
      const buf = link.reserve(end - start);
      out.pos += bytes.copy(buf, out.pos, start, end);
    } else if (op === OP_INFO && end === start) {
      counts[INFO_OK]++;
      this.write(encodeFrame(STATUS_OK, Buffer.from(JSON.stringify(infoObject(service)))));
    } else if (op === OP_AUTH) {
      this.auth(bytes, start, end);
    } else {
      counts[ERRORS]++;
      counts[op === OP_GET ? GET_ERROR : op === OP_INFO ? INFO_ERROR : UNKNOWN_ERROR]++;
      if (op === OP_GET) this.write(encodeError(ERR_BAD_REQUEST, 'GET needs a key of 1 to 65535 bytes'));
      else if (op === OP_INFO) this.write(encodeError(ERR_BAD_REQUEST, 'INFO takes no payload'));
      else this.write(encodeError(ERR_UNKNOWN_OP, `unknown op 0x${op.toString(16).padStart(2, '0')} (rokv serves GET, PING, INFO, AUTH; the data set is read-only)`));
    }
    return !this.waiting && link.hasRoom();
  }

  /**
   * A connection not yet authenticated, or whose user has key patterns: answers what it
   * may not do (NOAUTH for every op but AUTH; NOPERM for a GET of a key outside the
   * patterns, as Redis refuses it) and returns true; false lets the request through.
   */
  private guarded(op: number, bytes: Buffer, start: number, end: number): boolean {
    const counts = this.service.counts;
    if (op === OP_AUTH) return false;
    if (!this.authenticated) {
      counts[ERRORS]++;
      counts[NOAUTH_FIELDS[op <= OP_INFO ? op : 0]]++;
      this.write(encodeError(ERR_NOAUTH, NOAUTH_TEXT));
      return true;
    }
    if (op !== OP_GET || end === start || (this.keys as KeyAccess).allows(bytes, start, end, false)) return false;
    counts[ERRORS]++;
    counts[GET_ERROR]++;
    counts[DENIED_KEYS]++;
    this.write(encodeError(ERR_NOPERM, NOPERM_TEXT));
    return true;
  }

  /**
   * AUTH: u16 name length, the name (empty: `default`), the password. Success answers OK
   * with the user's name; a failure is counted and answered FAILED_AUTH_DELAY_MS later
   * (with jitter), nothing more decoded meanwhile, so passwords cannot be tried at wire speed.
   */
  private auth(bytes: Buffer, start: number, end: number): void {
    const counts = this.service.counts;
    const nameLength = end - start >= AUTH_HEADER_SIZE ? bytes.readUInt16BE(start) : -1;
    if (nameLength < 0 || start + AUTH_HEADER_SIZE + nameLength > end) {
      counts[ERRORS]++;
      counts[AUTH_ERROR]++;
      this.write(encodeError(ERR_BAD_REQUEST, 'AUTH needs a u16 user name length, the user name, then the password'));
      return;
    }
    const nameStart = start + AUTH_HEADER_SIZE;
    const name = nameLength === 0 ? 'default' : bytes.toString('utf8', nameStart, nameStart + nameLength);
    const user = this.users.check(name, bytes.subarray(nameStart + nameLength, end));
    if (user !== null) {
      counts[AUTH_OK]++;
      this.become(user);
      this.write(encodeFrame(STATUS_OK, Buffer.from(user.name, 'utf8')));
      return;
    }
    counts[ERRORS]++;
    counts[AUTH_ERROR]++;
    counts[AUTH_FAILURES]++;
    this.waiting = true;
    const slot = this.link.defer();
    setTimeout(() => this.link.fill(slot, () => {
      this.waiting = false;
      this.write(encodeError(ERR_WRONGPASS, WRONGPASS_TEXT));
    }), FAILED_AUTH_DELAY_MS + Math.random() * FAILED_AUTH_JITTER_MS).unref();
  }

  /** GET's reply from `records`: the value (copied, or a view when large), or NOT_FOUND; counted. */
  private get(records: Records, bytes: Buffer, start: number, end: number): void {
    const link = this.link;
    const out = link.out;
    const record = this.service.lookup(records, bytes, start, end);
    this.service.counts[record < 0 ? GET_MISS : GET_HIT]++;
    if (record < 0) {
      out.pos = writeFrameHeader(link.reserve(FRAME_HEADER_SIZE), out.pos, STATUS_NOT_FOUND, 0);
      return;
    }
    const length = records.valueLength(record);
    const valueStart = records.valueStart(record);
    if (length >= LARGE_VALUE) {
      out.pos = writeFrameHeader(link.reserve(FRAME_HEADER_SIZE), out.pos, STATUS_OK, length);
      link.sendView(records.bytes.subarray(valueStart, valueStart + length));
    } else {
      const buf = link.reserve(FRAME_HEADER_SIZE + length);
      const at = writeFrameHeader(buf, out.pos, STATUS_OK, length);
      out.pos = at + records.bytes.copy(buf, at, valueStart, valueStart + length);
    }
  }

  /**
   * Disk tier GET: a key no index slot's tag matches is NOT_FOUND at once, with no read;
   * so is a record in the page cache; otherwise the reply's place is kept and filled
   * when the record is read.
   */
  private getFromDisk(disk: DiskRecords, bytes: Buffer, start: number, end: number): void {
    const now = disk.readableNow(bytes, start, end);
    if (now !== null) return this.get(now, bytes, start, end); // a sure miss, or the record in the page cache
    const want: Want = { key: bytes.subarray(start, end), slot: -1, value: true };
    let slot: ReplySlot | null = null;
    const fetched = disk.fetch([want], (view) => this.link.fill(slot as ReplySlot, () => {
      if (view instanceof Error) {
        const counts = this.service.counts;
        counts[ERRORS]++;
        counts[GET_ERROR]++;
        this.write(encodeError(ERR_SERVER, view.message));
        return;
      }
      const key = want.key as Buffer;
      this.get(view, key, 0, key.length);
    }));
    if (fetched !== null) return this.get(fetched, bytes, start, end); // the record came into the page cache meanwhile
    want.key = Buffer.from(want.key as Buffer); // the request's bytes are valid only during this call
    slot = this.link.defer();
  }

  onBadLength(length: number): void {
    const counts = this.service.counts;
    counts[REQUESTS]++;
    counts[ERRORS]++;
    counts[INVALID_ERROR]++;
    const detail = length === 0 ? 'frame length 0' : `frame payload of ${length - 1} bytes is over ${MAX_REQUEST_PAYLOAD}`;
    this.write(encodeError(ERR_FRAME_TOO_LARGE, `${detail}; closing`));
    this.link.closeAfterReply();
  }

  onBufferLimit(): void {
    this.service.counts[ERRORS]++;
    this.write(encodeError(ERR_BUSY, 'the server holds too many unfinished requests; closing'));
    this.link.closeAfterReply();
  }

  private write(frame: Buffer): void {
    const out = this.link.out;
    const buf = this.link.reserve(frame.length);
    out.pos += frame.copy(buf, out.pos);
  }
}

/** The binary codec for a server with these users (--requirepass, --aclfile). */
export function rokvCodecFor(auth: AuthSettings): Codec {
  const users = new Users(auth);
  return {
    name: 'rokv',
    open: (link, service) => new RokvSession(link, service, users),
    refusal: (reason, limit) => encodeError(ERR_BUSY, reason === 'limit' ? `server is at its limit of ${limit} connections` : 'server is shutting down'),
  };
}

/** The binary protocol with no password configured: every connection may read every key. */
export const rokvCodec: Codec = rokvCodecFor(openSettings());
