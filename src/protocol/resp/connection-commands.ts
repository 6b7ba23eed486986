// The RESP commands about the connection and the server, not the data: PING, ECHO,
// AUTH, HELLO, SELECT, QUIT, RESET, TIME, the CLIENT subcommands, MULTI and its
// friends (the session runs the transaction), CONFIG's refused subcommands, and the
// HELP replies of containers.

import { HELLO_NOAUTH } from './acl.ts';
import { NOT_INTEGER, parseInteger, plainName } from './arguments.ts';
import type { CommandHandler } from './context.ts';
import type { ArgList } from './decoder.ts';
import { REDIS_COMPATIBLE_VERSION } from './introspection.ts';

const AUTH_MISCONFIGURED = 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?';
const BAD_NAME = 'ERR Client names cannot contain spaces, newlines or special characters.';

export const ping: CommandHandler = (s, a) => {
  if (a.count > 2) return s.error("ERR wrong number of arguments for 'ping' command");
  if (a.count === 1) s.w.simple('PONG');
  else s.w.bulk(a.buf, a.starts[1], a.ends[1]);
};

export const echo: CommandHandler = (s, a) => s.w.bulk(a.buf, a.starts[1], a.ends[1]);

/** The argument's bytes, copied (a password is compared after this request's bytes may be gone). */
function argBytes(a: ArgList, i: number): Buffer {
  return Buffer.from(a.buf.subarray(a.starts[i], a.ends[i]));
}

/** AUTH [user] password: as Redis 7 (AUTH password is the `default` user's; a failure is answered late). */
export const auth: CommandHandler = (s, a) => {
  if (a.count > 3) return s.error('ERR syntax error');
  if (a.count === 2 && s.passwordless) return s.error(AUTH_MISCONFIGURED);
  const user = a.count === 2 ? 'default' : a.text(1);
  if (s.login(user, argBytes(a, a.count - 1))) s.w.simple('OK');
};

/** HELLO [protover [AUTH user pass] [SETNAME name]]: switches RESP2/RESP3 and describes the server. */
export const hello: CommandHandler = (s, a) => {
  let proto = s.w.proto;
  let i = 1;
  if (a.count > 1) {
    const version = parseInteger(a.text(1));
    if (version === null) return s.error('ERR Protocol version is not an integer or out of range');
    if (version < 2 || version > 3) return s.error('NOPROTO unsupported protocol version');
    proto = version;
    i = 2;
  }
  let name: string | null = null;
  let login = -1;
  for (; i < a.count; i++) {
    const option = a.lower(i);
    const more = a.count - i - 1;
    if (option === 'auth' && more >= 2) {
      login = i + 1;
      i += 2;
    } else if (option === 'setname' && more >= 1) {
      name = a.text(i + 1);
      if (!plainName(name)) return s.error(BAD_NAME);
      i += 1;
    } else {
      return s.error(`ERR Syntax error in HELLO option '${a.text(i)}'`);
    }
  }
  // As Redis: every option parsed first, then AUTH, then the check that the client is authenticated.
  if (login > 0 && !s.login(a.text(login), argBytes(a, login + 1))) return;
  if (!s.authenticated) return s.error(HELLO_NOAUTH);
  if (name !== null) s.name = name;
  s.w.proto = proto;
  const w = s.w;
  w.map(7);
  w.bulkText('server');
  w.bulkText('rokv');
  w.bulkText('version');
  w.bulkText(REDIS_COMPATIBLE_VERSION);
  w.bulkText('proto');
  w.integer(proto);
  w.bulkText('id');
  w.integer(s.link.id);
  w.bulkText('mode');
  w.bulkText(s.service.router === null ? 'standalone' : 'cluster');
  w.bulkText('role');
  w.bulkText('master');
  w.bulkText('modules');
  w.array(0);
};

export const select: CommandHandler = (s, a) => {
  const db = parseInteger(a.text(1));
  if (db === null) return s.error(NOT_INTEGER);
  if (db !== 0) return s.error('ERR DB index is out of range');
  s.w.simple('OK');
};

export const ok: CommandHandler = (s) => s.w.simple('OK');

export const quit: CommandHandler = (s) => {
  s.w.simple('OK');
  s.link.closeAfterReply();
};

export const reset: CommandHandler = (s) => s.reset();

export const time: CommandHandler = (s) => {
  const micros = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  s.w.array(2);
  s.w.bulkText(String(micros / 1_000_000n));
  s.w.bulkText(String(micros % 1_000_000n));
};

export const multi: CommandHandler = (s) => s.multi();
export const exec: CommandHandler = (s) => s.exec();
export const discard: CommandHandler = (s) => s.discard();
/** WATCH: nothing ever changes, so there is nothing to watch (but not inside MULTI). */
export const watch: CommandHandler = (s) => (s.inMulti ? s.error('ERR WATCH inside MULTI is not allowed') : s.w.simple('OK'));

/** A container's HELP: its lines as simple strings. */
export function helpReply(lines: string[]): CommandHandler {
  return (s) => {
    s.w.array(lines.length);
    for (const line of lines) s.w.simple(line);
  };
}

export const clientSetname: CommandHandler = (s, a) => {
  const name = a.text(2);
  if (!plainName(name)) return s.error(BAD_NAME);
  s.name = name;
  s.w.simple('OK');
};

export const clientGetname: CommandHandler = (s) => (s.name ? s.w.bulkText(s.name) : s.w.nil());

export const clientSetinfo: CommandHandler = (s, a) => {
  const attribute = a.lower(2);
  const value = a.text(3);
  if (attribute !== 'lib-name' && attribute !== 'lib-ver') return s.error(`ERR Unrecognized option '${a.text(2)}'`);
  if (!plainName(value) && value !== '') return s.error(`ERR ${attribute} cannot contain spaces, newlines or special characters.`);
  if (attribute === 'lib-name') s.libName = value;
  else s.libVersion = value;
  s.w.simple('OK');
};

export const clientId: CommandHandler = (s) => s.w.integer(s.link.id);

/** CLIENT NO-EVICT / NO-TOUCH ON|OFF: accepted, nothing to change. */
export const onOff: CommandHandler = (s, a) => {
  const value = a.lower(2);
  if (value !== 'on' && value !== 'off') return s.error('ERR syntax error');
  s.w.simple('OK');
};

export const configRefused: CommandHandler = (s, a) => s.error(`ERR CONFIG ${a.text(1).toUpperCase()} is not supported: rokv is configured by its command-line flags`);
