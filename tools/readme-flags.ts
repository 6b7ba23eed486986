// The README's list of every tool's flags, generated from the tools' own --help (the CLI
// definitions), between the README's `<!-- flags -->` and `<!-- /flags -->` lines.
// `node tools/readme-flags.ts` rewrites the list; `--check` exits 1 when it is stale
// (test/readme-flags.test.ts runs that), so the README cannot miss a flag.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const README = path.join(ROOT, 'README.md');
const TOOLS = ['server', 'client', 'pack', 'inspect', 'shard'];
const BEGIN = '<!-- flags: generated from each tool\'s --help by `node tools/readme-flags.ts`; test/readme-flags.test.ts checks it is current -->';
const END = '<!-- /flags -->';

/** The long flags a tool's --help lists, in its order (commander's "  -x, --flag <v>  text" lines). */
export function flagsOf(help: string): string[] {
  const flags: string[] = [];
  for (const line of help.split('\n')) {
    const match = /^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)/.exec(line);
    if (match && match[1] !== '--help') flags.push(match[1]);
  }
  return flags;
}

/** The generated block, markers included. */
export function flagsBlock(): string {
  const lines = TOOLS.map((tool) => {
    const run = spawnSync(path.join(ROOT, 'bin', tool), ['--help'], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`bin/${tool} --help exited ${run.status}: ${run.stderr.trim()}`);
    return `- \`bin/${tool}\`: ${flagsOf(run.stdout).map((f) => `\`${f}\``).join(', ')}`;
  });
  return [BEGIN, ...lines, END].join('\n');
}

/** The README with its flags block replaced by `block`. */
export function withBlock(readme: string, block: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no flags block (${BEGIN} … ${END})`);
  return readme.slice(0, start) + block + readme.slice(end + END.length);
}

if (import.meta.main) {
  const readme = fs.readFileSync(README, 'utf8');
  const next = withBlock(readme, flagsBlock());
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md: the flags list is stale; run node tools/readme-flags.ts');
      process.exit(1);
    }
  } else if (next !== readme) {
    fs.writeFileSync(README, next);
    console.error('README.md: flags list rewritten');
  }
}
