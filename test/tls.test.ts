// TLS on every port with Redis's flags, tried with real clients: redis-cli --tls,
// openssl s_client, ioredis, node-redis, Debian's redis-py and the library over the
// binary protocol, each with a user. Client certificates as --tls-auth-clients says
// (missing, expired, untrusted refused; none asked for under `no`); a new certificate
// on SIGHUP seen by a new connection while an old one keeps working; a handshake that
// never finishes is cut; garbage instead of a ClientHello is cut; unfinished handshakes
// count toward the connection limit; no renegotiation; /metrics over HTTPS.

import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { freePorts } from './cluster-helpers.ts';
import { type Pair, packRecords, runBin, tempDir } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';
import { type TestCerts, makeCerts, tlsFlags } from './tls-helpers.ts';

const run = promisify(execFile);
const records: Pair[] = [['pub:1', 'one'], ['pub:2', 'two'], ['priv:1', 'hidden']];
const ACL = 'user default off\nuser alice on >alice-pw ~pub:*\n';

let certs: TestCerts;
let dataFile: string;
let aclFile: string;
beforeAll(() => {
  certs = makeCerts();
  dataFile = packRecords(records);
  aclFile = path.join(tempDir(), 'users.acl');
  fs.writeFileSync(aclFile, ACL);
});

/** The TLS RESP port of a server's startup line. */
function tlsRespPort(server: RunningServer): number {
  return Number(/RESP on (?:\S+ and )?tls:\/\/\S+:(\d+)[,:]/.exec(server.stdout)?.[1]);
}

/** The binary TLS port of a server's startup line. */
function tlsPort(server: RunningServer): number {
  return Number(/listening on (?:\S+ and )?tls:\/\/\S+:(\d+)[,:]/.exec(server.stdout)?.[1]);
}

/** Client TLS options with the CA and, unless `cert` is null, a client certificate. */
function clientTls(cert: [string, string] | null = [certs.clientCert, certs.clientKey]): tls.ConnectionOptions {
  return { ca: fs.readFileSync(certs.ca), ...(cert === null ? {} : { cert: fs.readFileSync(cert[0]), key: fs.readFileSync(cert[1]) }), servername: 'localhost' };
}

