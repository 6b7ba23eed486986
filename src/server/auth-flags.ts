// bin/server's flags for who may read, turned into users: --requirepass PASS,
// --requirepass-file FILE or the environment's ROKV_REQUIREPASS (so the password need
// not sit in `ps`), or --aclfile FILE (Redis's ACL file syntax, src/auth/users.ts).
// Only one of them; none: Redis's passwordless `default` user.

import fs from 'node:fs';
import { type AuthSettings, parseAclFile, requirePassSettings } from '../auth/users.ts';
import { InputError } from '../errors.ts';

export interface AuthFlags {
  requirepass?: string;
  requirepassFile?: string;
  aclfile?: string;
}

/** The environment variable that gives the `default` user's password. */
export const REQUIREPASS_ENV = 'ROKV_REQUIREPASS';

function readFlagFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The users the flags configure, or undefined when none does. Never echoes a password. */
export function authFromFlags(flags: AuthFlags, env: NodeJS.ProcessEnv = process.env): AuthSettings | undefined {
  const fromEnv = env[REQUIREPASS_ENV];
  const given = [
    flags.requirepass !== undefined && '--requirepass',
    flags.requirepassFile !== undefined && '--requirepass-file',
    fromEnv !== undefined && fromEnv !== '' && REQUIREPASS_ENV,
    flags.aclfile !== undefined && '--aclfile',
  ].filter((x) => x !== false);
  if (given.length > 1) throw new InputError(`${given.join(' and ')}: give only one way to set passwords`);
  if (flags.aclfile !== undefined) return parseAclFile(readFlagFile('--aclfile', flags.aclfile), flags.aclfile);
  let password: string | undefined = flags.requirepass ?? (fromEnv === '' ? undefined : fromEnv);
  if (flags.requirepassFile !== undefined) {
    // The file's content less one line end: `echo secret > file` gives "secret".
    password = readFlagFile('--requirepass-file', flags.requirepassFile).replace(/\r?\n$/, '');
    if (password === '') throw new InputError(`--requirepass-file: ${flags.requirepassFile} is empty`);
  }
  return password === undefined ? undefined : requirePassSettings(password);
}
