// TLS for bin/server, with Redis's flag names and meanings (redis.conf's TLS section):
// the certificate files (read by the main thread, again on SIGHUP, and handed to every
// event loop as plain text), tls-auth-clients, tls-protocols, tls-ciphers and
// tls-ciphersuites, turned into the options of Node's tls servers — renegotiation off,
// a bound on the handshake.

import crypto from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { InputError, UsageError } from '../errors.ts';

/** Redis's tls-auth-clients: a client certificate required, not asked for, or checked when given. */
export type AuthClients = 'yes' | 'no' | 'optional';

/** The PEM texts of the certificate files. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca: string | null;
}

/** The TLS flags, as plain data (crosses to worker threads). */
export interface TlsSettings {
  /** --tls-cert-file, --tls-key-file, --tls-ca-cert-file: re-read on SIGHUP. */
  paths: { cert: string; key: string; ca: string | null };
  files: TlsFiles;
  authClients: AuthClients;
  /** --tls-protocols as Node's version range; null: Node's defaults (TLSv1.2 and TLSv1.3). */
  minVersion: tls.SecureVersion | null;
  maxVersion: tls.SecureVersion | null;
  /** --tls-ciphers (TLSv1.2 and below) and --tls-ciphersuites (TLSv1.3), OpenSSL's syntax. */
  ciphers: string | null;
  ciphersuites: string | null;
  /** A handshake not done by then is cut. */
  handshakeTimeoutMs: number;
}

/** A handshake that does not finish within this is cut (Redis has no such bound; a peer could hold a slot forever). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

const VERSIONS: readonly tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** --tls-protocols "TLSv1.2 TLSv1.3": the lowest and highest named (Node takes a range). */
export function parseProtocols(text: string): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion } {
  const names = text.split(/\s+/).filter((w) => w !== '');
  const found = names.map((name) => VERSIONS.findIndex((v) => v.toLowerCase() === name.toLowerCase()));
  const bad = names.find((_, i) => found[i] < 0);
  if (names.length === 0 || bad !== undefined) throw new UsageError(`--tls-protocols: ${bad === undefined ? 'no protocol given' : `unknown protocol '${bad}'`} (one or more of ${VERSIONS.join(', ')})`);
  return { minVersion: VERSIONS[Math.min(...found)], maxVersion: VERSIONS[Math.max(...found)] };
}

function readPem(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The certificate files' texts now; an InputError naming the flag and file that cannot be read. */
export function readTlsFiles(paths: TlsSettings['paths']): TlsFiles {
  return {
    cert: readPem('--tls-cert-file', paths.cert),
    key: readPem('--tls-key-file', paths.key),
    ca: paths.ca === null ? null : readPem('--tls-ca-cert-file', paths.ca),
  };
}

/** The TLS-1.2-and-below part of Node's default cipher list (what --tls-ciphersuites alone leaves in place). */
const DEFAULT_TLS12_CIPHERS = tls.DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_')).join(':');

/**
 * Options for a TLS server (or its setSecureContext) from the settings and these files.
 * `clientCerts` false: no client certificate is asked for (the metrics port).
 */
export function secureOptions(settings: TlsSettings, files: TlsFiles, clientCerts = true): tls.TlsOptions {
  const ciphers = settings.ciphers === null && settings.ciphersuites === null
    ? undefined
    : [settings.ciphers ?? DEFAULT_TLS12_CIPHERS, settings.ciphersuites].filter((c) => c !== null).join(':');
  return {
    cert: files.cert,
    key: files.key,
    ca: files.ca ?? undefined,
    requestCert: clientCerts && settings.authClients !== 'no',
    rejectUnauthorized: clientCerts && settings.authClients === 'yes',
    minVersion: settings.minVersion ?? undefined,
    maxVersion: settings.maxVersion ?? undefined,
    ciphers,
    // No renegotiation (TLSv1.2; TLSv1.3 has none): a client cannot make the server redo handshakes.
    secureOptions: crypto.constants.SSL_OP_NO_RENEGOTIATION,
    handshakeTimeout: settings.handshakeTimeoutMs,
  };
}

/**
 * Checks that the files make a working context (key matches certificate, PEM parses,
 * ciphers known): an InputError with OpenSSL's reason otherwise.
 */
export function checkTlsFiles(settings: TlsSettings, files: TlsFiles): void {
  try {
    tls.createSecureContext(secureOptions(settings, files));
  } catch (error) {
    throw new InputError(`TLS: cannot use --tls-cert-file ${settings.paths.cert} / --tls-key-file ${settings.paths.key}: ${(error as Error).message}`);
  }
}

export interface TlsFlags {
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaCertFile?: string;
  tlsAuthClients: AuthClients;
  tlsProtocols?: string;
  tlsCiphers?: string;
  tlsCiphersuites?: string;
  tlsHandshakeTimeout: number;
}

/**
 * The TLS settings of bin/server's flags when a TLS port (`ports`) or the metrics over
 * TLS (`metrics`) ask for them, the files read and checked; null when neither does.
 * Usage errors as Redis refuses the same configuration.
 */
export function tlsFromFlags(flags: TlsFlags, ports: boolean, metrics: boolean): TlsSettings | null {
  if (!ports && !metrics) {
    const stray = (['tlsCertFile', 'tlsKeyFile', 'tlsCaCertFile', 'tlsProtocols', 'tlsCiphers', 'tlsCiphersuites'] as const).find((f) => flags[f] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --tls-port, --tls-resp-port or --tls-metrics yes`);
    return null;
  }
  if (flags.tlsCertFile === undefined || flags.tlsKeyFile === undefined) throw new UsageError('TLS needs --tls-cert-file and --tls-key-file');
  // Client certificates are checked on TLS ports only (the metrics port asks for none).
  if (ports && flags.tlsAuthClients !== 'no' && flags.tlsCaCertFile === undefined) {
    throw new UsageError('--tls-ca-cert-file must be given when --tls-auth-clients is yes (the default) or optional, to check client certificates');
  }
  const settings: TlsSettings = {
    paths: { cert: flags.tlsCertFile, key: flags.tlsKeyFile, ca: flags.tlsCaCertFile ?? null },
    files: { cert: '', key: '', ca: null },
    authClients: flags.tlsAuthClients,
    ...(flags.tlsProtocols === undefined ? { minVersion: null, maxVersion: null } : parseProtocols(flags.tlsProtocols)),
    ciphers: flags.tlsCiphers ?? null,
    ciphersuites: flags.tlsCiphersuites ?? null,
    handshakeTimeoutMs: flags.tlsHandshakeTimeout * 1000,
  };
  settings.files = readTlsFiles(settings.paths);
  checkTlsFiles(settings, settings.files);
  return settings;
}
