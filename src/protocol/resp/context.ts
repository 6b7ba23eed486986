// What a RESP command may use, and nothing more: the reply writer, the service
// (counters, INFO's facts, the cluster router), the records it reads, the connection
// (its id and addresses, closing after the reply) and the connection's state (name,
// client library, READONLY, MULTI). The session implements it; handlers never see
// the session itself, so they do not depend on it.

import type { Service } from '../../service/service.ts';
import type { Records } from '../../storage/records.ts';
import type { Link } from '../codec.ts';
import type { ArgList } from './decoder.ts';
import type { RespWriter } from './writer.ts';

export interface CommandContext {
  /** Replies, as RESP2 or RESP3 (HELLO switches `w.proto`). */
  readonly w: RespWriter;
  readonly service: Service;
  /** Where the command finds records and reads their keys and values (src/storage/records.ts). */
  readonly records: Records;
  readonly link: Link;
  /** CLIENT SETNAME / HELLO SETNAME; CLIENT SETINFO. */
  name: string;
  libName: string;
  libVersion: string;
  /** When the connection was opened (Date.now()), for CLIENT INFO's age. */
  readonly createdAt: number;
  /** READONLY was sent: a replica of a slots cluster answers this connection's reads. */
  readonly: boolean;
  /** Inside MULTI. */
  readonly inMulti: boolean;
  /** The user this connection is (ACL WHOAMI), and whether it has authenticated (or needs not). */
  readonly user: string;
  readonly authenticated: boolean;
  /** The `default` user takes any password (`AUTH <password>` is then a configuration mistake). */
  readonly passwordless: boolean;
  /** Every user's name, sorted (ACL USERS). */
  userNames(): string[];
  /**
   * Authenticates as `name` with `password`: true, or false with the WRONGPASS error on
   * its way — after a delay, during which the connection reads nothing more.
   */
  login(name: string, password: Buffer): boolean;
  /** An error reply (its text starts with the code: ERR, WRONGPASS, …), counted. */
  error(text: string): void;
  /** GET of the key bytes[start, end): its value as a bulk string, or null (disk tier: filled in when read). */
  get(bytes: Buffer, start: number, end: number): void;
  /**
   * Calls emit(args, i) for i = first … args.count - 1, in order, as the connection's
   * output room allows: when the client is not reading (or too many replies wait for
   * disk reads), the rest is produced once there is room again — so one command's
   * reply is held to the budgets a pipeline of single commands is. `args` is `a`, or
   * a copy of it after the first pause.
   */
  forEachArg(a: ArgList, first: number, emit: (args: ArgList, i: number) => void): void;
  /**
   * Runs step() now and, until it returns true, again whenever the connection has
   * output room after an event (a drain, or a reply the step deferred with link.defer
   * being filled): a command that produces its reply over many turns (KEYS). The
   * connection reads no other request meanwhile. If the connection closes first,
   * abandon() runs instead, once.
   */
  paced(step: () => boolean, abandon: () => void): void;
  multi(): void;
  exec(): void;
  discard(): void;
  /** RESET: back to a new connection's state. */
  reset(): void;
}

/** A command's handler: answers `a` (argument 0 is the command's name) through `ctx`. */
export type CommandHandler = (ctx: CommandContext, a: ArgList) => void;
