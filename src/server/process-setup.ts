// The server process's runtime settings, made here so that every way of starting it
// (bin/server, the package's rokv-server, `node dist/server/main.js`) gets them.

/** glibc's mmap threshold, fixed (see prepareServerProcess). */
const MMAP_THRESHOLD = '131072';

/**
 * Call first thing in the server's entry. May replace the process (same pid, same
 * arguments and descriptors) to set the glibc malloc environment, which only takes
 * effect at process start:
 * - MALLOC_MMAP_THRESHOLD_: a fixed threshold keeps glibc from raising it after a large
 *   free, so every large buffer (a data version, a read chunk) stays mmap-backed and
 *   goes back to the system when freed instead of lingering in the malloc heap.
 * - A SIGUSR1 listener: without one, SIGUSR1 opens the inspector on 127.0.0.1:9229
 *   (code execution for any local user; log-rotation scripts send USR1).
 * Where process.execve is missing (Node < 22.15) the server runs without the threshold.
 */
export function prepareServerProcess(): void {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (process.env.MALLOC_MMAP_THRESHOLD_ === undefined && execve) {
    execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, MALLOC_MMAP_THRESHOLD_: MMAP_THRESHOLD });
  }
  process.on('SIGUSR1', () => {});
}

