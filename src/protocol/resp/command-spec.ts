// A RESP command as the command table describes it: what COMMAND and COMMAND DOCS
// report (arity, flags, key positions, group, summary, since) and its handler; the
// words the table is written in; and Redis's arity rule.

import type { CommandHandler } from './context.ts';

export interface CommandSpec {
  /** Lower case; a subcommand is "container|sub". */
  name: string;
  /** Argument count with the name: N exactly, or -N for at least N. */
  arity: number;
  flags: string[];
  firstKey: number;
  lastKey: number;
  step: number;
  group: string;
  summary: string;
  since: string;
  /** Absent for write commands (refused with -READONLY) and for containers (a subcommand runs). */
  run?: CommandHandler;
  /**
   * What the command reads of the records, for the disk tier (which fetches it before
   * the command runs): the records of its key arguments ('keys': header and key;
   * 'values': the whole record), or records by index slot ('slots': SCAN, RANDOMKEY;
   * see disk-wants.ts). Absent: it reads no record, or only through ctx.get (GET,
   * MGET), which fetches each value by itself.
   */
  reads?: 'keys' | 'values' | 'slots';
  subcommands?: Map<string, CommandSpec>;
}

export function spec(name: string, arity: number, flags: string[], keys: [number, number, number], group: string, summary: string, run?: CommandHandler, since = '1.0.0'): CommandSpec {
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], step: keys[2], group, summary, since, run };
}

/** `command`, marked as reading records (see CommandSpec.reads). */
export function reading(reads: 'keys' | 'values' | 'slots', command: CommandSpec): CommandSpec {
  command.reads = reads;
  return command;
}

/** A container command (CLIENT, COMMAND, …) with its subcommands. */
export function container(parent: CommandSpec, subs: CommandSpec[]): CommandSpec {
  parent.subcommands = new Map(subs.map((sub) => [sub.name, sub]));
  return parent;
}

/** Key positions [first, last, step]: none, argument 1, every argument from 1. */
export const NO_KEYS: [number, number, number] = [0, 0, 0];
export const ONE_KEY: [number, number, number] = [1, 1, 1];
export const ALL_KEYS: [number, number, number] = [1, -1, 1];
/** Flags of fast reads, and of connection commands. */
export const READ = ['readonly', 'fast'];
export const CONN = ['noscript', 'loading', 'stale', 'fast'];

/** Whether `count` arguments (the name included) fit the command's arity. */
export function arityFits(spec: CommandSpec, count: number): boolean {
  return spec.arity >= 0 ? count === spec.arity : count >= -spec.arity;
}
