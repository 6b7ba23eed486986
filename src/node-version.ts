// The Node.js version the package runs on, checked first: imported before anything else
// by the library entry and every tool, so a user on an older Node gets one line saying
// so (and exit status 1), not a TypeError from deep inside (ArrayBuffer.transfer, ...).

/** The oldest Node.js major version rokv runs on (package.json "engines"). */
export const MIN_NODE_MAJOR = 22;

/** The one-line complaint for Node `version` (e.g. "v20.20.2"), or null when it is new enough. */
export function nodeVersionProblem(version: string): string | null {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? NaN);
  if (major >= MIN_NODE_MAJOR) return null;
  return `rokv needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${version} (${process.execPath})`;
}

const problem = nodeVersionProblem(process.version);
if (problem !== null) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
