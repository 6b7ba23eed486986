// The README names every flag of every tool: its list is generated from the tools'
// --help (tools/readme-flags.ts), and a flag added to a tool without regenerating it
// fails here.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagsOf, withBlock } from '../tools/readme-flags.ts';
import { ROOT } from './helpers.ts';

describe("the README's flag list", () => {
  it('reads long flags from commander help lines, short forms and values included, --help left out', () => {
    const help = 'Options:\n  --host <host>   where\n  -p, --port <port>  which\n                   (default: 7070)\n  -q, --quiet   hush\n  -h, --help   this\n';
    expect(flagsOf(help)).toEqual(['--host', '--port', '--quiet']);
  });

  it('replaces only the block between its markers, and refuses a README without one', () => {
    const begin = "<!-- flags: generated from each tool's --help by `node tools/readme-flags.ts`; test/readme-flags.test.ts checks it is current -->";
    const readme = `intro\n${begin}\nold\n<!-- /flags -->\noutro\n`;
    expect(withBlock(readme, `${begin}\nnew\n<!-- /flags -->`)).toBe(`intro\n${begin}\nnew\n<!-- /flags -->\noutro\n`);
    expect(() => withBlock('no block', 'x')).toThrow(/no flags block/);
  });

  it('is current: every flag each tool has is listed', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'readme-flags.ts'), '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);
});
