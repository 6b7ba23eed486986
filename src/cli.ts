// What every command-line entry point shares: the command with its flag-error
// behaviour, number parsing for flags, one JSON key style, and one way to turn errors
// into a message and an exit code instead of a stack trace.

import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { UsageError } from './errors.ts';

/** Exit code of a command line that could not be parsed (a bad flag, a missing argument). */
export const USAGE_EXIT_CODE = 2;

/**
 * A command named `name` whose parse errors are one line — "name: <problem>; see
 * --help" — and exit 2; --help prints the usage and exits 0.
 */
export function newCommand(name: string): Command {
  return new Command(name)
    .configureOutput({
      outputError: (text, write) => write(`${name}: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ').replace(/\.$/, '')}; see --help\n`),
    })
    .exitOverride((error) => {
      process.exit(error.exitCode === 0 ? 0 : USAGE_EXIT_CODE);
    });
}

/** camelCase → snake_case, the one key style of every tool's --json output. */
function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `value` as one line of JSON with every object key in snake_case. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, function (this: unknown, _key, v) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [snakeCase(k), inner]));
  })}\n`;
}

const SUFFIXES: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/** "1000", "10K", "1M", "2.5M" → a whole number. */
export function parseCount(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(text.trim());
  const value = match ? Number(match[1]) * SUFFIXES[match[2].toLowerCase()] : NaN;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`"${text}" is not a count (a whole number, optionally with K, M or G)`);
  }
  return value;
}

export function parseIntIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`"${text}" is not a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

export function parseNumberIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new InvalidArgumentError(`"${text}" is not a number from ${min} to ${max}`);
    }
    return value;
  };
}

/** A flag parser from any parser that throws: its message becomes commander's error for the flag. */
export function asFlag<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

/**
 * A server's log lines must never take it down: a stdout or stderr that is closed,
 * or a pipe whose reader went away (`server | head -1`), makes writes fail with
 * EPIPE/EBADF; those errors are dropped instead of crashing the process.
 */
export function ignoreBrokenOutput(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

/**
 * Runs a command's body; errors with an exitCode print one line, others a stack. A
 * usage error (UsageError, or a flag parser's error thrown from the body) ends
 * "; see --help" and exits 2; every other failure at run time exits 1.
 */
export async function runMain(program: string, body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof UsageError || error instanceof CommanderError) {
      process.stderr.write(`${program}: ${error.message.replace(/\.$/, '')}; see --help\n`);
      process.exitCode = USAGE_EXIT_CODE;
      return;
    }
    const code = (error as { exitCode?: number }).exitCode;
    if (typeof code === 'number') {
      process.stderr.write(`${program}: ${(error as Error).message}\n`);
      process.exitCode = code;
    } else {
      process.stderr.write(`${program}: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 70;
    }
  }
}
