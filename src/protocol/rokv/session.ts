// rokv's binary protocol (docs/PROTOCOL.md) as a codec: decodes request
// frames, asks the service, and encodes each reply into the link's batch buffer;
// GET values are copied, large ones sent as views of the data Buffer.

import type { Service } from '../../service/service.ts';
import { ERRORS, OUTCOME_ERROR, OUTCOME_HIT, OUTCOME_MISS, OUTCOME_OK, PROTOCOL_ROKV, REQUESTS, requestField } from '../../service/stats.ts';
import type { DiskRecords, Want } from '../../storage/disk.ts';
import type { Records } from '../../storage/records.ts';
import { type Codec, LARGE_VALUE, type Link, type ReplySlot, type Session } from '../codec.ts';
import {
  ERR_BAD_REQUEST, ERR_BUSY, ERR_SERVER, ERR_FRAME_TOO_LARGE, ERR_UNKNOWN_OP, FRAME_HEADER_SIZE, MAX_REQUEST_PAYLOAD,
  OP_GET, OP_INFO, OP_PING, PROTOCOL_VERSION, STATUS_NOT_FOUND, STATUS_OK,
} from './constants.ts';
import { FrameDecoder, type FrameHandler } from './decoder.ts';
import { encodeError, encodeFrame, writeFrameHeader } from './frames.ts';

/** The binary protocol's request kinds, as /metrics labels them (in requestField order). */
export const ROKV_COMMAND_NAMES = ['get', 'ping', 'info', 'unknown', 'invalid'] as const;
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

/** The binary INFO object: the fields of docs/PROTOCOL.md, then rokv's own. */
export function infoObject(service: Service): Record<string, unknown> {
  const f = service.facts();
  return {
    protocol: PROTOCOL_VERSION,
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
  answered = 0;

  constructor(link: Link, service: Service) {
    this.link = link;
    this.service = service;
    this.decoder = new FrameDecoder(this, MAX_REQUEST_PAYLOAD, link.partials);
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
    this.decoder.resume();
  }

  onFrame(op: number, bytes: Buffer, start: number, end: number): boolean {
    const link = this.link;
    const out = link.out;
    const service = this.service;
    const counts = service.counts;
    counts[REQUESTS]++;
    this.answered++;
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
    } else {
      counts[ERRORS]++;
      counts[op === OP_GET ? GET_ERROR : op === OP_INFO ? INFO_ERROR : UNKNOWN_ERROR]++;
      if (op === OP_GET) this.write(encodeError(ERR_BAD_REQUEST, 'GET needs a key of 1 to 65535 bytes'));
      else if (op === OP_INFO) this.write(encodeError(ERR_BAD_REQUEST, 'INFO takes no payload'));
      else this.write(encodeError(ERR_UNKNOWN_OP, `unknown op 0x${op.toString(16).padStart(2, '0')} (rokv serves GET, PING, INFO; the data set is read-only)`));
    }
    return link.hasRoom();
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
    if (!disk.mayHold(bytes, start, end)) return this.get(disk.none, bytes, start, end);
    const want: Want = { key: bytes.subarray(start, end), slot: -1, value: true };
    let slot: ReplySlot | null = null;
    const now = disk.fetch([want], (view) => this.link.fill(slot as ReplySlot, () => {
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
    if (now !== null) return this.get(now, bytes, start, end); // the record was in the page cache
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

export const rokvCodec: Codec = {
  name: 'rokv',
  open: (link, service) => new RokvSession(link, service),
  refusal: (reason, limit) => encodeError(ERR_BUSY, reason === 'limit' ? `server is at its limit of ${limit} connections` : 'server is shutting down'),
};
