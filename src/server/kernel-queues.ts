// What the kernel holds of a socket's two directions (Linux: tx_queue and rx_queue in
// /proc/net/tcp and tcp6). The send queue serves the stall timeout: TCP wakes a writer
// only when about half its send queue has drained, so from Node a client reading
// slowly but steadily shows no progress for seconds, while the kernel's queue shrinks
// with every byte it reads. The receive queue serves shutdown: bytes that arrived
// before the decision but Node has not read yet are requests the server still owes.
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

export interface KernelQueues {
  /** tx_queue: bytes written but not yet acknowledged by the peer. */
  send: number;
  /** rx_queue: bytes received but not yet read by the process. */
  receive: number;
}

/** The kernel's queues of each of these socket inodes (absent: not found). */
export function kernelQueues(inodes: Set<string>): Map<string, KernelQueues> {
  const queues = new Map<string, KernelQueues>();
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
      const [send, receive] = fields[4].split(':');
      queues.set(fields[9], { send: parseInt(send, 16), receive: parseInt(receive, 16) });
    }
  }
  return queues;
}

/** The kernel's queues of each of these sockets (absent: not known). */
export function socketQueues(sockets: Iterable<Socket>): Map<Socket, KernelQueues> {
  const inodes = new Map<Socket, string>();
  for (const socket of sockets) {
    const inode = socketInode(socket);
    if (inode !== null) inodes.set(socket, inode);
  }
  const byInode = kernelQueues(new Set(inodes.values()));
  const queues = new Map<Socket, KernelQueues>();
  for (const [socket, inode] of inodes) {
    const q = byInode.get(inode);
    if (q) queues.set(socket, q);
  }
  return queues;
}
