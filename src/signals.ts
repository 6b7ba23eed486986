// Dying by a signal without leaving debris: on SIGINT, SIGTERM, SIGHUP or SIGQUIT the
// registered cleanups run (remove temporary files), then the signal is raised again
// with its default action, so the process ends at once (even with a thread blocked
// in open() on a FIFO) and its parent sees the usual signal status.

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** Runs `cleanup` if one of those signals arrives; returns the function that stops watching. */
export function cleanupOnSignal(cleanup: () => void): () => void {
  const handler = (signal: NodeJS.Signals) => {
    stop();
    try {
      cleanup();
    } finally {
      process.kill(process.pid, signal);
    }
  };
  const stop = () => {
    for (const signal of SIGNALS) process.off(signal, handler);
  };
  for (const signal of SIGNALS) process.once(signal, handler);
  return stop;
}
