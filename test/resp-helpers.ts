// Helpers for RESP tests: encode commands as a client would, and read replies back
// into plain values (a whole-reply parser for tests, not the server's decoder).

import { RawClient } from './server-helpers.ts';

export type Reply = string | number | null | Buffer | { error: string } | Reply[] | { map: [Reply, Reply][] };

/** A command as a RESP array of bulk strings. */
export function command(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses whole replies from bytes; returns them and how many bytes were left over. */
export function parseReplies(bytes: Buffer): { replies: Reply[]; rest: number } {
  const replies: Reply[] = [];
  let pos = 0;
  const one = (): Reply | undefined => {
    const lf = bytes.indexOf(0x0a, pos);
    if (lf < 0) return undefined;
    const type = String.fromCharCode(bytes[pos]);
    const line = bytes.toString('latin1', pos + 1, lf - 1);
    const start = pos;
    pos = lf + 1;
    const items = (n: number): Reply[] | undefined => {
      const list: Reply[] = [];
      for (let i = 0; i < n; i++) {
        const item = one();
        if (item === undefined) return undefined;
        list.push(item);
      }
      return list;
    };
    let result: Reply | undefined;
    switch (type) {
      case '+': result = line; break;
      case '-': result = { error: line }; break;
      case ':': result = Number(line); break;
      case '_': result = null; break;
      case '$': case '=': {
        const n = Number(line);
        if (n < 0) { result = null; break; }
        if (pos + n + 2 > bytes.length) return (pos = start), undefined;
        result = bytes.subarray(pos, pos + n);
        pos += n + 2;
        break;
      }
      case '*': case '~': {
        const n = Number(line);
        result = n < 0 ? null : items(n);
        break;
      }
      case '%': {
        const flat = items(2 * Number(line));
        result = flat && { map: Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]] as [Reply, Reply]) };
        break;
      }
      default: throw new Error(`unknown reply type ${JSON.stringify(type)} at ${start}`);
    }
    if (result === undefined) pos = start;
    return result;
  };
  for (;;) {
    const reply = one();
    if (reply === undefined) break;
    replies.push(reply);
  }
  return { replies, rest: bytes.length - pos };
}

/** Sends bytes on a fresh connection and waits for n whole replies (or the close). */
export async function respExchange(port: number, bytes: Buffer | string, n: number): Promise<{ replies: Reply[]; closed: boolean; raw: Buffer }> {
  const client = await RawClient.connect(port);
  client.socket.write(bytes);
  await client.until(() => parseReplies(client.received).replies.length >= n || client.closed, 10_000);
  const replies = parseReplies(client.received).replies;
  client.socket.destroy();
  return { replies, closed: client.closed, raw: client.received };
}

/** A reply as text (bulk strings decoded as UTF-8). */
export function text(reply: Reply): string {
  return Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply);
}
