// Error types shared by every part: each carries the exit code a CLI should use —
// 2 for a usage error only (a bad flag, flags that do not go together), 1 for a
// failure at run time (a missing or corrupt file, a malformed line, a port in use),
// so a script can tell them apart.

/** Exit code of a failure at run time. */
export const FAILURE_EXIT_CODE = 1;

/** A data file that is truncated, corrupt, foreign or otherwise unusable. */
export class FormatError extends Error {
  readonly exitCode = FAILURE_EXIT_CODE;
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** Bad input found at run time: a malformed line, a missing file, a port in use. */
export class InputError extends Error {
  readonly exitCode = FAILURE_EXIT_CODE;
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** A command line that does not make sense (flags that do not go together): exit 2, "; see --help". */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