/** A TLS handshake to `port`: resolves with the server certificate's CN, or the error that ended it. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<{ cn?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    socket.once('secureConnect', () => {
      // TLSv1.3: a refused client certificate is told after the client's side finished; a PING shows it.
      socket.write('*1\r\n$4\r\nPING\r\n');
    });
    socket.once('data', () => {
      resolve({ cn: String(socket.getPeerCertificate().subject?.CN) });
      socket.destroy();
    });
    socket.once('error', (error) => resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
    socket.once('close', () => resolve({ error: 'closed' }));
  });
}

describe('RESP and the binary protocol over TLS, with users and client certificates', () => {
  let server: RunningServer;
  let resp: number;
  beforeAll(async () => {
    server = await startServer(dataFile, ['--tls-port', '0', '--tls-resp-port', '0', ...tlsFlags(certs), '--aclfile', aclFile, '--metrics-port', '0', '--tls-metrics', 'yes']);
    resp = tlsRespPort(server);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('lists only TLS ports: --port 0 beside --tls-port turns the clear binary port off', () => {
    expect(server.stdout).toMatch(/^rokv listening on tls:\/\/127\.0\.0\.1:\d+, RESP on tls:\/\/127\.0\.0\.1:\d+, metrics on https:/);
    expect(tlsPort(server)).toBeGreaterThan(0);
  });

  it('redis-cli --tls with a user reads a key of its patterns and is refused another', async () => {
    const cli = ['-h', '127.0.0.1', '-p', String(resp), '--tls', '--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning'];
    expect((await run('redis-cli', [...cli, 'GET', 'pub:1'])).stdout).toBe('one\n');
    expect((await run('redis-cli', [...cli, 'GET', 'priv:1'])).stdout).toMatch(/NOPERM/);
    expect((await run('redis-cli', [...cli, 'ACL', 'WHOAMI'])).stdout).toBe('alice\n');
  });

  it('openssl s_client: a PING over TLS, refused before AUTH, answered after', async () => {
    const result = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${resp}`, '-CAfile', certs.ca, '-cert', certs.clientCert, '-key', certs.clientKey, '-quiet', '-ign_eof', '-verify_return_error'], {
      input: 'PING\r\nAUTH alice alice-pw\r\nPING\r\nQUIT\r\n', encoding: 'utf8', timeout: 20_000,
    });
    expect(result.stdout).toBe('-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n+OK\r\n');
  });

  it('ioredis with tls and credentials', async () => {
    const client = new Redis({ host: '127.0.0.1', port: resp, tls: clientTls(), username: 'alice', password: 'alice-pw', lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    expect(await client.get('pub:2')).toBe('two');
    expect(await client.mget('pub:1', 'pub:nope')).toEqual(['one', null]);
    await client.quit();
  });

  it('node-redis with tls and credentials', async () => {
    const client = createClient({ socket: { host: '127.0.0.1', port: resp, tls: true, ...clientTls(), reconnectStrategy: false }, username: 'alice', password: 'alice-pw' });
    client.on('error', () => {});
    await client.connect();
    expect(await client.get('pub:1')).toBe('one');
    await client.quit();
  });

  it("Debian's redis-py over TLS with a user", () => {
    const script = [
      'import redis, sys',
      `r = redis.Redis(host="127.0.0.1", port=${resp}, ssl=True, ssl_ca_certs=sys.argv[1], ssl_certfile=sys.argv[2], ssl_keyfile=sys.argv[3], username="alice", password="alice-pw")`,
      'print(r.get("pub:1").decode(), r.get("pub:absent"))',
    ].join('\n');
    const result = spawnSync('/usr/bin/python3', ['-c', script, certs.ca, certs.clientCert, certs.clientKey], { encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('one None\n');
  });

  it('the library over the binary TLS port, authenticated: patterns apply', async () => {
    const client = await connect({ port: tlsPort(server), tls: clientTls(), user: 'alice', password: 'alice-pw' });
    expect((await client.get('pub:1'))?.toString()).toBe('one');
    await expect(client.get('priv:1')).rejects.toMatchObject({ codeName: 'NOPERM' });
    await client.close();
    const anonymous = await connect({ port: tlsPort(server), tls: clientTls() });
    await expect(anonymous.get('pub:1')).rejects.toMatchObject({ codeName: 'NOAUTH' });
    anonymous.destroy();
  });

  it('refuses a missing, an expired and an untrusted client certificate (--tls-auth-clients yes, the default)', async () => {
    expect(await handshake(resp, clientTls(null))).toHaveProperty('error');
    expect(await handshake(resp, clientTls([certs.expiredCert, certs.expiredKey]))).toHaveProperty('error');
    expect(await handshake(resp, clientTls([certs.untrustedCert, certs.untrustedKey]))).toHaveProperty('error');
    expect(await handshake(resp, clientTls())).toEqual({ cn: 'localhost' });
    const cli = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(resp), '--tls', '--cacert', certs.ca, 'PING'], { encoding: 'utf8', timeout: 20_000 });
    expect(cli.stdout + cli.stderr).not.toMatch(/PONG|NOAUTH/);
  });

  it('a client refuses the server when it does not trust the CA', async () => {
    const other = makeCerts();
    const result = await handshake(resp, { ca: fs.readFileSync(other.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey), servername: 'localhost' });
    expect(result.error).toMatch(/CERT|VERIFY/);
  });

  it('does not renegotiate (TLSv1.2)', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: resp, ...clientTls(), maxVersion: 'TLSv1.2' });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    const outcome = await new Promise<string>((resolve) => {
      socket.on('error', (error) => resolve(`error: ${error.message}`));
      socket.once('close', () => resolve('closed'));
      socket.renegotiate({}, (error) => resolve(error ? `error: ${error.message}` : 'renegotiated'));
      socket.write('*1\r\n$4\r\nPING\r\n');
    });
    expect(outcome).not.toBe('renegotiated');
    socket.destroy();
  });

  it('serves /metrics over HTTPS with the same certificate', async () => {
    const port = Number(/metrics on https:\/\/\S+:(\d+)\//.exec(server.stdout)?.[1]);
    const body = await new Promise<string>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, path: '/metrics', ca: fs.readFileSync(certs.ca), servername: 'localhost' }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toMatch(/^rokv_requests_total/m);
  });
});

describe('--tls-auth-clients no and optional', () => {
  for (const mode of ['no', 'optional']) {
    it(`${mode}: a client without a certificate is served${mode === 'optional' ? '; an untrusted one is refused' : ''}`, async () => {
      const server = await startServer(dataFile, ['--tls-port', '0', '--tls-resp-port', '0', ...tlsFlags(certs), '--tls-auth-clients', mode]);
      try {
        const port = tlsRespPort(server);
        expect(await handshake(port, clientTls(null))).toEqual({ cn: 'localhost' });
        const cli = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--tls', '--cacert', certs.ca, 'GET', 'priv:1']);
        expect(cli.stdout).toBe('hidden\n');
        if (mode === 'optional') expect(await handshake(port, clientTls([certs.untrustedCert, certs.untrustedKey]))).toHaveProperty('error');
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });
  }
});

describe('certificate rotation on SIGHUP', () => {
  for (const workers of ['1', '2']) {
    it(`with --workers ${workers}: a new connection gets the new certificate, an open one keeps working`, async () => {
      const dir = tempDir();
      const cert = path.join(dir, 'server.pem');
      const key = path.join(dir, 'server.key');
      fs.copyFileSync(certs.serverCert, cert);
      fs.copyFileSync(certs.serverKey, key);
      const server = await startServer(dataFile, ['--tls-port', '0', '--tls-resp-port', '0', ...tlsFlags(certs, cert, key), '--workers', workers]);
      try {
        const old = await connect({ port: tlsPort(server), tls: clientTls() });
        expect((await old.get('pub:1'))?.toString()).toBe('one');
        expect(await handshake(tlsRespPort(server), clientTls())).toEqual({ cn: 'localhost' });
        fs.copyFileSync(certs.rotatedCert, cert);
        fs.copyFileSync(certs.rotatedKey, key);
        server.process.kill('SIGHUP');
        await until(() => server.stderr().includes('TLS certificate files re-read'));
        // Every loop takes the message right away; a few handshakes see each of them.
        for (let i = 0; i < 4; i++) expect(await handshake(tlsRespPort(server), clientTls())).toEqual({ cn: 'rotated' });
        expect((await old.get('pub:2'))?.toString()).toBe('two');
        await old.close();
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });
  }

  it('keeps the old certificate when the new files do not work', async () => {
    const dir = tempDir();
    const cert = path.join(dir, 'server.pem');
    const key = path.join(dir, 'server.key');
    fs.copyFileSync(certs.serverCert, cert);
    fs.copyFileSync(certs.serverKey, key);
    const server = await startServer(dataFile, ['--tls-port', '0', '--tls-resp-port', '0', ...tlsFlags(certs, cert, key)]);
    try {
      fs.copyFileSync(certs.rotatedCert, cert); // the old key does not match it
      server.process.kill('SIGHUP');
      await until(() => server.stderr().includes('TLS certificate files refused'));
      expect(await handshake(tlsRespPort(server), clientTls())).toEqual({ cn: 'localhost' });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('handshakes', () => {
  let server: RunningServer;
  let port: number;
  beforeAll(async () => {
    server = await startServer(dataFile, ['--tls-port', '0', '--tls-resp-port', '0', ...tlsFlags(certs), '--tls-handshake-timeout', '1', '--max-connections', '2']);
    port = tlsRespPort(server);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  /** A plain TCP connection to the TLS port that sends `bytes` (none: it never starts a handshake). */
  function rawConnection(bytes?: Buffer): Promise<{ socket: net.Socket; closed: Promise<void> }> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        if (bytes) socket.write(bytes);
        resolve({ socket, closed: new Promise((done) => socket.once('close', () => done())) });
      });
      socket.on('error', () => {});
    });
  }

  it('cuts a handshake that never finishes (--tls-handshake-timeout)', async () => {
    const { closed } = await rawConnection();
    await closed; // would hang (and the test time out) without the timeout
  });

  it('cuts garbage instead of a ClientHello at once', async () => {
    const { socket, closed } = await rawConnection(Buffer.from('*1\r\n$4\r\nPING\r\n'));
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    await closed;
    expect(answer).not.toContain('PONG');
  });

  it('counts unfinished handshakes toward --max-connections, on the clear ports too', async () => {
    // A server of its own whose handshakes wait 30 s: the idle ones surely hold their places meanwhile.
    const patient = await startServer(dataFile, ['--resp-port', '0', '--tls-port', '0', '--tls-resp-port', '0', ...tlsFlags(certs), '--tls-handshake-timeout', '30', '--max-connections', '2']);
    const clearResp = Number(/RESP on 127\.0\.0\.1:(\d+)/.exec(patient.stdout)?.[1]);
    try {
      const idle = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
        const socket = net.connect(tlsRespPort(patient), '127.0.0.1', () => resolve(socket));
        socket.on('error', () => {});
      })));
      await new Promise((resolve) => setTimeout(resolve, 200)); // both accepted by the server
      const clear = net.connect(clearResp, '127.0.0.1');
      clear.on('error', () => {});
      let reply = '';
      clear.on('data', (d: Buffer) => {
        reply += d.toString('latin1');
        if (reply.includes('+PONG')) clear.destroy(); // served: the limit did not count the handshakes
      });
      clear.write('PING\r\n');
      await new Promise((done) => clear.once('close', done));
      expect(reply).toMatch(/^-ERR max number of clients reached/); // refused, not a PONG
      for (const socket of idle) socket.destroy();
    } finally {
      expect(await patient.stop()).toBe(0);
    }
  });

  it('counts unfinished handshakes toward --max-connections', async () => {
    const idle = [await rawConnection(), await rawConnection()];
    expect(await handshake(port, clientTls())).toHaveProperty('error');
    await Promise.all(idle.map((c) => c.closed)); // the timeout cuts them
    expect(await handshake(port, clientTls())).toEqual({ cn: 'localhost' });
  });
});

