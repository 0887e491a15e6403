/**
 * Bounded concurrency for the check's own work (lookups, probes, saves): at most `n` tasks in
 * flight, the rest queued in order. Our file descriptors and sockets are finite; running out of
 * them must never look like a target's failure (a resolver "refused", a save lost). Pure.
 */

/** Runs tasks handed to it with at most `n` in flight; each call resolves or rejects with its own task. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** A limiter of `n` slots (n >= 1). */
export function limiter(n: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  // A finishing task hands its slot straight to the next waiter (active stays as it is), so no
  // newcomer can slip in between and run n + 1 at once.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      release();
    }
  };
}

/** Runs thunks with at most `limit` in flight; resolves when all have settled (they never reject). */
export async function runPool(jobs: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
}
