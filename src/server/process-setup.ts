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
 * - UV_THREADPOOL_SIZE (`threads`, when given and the variable is unset): libuv's
 *   thread pool runs the disk tier's reads; it is sized once, at its first use, for the
 *   whole process (every worker thread shares it), and 4 threads cannot keep enough
 *   reads in flight for an SSD.
 * - A SIGUSR1 listener: without one, SIGUSR1 opens the inspector on 127.0.0.1:9229
 *   (code execution for any local user; log-rotation scripts send USR1).
 * Where process.execve is missing (Node < 22.15) the server runs without the threshold
 * and with libuv's default pool.
 */
export function prepareServerProcess(threads?: number): void {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  const env: NodeJS.ProcessEnv = {};
  if (process.env.MALLOC_MMAP_THRESHOLD_ === undefined) env.MALLOC_MMAP_THRESHOLD_ = MMAP_THRESHOLD;
  if (threads !== undefined && process.env.UV_THREADPOOL_SIZE === undefined) env.UV_THREADPOOL_SIZE = String(threads);
  if (Object.keys(env).length > 0 && execve) {
    execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, ...env });
  }
  process.on('SIGUSR1', () => {});
}

/** libuv's thread pool size in this process (UV_THREADPOOL_SIZE, or libuv's default of 4). */
export function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
}