describe('TLS flags', () => {
  const cases: [string[], RegExp][] = [
    [['--tls-port', '0'], /TLS needs --tls-cert-file and --tls-key-file/],
    [['--tls-port', '0', '--tls-cert-file', 'a', '--tls-key-file', 'b'], /--tls-ca-cert-file must be given when --tls-auth-clients is yes/],
    [['--tls-cert-file', 'a'], /--tls-cert-file goes with --tls-port/],
    [['--tls-port', '0', '--tls-protocols', 'SSLv3', '--tls-auth-clients', 'no', '--tls-cert-file', 'a', '--tls-key-file', 'b'], /unknown protocol 'SSLv3'/],
    [['--tls-auth-clients', 'maybe'], /"maybe" is not one of yes, no, optional/],
  ];
  for (const [args, message] of cases) {
    it(`refuses ${args.join(' ')}`, () => {
      const result = spawnSync(path.join(import.meta.dirname, '..', 'bin', 'server'), [dataFile, ...args], { encoding: 'utf8' });
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(message);
    });
  }

  it('refuses a key that does not match the certificate, naming the files', () => {
    const result = spawnSync(path.join(import.meta.dirname, '..', 'bin', 'server'), [dataFile, '--tls-port', '0', ...tlsFlags(certs, certs.serverCert, certs.clientKey)], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/TLS: cannot use --tls-cert-file .*server\.pem/);
  });

  it('--tls-metrics yes alone: /metrics over HTTPS, the clear ports as they were, no CA needed', async () => {
    const server = await startServer(dataFile, ['--metrics-port', '0', '--tls-metrics', 'yes', '--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey]);
    try {
      expect(server.stdout).toMatch(/^rokv listening on 127\.0\.0\.1:\d+, metrics on https:/);
      const port = Number(/metrics on https:\/\/\S+:(\d+)\//.exec(server.stdout)?.[1]);
      const status = await new Promise<number | undefined>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port, path: '/healthz', ca: fs.readFileSync(certs.ca), servername: 'localhost' }, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on('error', reject);
      });
      expect(status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('--tls-protocols TLSv1.3 refuses a TLSv1.2 client', async () => {
    const server = await startServer(dataFile, ['--tls-port', '0', '--tls-resp-port', '0', ...tlsFlags(certs), '--tls-protocols', 'TLSv1.3']);
    try {
      expect(await handshake(tlsRespPort(server), { ...clientTls(), maxVersion: 'TLSv1.2' })).toHaveProperty('error');
      expect(await handshake(tlsRespPort(server), clientTls())).toEqual({ cn: 'localhost' });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('a slots cluster over TLS (--tls-cluster yes) with a user', () => {
  const clusterRecords: Pair[] = Array.from({ length: 200 }, (_, i) => [`key:${i}`, `value ${i}`]);
  let ports: number[];
  let servers: RunningServer[] = [];
  beforeAll(async () => {
    ports = await freePorts(2);
    const dir = path.join(tempDir(), 'slots');
    const shard = runBin('shard', [packRecords(clusterRecords), '--shards', '2', '--slots', '--nodes', ports.map((p) => `127.0.0.1:${p}`).join(','), '-o', dir]);
    expect(shard.status, shard.stderr).toBe(0);
    const acl = path.join(tempDir(), 'users.acl');
    fs.writeFileSync(acl, 'user default off\nuser reader on >reader-pw allkeys\n');
    servers = await Promise.all(ports.map((port, i) => startServer(path.join(dir, `shard-${i}.data`), [
      '--cluster', path.join(dir, 'cluster.json'), '--tls-port', '0', '--tls-resp-port', String(port), '--tls-cluster', 'yes', ...tlsFlags(certs), '--aclfile', acl,
    ])));
  }, 60_000);
  afterAll(async () => {
    for (const server of servers) expect(await server.stop()).toBe(0);
  });

  it('announces the TLS ports, and redis-py RedisCluster reads every key over TLS as the user', () => {
    const script = [
      'import json, sys',
      'from redis.cluster import RedisCluster',
      `r = RedisCluster(host="127.0.0.1", port=${ports[0]}, ssl=True, ssl_ca_certs=sys.argv[1], ssl_certfile=sys.argv[2], ssl_keyfile=sys.argv[3], username="reader", password="reader-pw")`,
      'print(json.dumps({"values": [r.get("key:%d" % i).decode() for i in range(200)], "ports": sorted(n.port for n in r.get_nodes())}))',
    ].join('\n');
    const result = spawnSync('/usr/bin/python3', ['-c', script, certs.ca, certs.clientCert, certs.clientKey], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout);
    expect(out.values).toEqual(clusterRecords.map(([, v]) => v));
    expect(out.ports).toEqual([...ports].sort((a, b) => a - b));
  });

  it('the peer probe reaches the other server over TLS (and past its password): CLUSTER NODES flags none as failed', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1000)); // four probe rounds
    const cli = ['-h', '127.0.0.1', '--tls', '--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, '--user', 'reader', '--pass', 'reader-pw', '--no-auth-warning'];
    for (const port of ports) {
      const nodes = (await run('redis-cli', [...cli, '-p', String(port), 'CLUSTER', 'NODES'])).stdout;
      expect(nodes.trim().split('\n')).toHaveLength(2);
      expect(nodes).not.toMatch(/fail|disconnected/);
      for (const p of ports) expect(nodes).toContain(`127.0.0.1:${p}@`);
    }
  });
});

/** Waits until done() holds, checking every 50 ms, for at most 10 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
