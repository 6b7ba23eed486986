// The structure of src/, checked by tools/check-imports.ts: no import cycle among its
// files (type-only imports included), and no floor importing from a floor above it.
// The checker itself is tried on small trees that break each rule, among them the
// breaks src/ had before issue 19.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STACK, importSpecifiers, structureProblems } from '../tools/check-imports.ts';
import { ROOT, tempDir } from './helpers.ts';

/** A source tree of `files` (path → text) in a new folder. */
function tree(files: Record<string, string>): string {
  const root = tempDir();
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

describe('src/', () => {
  it('has no import cycle, and every folder imports only from the floors below it', () => {
    expect(structureProblems(path.join(ROOT, 'src'))).toEqual([]);
  });

  it('declares each floor once', () => {
    const paths = STACK.flatMap((floor) => floor.paths);
    expect(new Set(paths).size).toBe(paths.length);
  });
});

describe('the import checker', () => {
  it('reads every kind of import, type-only and dynamic ones and worker modules included, and no comment', () => {
    const source = [
      "import fs from 'node:fs';",
      "import { a, type B } from './a.ts';",
      "import type { C } from '../c.ts';",
      'import {\n  d,\n  e,\n} from "./d.ts";',
      "export { f } from './f.ts';",
      "export * from './g.ts';",
      "import './side-effect.ts';",
      "const m = await import('./lazy.ts');",
      "const WORKER = import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js';",
      "// import { no } from './comment.ts';",
      "/* export { no } from './block.ts'; */",
      "const text = 'not an import from \\'./string.ts\\'';",
    ].join('\n');
    expect(importSpecifiers(source).sort()).toEqual(['../c.ts', './a.ts', './d.ts', './f.ts', './g.ts', './lazy.ts', './side-effect.ts', './worker.ts']);
  });

  it('finds the cycles src/ had: commands ↔ introspection at run time, and the session ring through type-only imports', () => {
    const problems = structureProblems(tree({
      'protocol/resp/commands.ts': "import { infoText } from './introspection.ts';\nimport type { RespSession } from './session.ts';\n",
      'protocol/resp/introspection.ts': "import { COMMANDS } from './commands.ts';\n",
      'protocol/resp/session.ts': "import { COMMANDS } from './commands.ts';\n",
      'client/load.ts': "import { runClusterLoad } from './cluster-load.ts';\n",
      'client/cluster-load.ts': "import type { LoadOptions } from './load.ts';\n",
    }));
    expect(problems).toEqual([
      'import cycle among client/cluster-load.ts, client/load.ts',
      'import cycle among protocol/resp/commands.ts, protocol/resp/introspection.ts, protocol/resp/session.ts',
    ]);
  });

  it('finds a floor importing from one above it: format from pack and cluster, cluster from client', () => {
    const problems = structureProblems(tree({
      'format/dump.ts': "import { TAB } from '../pack/records.ts';\n",
      'format/load-off-thread.ts': "import type { ShardRole } from '../cluster/map.ts';\n",
      'pack/records.ts': '',
      'cluster/map.ts': '',
      'cluster/cluster-client.ts': "import { connect } from '../client/connection.ts';\n",
      'client/connection.ts': '',
    }));
    expect(problems).toEqual([
      'cluster/cluster-client.ts (cluster placement) imports client/connection.ts (client), a floor above it',
      'format/dump.ts (format) imports pack/records.ts (pack), a floor above it',
      'format/load-off-thread.ts (format) imports cluster/map.ts (cluster placement), a floor above it',
    ]);
  });

  it('finds files on no floor, and folders of one floor importing each other', () => {
    const problems = structureProblems(tree({
      'elsewhere/thing.ts': '',
      'protocol/rokv/session.ts': "import { x } from '../resp/writer.ts';\n",
      'protocol/resp/writer.ts': "import { y } from '../rokv/frames.ts';\n",
      'protocol/rokv/frames.ts': '',
    }));
    expect(problems).toEqual([
      'elsewhere/thing.ts is on no floor of the stack (tools/check-imports.ts, STACK)',
      'folders of one floor import each other: protocol/resp, protocol/rokv',
    ]);
  });
});
