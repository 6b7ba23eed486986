// An older Node.js gets one line and exit 1 at import — from the library entry and from
// every tool's entry — instead of a TypeError with a stack from deep inside. The older
// Node is simulated by a preload that makes process.version say v20.20.2 (dist/ is what
// `make test` built first; checked by hand with Debian's Node 20 too).

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../src/node-version.ts';
import { ROOT } from './helpers.ts';

const PRETEND_20 = 'data:text/javascript,Object.defineProperty(process,"version",{value:"v20.20.2"})';

describe('the Node.js version check', () => {
  it('names the version needed and the one running, and is quiet from 22 on', () => {
    expect(nodeVersionProblem('v20.20.2')).toMatch(/^rokv needs Node\.js 22 or newer; this is Node\.js v20\.20\.2 \(.+\)$/);
    expect(nodeVersionProblem('v21.7.3')).not.toBe(null);
    expect(nodeVersionProblem('v22.0.0')).toBe(null);
    expect(nodeVersionProblem(process.version)).toBe(null);
  });

  for (const entry of ['index.js', 'server/main.js', 'client/main.js', 'pack/main.js', 'inspect/main.js', 'shard/main.js']) {
    it(`dist/${entry} on an older Node: one line on stderr, exit 1, nothing else run`, () => {
      const run = spawnSync(process.execPath, ['--import', PRETEND_20, path.join(ROOT, 'dist', entry), '--help'], { encoding: 'utf8' });
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^rokv needs Node\.js 22 or newer; this is Node\.js v20\.20\.2 \([^\n]+\)\n$/);
    });
  }
});
