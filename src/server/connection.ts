// One client connection: decodes its request frames, answers each into the shared
// batch buffer (GET values copied from the data Buffer, large ones sent as views of
// it), one socket write per batch, and backpressure when the client does not read.

import type { Socket } from 'node:net';
import { RECORD_HEADER_SIZE } from '../format/layout.ts';
import {
  ERR_BAD_REQUEST, ERR_FRAME_TOO_LARGE, ERR_UNKNOWN_OP, FRAME_HEADER_SIZE, MAX_REQUEST_PAYLOAD,
  OP_GET, OP_INFO, OP_PING, STATUS_NOT_FOUND, STATUS_OK,
} from '../protocol/constants.ts';
import { FrameDecoder, type FrameHandler } from '../protocol/decoder.ts';
import { encodeError, encodeFrame, writeFrameHeader } from '../protocol/frames.ts';
import type { RokvServer } from './server.ts';
import { ERRORS, HITS, MISSES, REQUESTS } from './stats.ts';

/** Stop reading a connection while this many response bytes wait to be sent. */
export const OUTPUT_HIGH_WATER = 1 << 20;
/** Values at least this long are sent as views of the data Buffer, not copied. */
const LARGE_VALUE = 64 * 1024;

export class Connection implements FrameHandler {
  readonly socket: Socket;
  private readonly server: RokvServer;
  private readonly decoder: FrameDecoder;
  /** A request completed since the idle sweep last looked. */
  active = true;
  idleSweeps = 0;
  stalledSweeps = 0;
  lastBytesWritten = 0;
  private closing = false;

  constructor(server: RokvServer, socket: Socket) {
    this.server = server;
    this.socket = socket;
    this.decoder = new FrameDecoder(this, MAX_REQUEST_PAYLOAD);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => server.forget(this));
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    this.server.output.flush(this.socket);
    if (this.decoder.paused) this.socket.pause();
  }

  private onDrain(): void {
    if (!this.decoder.paused) return;
    this.decoder.resume();
    this.server.output.flush(this.socket);
    if (this.decoder.paused) return;
    if (this.closing) this.socket.end();
    else this.socket.resume();
  }

  /** Stop reading; answer what was received; close when that is sent. */
  shutdown(): void {
    this.closing = true;
    if (!this.decoder.paused) this.socket.end();
  }

  onFrame(op: number, bytes: Buffer, start: number, end: number): boolean {
    const server = this.server;
    const counts = server.stats.mine;
    const socket = this.socket;
    const output = server.output;
    counts[REQUESTS]++;
    this.active = true;
    if (op === OP_GET && end > start) {
      const data = server.data;
      const record = data.find(bytes, start, end);
      if (record < 0) {
        counts[MISSES]++;
        output.pos = writeFrameHeader(output.reserve(socket, FRAME_HEADER_SIZE), output.pos, STATUS_NOT_FOUND, 0);
      } else {
        counts[HITS]++;
        const length = data.valueLength(record);
        const valueStart = record + RECORD_HEADER_SIZE + end - start;
        if (length >= LARGE_VALUE) {
          output.pos = writeFrameHeader(output.reserve(socket, FRAME_HEADER_SIZE), output.pos, STATUS_OK, length);
          output.flush(socket);
          socket.write(data.bytes.subarray(valueStart, valueStart + length));
        } else {
          const buf = output.reserve(socket, FRAME_HEADER_SIZE + length);
          const at = writeFrameHeader(buf, output.pos, STATUS_OK, length);
          output.pos = at + data.bytes.copy(buf, at, valueStart, valueStart + length);
        }
      }
    } else if (op === OP_PING) {
      output.pos = writeFrameHeader(output.reserve(socket, FRAME_HEADER_SIZE), output.pos, STATUS_OK, end - start);
      const buf = output.reserve(socket, end - start);
      output.pos += bytes.copy(buf, output.pos, start, end);
    } else if (op === OP_INFO && end === start) {
      this.writeFrame(encodeFrame(STATUS_OK, Buffer.from(JSON.stringify(server.info()))));
    } else {
      counts[ERRORS]++;
      if (op === OP_GET) this.writeFrame(encodeError(ERR_BAD_REQUEST, 'GET needs a key of 1 to 65535 bytes'));
      else if (op === OP_INFO) this.writeFrame(encodeError(ERR_BAD_REQUEST, 'INFO takes no payload'));
      else this.writeFrame(encodeError(ERR_UNKNOWN_OP, `unknown op 0x${op.toString(16).padStart(2, '0')} (rokv serves GET, PING, INFO; the data set is read-only)`));
    }
    return socket.writableLength + output.pending < OUTPUT_HIGH_WATER;
  }

  onBadLength(length: number): void {
    const counts = this.server.stats.mine;
    counts[REQUESTS]++;
    counts[ERRORS]++;
    const detail = length === 0 ? 'frame length 0' : `frame payload of ${length - 1} bytes is over ${MAX_REQUEST_PAYLOAD}`;
    this.writeFrame(encodeError(ERR_FRAME_TOO_LARGE, `${detail}; closing`));
    this.server.output.flush(this.socket);
    this.socket.end();
  }

  private writeFrame(frame: Buffer): void {
    const output = this.server.output;
    const buf = output.reserve(this.socket, frame.length);
    output.pos += frame.copy(buf, output.pos);
  }
}
