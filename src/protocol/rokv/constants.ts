// rokv wire protocol version 1.1 (docs/PROTOCOL.md): ops, statuses, error codes, limits.

/** INFO's `protocol` (the major version: what a client can rely on) and `protocol_minor` (1.1 added AUTH and the error codes 6 to 9). */
export const PROTOCOL_VERSION = 1;
export const PROTOCOL_MINOR = 1;
export const DEFAULT_PORT = 7070;
export const DEFAULT_HOST = '127.0.0.1';

/** u32 length before every frame; it counts the op/status byte and the payload. */
export const LENGTH_SIZE = 4;
/** length + op (or status) byte. */
export const FRAME_HEADER_SIZE = 5;
export const MAX_REQUEST_PAYLOAD = 65_535;
/** Largest u32 frame length: a response payload of up to 2^32 - 2 bytes. */
export const MAX_RESPONSE_PAYLOAD = 0xffffffff - 1;

export const OP_GET = 0x01;
export const OP_PING = 0x02;
export const OP_INFO = 0x03;
/** Authenticate the connection (1.1): u16 user name length, the user name (empty: `default`), the password. */
export const OP_AUTH = 0x04;
/** AUTH's fixed part: the user name's length. */
export const AUTH_HEADER_SIZE = 2;

export const STATUS_OK = 0x00;
export const STATUS_NOT_FOUND = 0x01;
export const STATUS_ERROR = 0x02;

export const ERR_UNKNOWN_OP = 1;
export const ERR_BAD_REQUEST = 2;
export const ERR_FRAME_TOO_LARGE = 3;
export const ERR_BUSY = 4;
/** The server could not read the record (a disk read failed); the connection stays open. */
export const ERR_SERVER = 5;
/** Protected mode: no password is set and the client is not on loopback; sent right after accept, then closed (1.1). */
export const ERR_DENIED = 6;
/** The server needs a password and this connection has not authenticated: every request but AUTH gets it (1.1). */
export const ERR_NOAUTH = 7;
/** AUTH with a wrong password, an unknown or a disabled user (1.1). */
export const ERR_WRONGPASS = 8;
/** The user's key patterns do not allow this key (1.1). */
export const ERR_NOPERM = 9;

export const ERROR_NAMES: { readonly [code: number]: string } = {
  [ERR_UNKNOWN_OP]: 'UNKNOWN_OP',
  [ERR_BAD_REQUEST]: 'BAD_REQUEST',
  [ERR_FRAME_TOO_LARGE]: 'FRAME_TOO_LARGE',
  [ERR_BUSY]: 'BUSY',
  [ERR_SERVER]: 'SERVER_ERROR',
  [ERR_DENIED]: 'DENIED',
  [ERR_NOAUTH]: 'NOAUTH',
  [ERR_WRONGPASS]: 'WRONGPASS',
  [ERR_NOPERM]: 'NOPERM',
};
