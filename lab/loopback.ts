/**
 * Shared plumbing of the lab: the loopback-only rule and socket bookkeeping.
 * The lab stands in for AWS on one machine; binding anything but 127.0.0.0/8 could expose a
 * fake DNS server or a black-hole listener on a real network, so every component checks.
 */
import { isIPv4 } from 'node:net';
import type { Socket } from 'node:net';

/** Default bind address of lab components. */
export const LAB_DEFAULT_HOST = '127.0.0.1' as const;

/** Throws unless `host` is an IPv4 address in 127.0.0.0/8 (Linux routes all of it to `lo`). */
export function assertLoopback(host: string): void {
  if (!isIPv4(host) || !host.startsWith('127.')) {
    throw new Error(`lab components bind loopback only (127.0.0.0/8), got "${host}"`);
  }
}

/** `::ffff:127.0.0.5` -> `127.0.0.5`: what a dual-stack socket reports for an IPv4 peer. */
export function plainIPv4(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/i, '');
}

/** Keeps the open sockets of a server so `stop()` can end them all (no leftover handles). */
export class SocketSet {
  readonly #sockets = new Set<Socket>();

  /** Tracks `socket` until it closes; errors are swallowed (peers reset lab sockets routinely). */
  add(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** Destroys every tracked socket. */
  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  /** Number of open sockets. */
  get size(): number {
    return this.#sockets.size;
  }

  /** The open sockets. */
  [Symbol.iterator](): IterableIterator<Socket> {
    return this.#sockets.values();
  }
}
