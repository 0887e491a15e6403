/**
 * Small helpers shared by the probe functions: endpoint formatting and a promise that
 * settles exactly once, by the probe or by its AbortSignal, and always cleans up.
 */
import { isIP } from 'node:net';
import type { Socket } from 'node:net';

/** `host:port`, with an IPv6 literal bracketed as in URLs (`[::1]:443`). */
export function endpoint(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** A connection that ended before the probe had its answer: a reset, as the runner reports it. */
export function connectionReset(message: string): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

/**
 * Fails the probe with a reset (`message`) when `socket` closes before it settled, and returns
 * the probe's cleanup: destroy the socket, without building an error for our own close.
 */
export function failOnClose(socket: Socket, reject: (err: unknown) => void, message: string): () => void {
  const onClose = () => reject(connectionReset(message));
  socket.once('close', onClose);
  return () => {
    socket.off('close', onClose);
    socket.destroy();
  };
}

/** The two ways a probe body settles its promise. */
export interface Settle<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/**
 * A promise that settles once: when `body` calls resolve/reject, or when `signal` aborts
 * (rejecting with `signal.reason`). `body` starts the work and returns its cleanup
 * (destroy the socket), which runs exactly once, whichever way the promise settled.
 * Late events after settling are ignored, so sockets may keep their error listeners.
 */
export function abortable<T>(signal: AbortSignal, body: (settle: Settle<T>) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let settled = false;
    let cleanup: (() => void) | undefined;
    const finish = () => {
      settled = true;
      signal.removeEventListener('abort', onAbort);
      cleanup?.();
    };
    const settle: Settle<T> = {
      resolve: (value) => {
        if (!settled) {
          finish();
          resolve(value);
        }
      },
      reject: (err) => {
        if (!settled) {
          finish();
          reject(err);
        }
      },
    };
    const onAbort = () => settle.reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      cleanup = body(settle);
    } catch (err) {
      settle.reject(err);
    }
    // The body may have settled synchronously, before its cleanup was known.
    if (settled) cleanup?.();
  });
}
