// Test certificates, made with openssl into a temporary folder (never committed): a CA,
// a server certificate for 127.0.0.1 and localhost, a client certificate, an expired
// server certificate, a self-signed one no CA vouches for, and a second server
// certificate from the same CA (for rotation).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers.ts';

export interface TestCerts {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Another server certificate and key from the same CA, with subject CN=rotated. */
  rotatedCert: string;
  rotatedKey: string;
  clientCert: string;
  clientKey: string;
  expiredCert: string;
  expiredKey: string;
  /** Self-signed, for 127.0.0.1 too: no CA of the tests trusts it. */
  untrustedCert: string;
  untrustedKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const SERVER_NAMES = 'subjectAltName=IP:127.0.0.1,DNS:localhost';

/**
 * Signs `name`.csr with the CA into `name`.pem with extension `ext`: valid for two days
 * from now, or (start and end given, YYYYMMDDHHMMSSZ) over that window, through
 * `openssl ca`, the one openssl command that takes a start date.
 */
function sign(dir: string, name: string, ext: string, start: string, end: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
  if (start === '') {
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
    return;
  }
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'serial'), '1000\n');
  fs.writeFileSync(path.join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = test', '[test]', `dir = ${dir}`, 'database = $dir/index.txt', 'serial = $dir/serial', 'new_certs_dir = $dir',
    'default_md = sha256', 'policy = any', 'copy_extensions = none', '[any]', 'commonName = supplied', '[ext]', ext.replace('=', ' = '),
  ].join('\n'));
  openssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.pem`,
    '-startdate', start, '-enddate', end, '-extensions', 'ext', '-notext']);
}

/** Makes every test certificate into a new temporary folder. */
export function makeCerts(): TestCerts {
  const dir = tempDir();
  const key = (name: string) => openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  const csr = (name: string, cn: string) => {
    key(name);
    openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  };
  key('ca');
  openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=rokv test CA', '-days', '2', '-out', 'ca.pem']);
  csr('server', 'localhost');
  sign(dir, 'server', SERVER_NAMES, '', '');
  csr('rotated', 'rotated');
  sign(dir, 'rotated', SERVER_NAMES, '', '');
  csr('client', 'rokv test client');
  sign(dir, 'client', 'extendedKeyUsage=clientAuth', '', '');
  csr('expired', 'localhost');
  sign(dir, 'expired', SERVER_NAMES, '20200101000000Z', '20200102000000Z');
  key('untrusted');
  openssl(dir, ['req', '-x509', '-new', '-key', 'untrusted.key', '-subj', '/CN=localhost', '-days', '2', '-addext', SERVER_NAMES, '-out', 'untrusted.pem']);
  const at = (file: string) => path.join(dir, file);
  return {
    dir,
    ca: at('ca.pem'),
    caKey: at('ca.key'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    rotatedCert: at('rotated.pem'),
    rotatedKey: at('rotated.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    expiredCert: at('expired.pem'),
    expiredKey: at('expired.key'),
    untrustedCert: at('untrusted.pem'),
    untrustedKey: at('untrusted.key'),
  };
}

/** bin/server's flags for TLS with these certificates: the server's files and the CA for client certificates. */
export function tlsFlags(certs: TestCerts, cert = certs.serverCert, key = certs.serverKey): string[] {
  return ['--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', certs.ca];
}
