// Opening several things at once (connections, cluster clients) where one failure
// fails them all: nothing that did open is left behind to hold the process up.

/**
 * Awaits every attempt. If all succeed: their values, in order. If any rejects: calls
 * `release` on every value that did arrive (and waits for it), then throws the first
 * rejection in the attempts' order, whichever failed first in time.
 */
export async function allOrRelease<T>(attempts: Promise<T>[], release: (value: T) => unknown): Promise<T[]> {
  const settled = await Promise.allSettled(attempts);
  const refused = settled.find((s) => s.status === 'rejected');
  if (refused === undefined) return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  await Promise.all(settled.map((s) => s.status === 'fulfilled' && release(s.value)));
  throw refused.reason;
}
