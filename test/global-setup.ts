// vitest's global setup: every temporary file of a run (tests' tempDir(), mktemp in the
// tools they start) goes into one scratch folder, removed when the run ends.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'rokv-test-run-'));
  // Read by os.tmpdir() and mktemp in this process and every test process it starts.
  process.env.TMPDIR = scratch;
  return () => fs.rmSync(scratch, { recursive: true, force: true });
}
