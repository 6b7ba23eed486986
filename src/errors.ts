// Error types shared by every part: each carries the exit code a CLI should use.

/** A data file that is truncated, corrupt, foreign or otherwise unusable. */
export class FormatError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** Bad input given by a user: a malformed line, a bad flag value. */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
