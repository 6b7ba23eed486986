// What the kernel still holds of a socket's output, for the stall timeout. TCP wakes
// a writer only when about half its send queue has drained, so from Node a client
// reading slowly but steadily shows no progress for seconds; the kernel's own queue
// (Linux: tx_queue in /proc/net/tcp and tcp6) shrinks with every byte it reads.
// Elsewhere, or if /proc cannot be read, nothing is known and callers fall back.

import fs from 'node:fs';
import type { Socket } from 'node:net';

/** The socket's inode ("12345"), or null when it cannot be found. */
export function socketInode(socket: Socket): string | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return null;
  try {
    return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** tx_queue (bytes sent but not acknowledged, or not sent) of each of these socket inodes. */
export function kernelSendQueues(inodes: Set<string>): Map<string, number> {
  const queues = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      // sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9])) continue;
      queues.set(fields[9], parseInt(fields[4].split(':')[0], 16));
    }
  }
  return queues;
}
