// node tools/check-imports.ts: the structure of src/ as rules a machine checks. Every
// import of every src/**/*.ts file counts — type-only ones, re-exports, dynamic
// import() and worker modules started by URL alike — and:
// - no file reaches itself through its imports (a cycle);
// - every file belongs to a floor of STACK, and imports only from its own floor or
//   floors below it (within a floor, its folders import each other in one direction).
// Prints each problem and exits 1, or prints nothing and exits 0.

import fs from 'node:fs';
import path from 'node:path';

/**
 * The floors of src/, bottom first: a floor imports only from floors below it. A
 * floor is a folder (`format/`), or single files (`errors.ts`); a file takes the floor
 * of its most specific match.
 */
export const STACK: readonly { floor: string; paths: readonly string[] }[] = [
  { floor: 'base', paths: ['errors.ts', 'files.ts', 'cli.ts', 'signals.ts', 'addresses.ts', 'progress.ts', 'node-version.ts'] },
  // The swap point for where records live: below the format, so that the in-memory
  // DataFile implements it; the other storage tiers build on the format, above it.
  { floor: 'records contract', paths: ['storage/records.ts'] },
  { floor: 'format', paths: ['format/'] },
  { floor: 'storage', paths: ['storage/'] },
  { floor: 'cluster placement', paths: ['cluster/'] },
  { floor: 'pack', paths: ['pack/'] },
  { floor: 'service', paths: ['service/'] },
  // Who may read: users, passwords, ACL files (no protocol: both fronts use it).
  { floor: 'auth', paths: ['auth/'] },
  { floor: 'protocol', paths: ['protocol/'] },
  { floor: 'server', paths: ['server/'] },
  { floor: 'client', paths: ['client/'] },
  // Tools whose whole floor is their command line (bin/inspect, bin/shard); the other
  // tools' entry points are the main.ts of their own floor (server/, client/, pack/).
  { floor: 'tools', paths: ['inspect/', 'shard/'] },
  { floor: 'package', paths: ['index.ts'] },
];

export interface ImportEdge {
  /** Paths relative to the source root, with '/'. */
  from: string;
  to: string;
}

/** `text` with comments blanked out (strings and template literals kept as they are). */
function withoutComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '\'' || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The relative module specifiers a source file depends on. */
export function importSpecifiers(source: string): string[] {
  const code = withoutComments(source);
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g, // import … from, export … from (type-only too)
    /\bimport\s*['"](\.{1,2}\/[^'"]+)['"]/g, // import './x.ts' (side effects)
    /\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g, // import('./x.ts')
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) specifiers.push(match[1]);
  // Worker modules: `import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js'`, started by URL.
  for (const line of code.split('\n')) {
    if (!line.includes('import.meta.url')) continue;
    for (const match of line.matchAll(/['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) specifiers.push(match[1]);
  }
  return specifiers;
}

function sourceFiles(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(root, full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path.relative(root, full).split(path.sep).join('/'));
  }
  return files.sort();
}

/** Every import edge between files under `root`. */
export function importEdges(root: string): { files: string[]; edges: ImportEdge[] } {
  const files = sourceFiles(root);
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const text = fs.readFileSync(path.join(root, from), 'utf8');
    for (const specifier of new Set(importSpecifiers(text))) {
      const to = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
      if (known.has(to)) edges.push({ from, to });
    }
  }
  return { files, edges };
}

/** The cycles among files: each strongly connected set of two or more files (or a file importing itself), sorted. */
export function cycles(files: string[], edges: ImportEdge[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) next.get(e.from)?.push(e.to);
  // Tarjan's strongly connected components.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/** The floor of a file (its index in STACK), or -1 when no floor claims it. */
export function floorOf(file: string): number {
  let best = -1;
  let bestLength = -1;
  STACK.forEach(({ paths }, i) => {
    for (const p of paths) {
      const matches = p.endsWith('/') ? file.startsWith(p) : file === p;
      if (matches && p.length > bestLength) {
        best = i;
        bestLength = p.length;
      }
    }
  });
  return best;
}

/** Every break of the stack: files on no floor, imports from a floor above, folders of one floor importing each other. */
export function stackProblems(files: string[], edges: ImportEdge[]): string[] {
  const problems: string[] = [];
  for (const f of files) if (floorOf(f) < 0) problems.push(`${f} is on no floor of the stack (tools/check-imports.ts, STACK)`);
  const folder = (f: string) => path.posix.dirname(f);
  const sameFloorFolders: ImportEdge[] = [];
  for (const e of edges) {
    const from = floorOf(e.from);
    const to = floorOf(e.to);
    if (from < 0 || to < 0) continue;
    if (to > from) problems.push(`${e.from} (${STACK[from].floor}) imports ${e.to} (${STACK[to].floor}), a floor above it`);
    else if (to === from && folder(e.from) !== folder(e.to)) sameFloorFolders.push({ from: folder(e.from), to: folder(e.to) });
  }
  const folders = [...new Set(sameFloorFolders.flatMap((e) => [e.from, e.to]))];
  for (const ring of cycles(folders, sameFloorFolders)) problems.push(`folders of one floor import each other: ${ring.join(', ')}`);
  return problems;
}

/** Everything wrong with the structure of the sources under `root`, one line each. */
export function structureProblems(root: string): string[] {
  const { files, edges } = importEdges(root);
  return [
    ...cycles(files, edges).map((ring) => `import cycle among ${ring.join(', ')}`),
    ...stackProblems(files, edges),
  ];
}

if (import.meta.main) {
  const root = path.resolve(import.meta.dirname, '..', 'src');
  const problems = structureProblems(root);
  for (const problem of problems) process.stdout.write(`${problem}\n`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
