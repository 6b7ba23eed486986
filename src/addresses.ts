// Addresses as people type and read them: `host:port`, an IPv6 host in brackets
// (`[::1]:7070`), lists of them separated by commas.

import { InputError } from './errors.ts';

export interface NodeAddress {
  host: string;
  port: number;
}

/** `host:port`, the host in brackets when it is IPv6 (it holds a colon). */
export function formatAddress({ host, port }: { host: string | undefined; port: number | undefined }): string {
  return `${host?.includes(':') ? `[${host}]` : host}:${port}`;
}

/** `host:port,host:port,…` as typed on a command line; a clear error for anything else. */
export function parseAddresses(text: string): NodeAddress[] {
  return text.split(',').map((part) => {
    const match = /^(.*):(\d{1,5})$/.exec(part.trim());
    if (!match || Number(match[2]) > 65_535) throw new InputError(`"${part}" is not host:port`);
    return { host: match[1].replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(match[2]) };
  });
}

/** One `host:port`; a clear error for a list or anything else. */
export function parseAddress(text: string): NodeAddress {
  const addresses = parseAddresses(text);
  if (addresses.length !== 1) throw new InputError(`"${text}" is a list: give one host:port`);
  return addresses[0];
}
