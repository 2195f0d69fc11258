/**
 * The retry loop of etcd values: `exponential-backoff`'s options and timing, with a delay
 * that a stop cancels (its own `backOff` waits on a plain `setTimeout` that nothing can
 * cancel, so a process lingered up to `maxDelay` after the last `close()`).
 *
 * @module
 */

import type { BackoffOptions } from "exponential-backoff";

/** Thrown by {@link retryWithBackoff} when `signal` aborted first. */
export class RetryStopped extends Error {
  constructor() {
    super("The retry loop was stopped");
    this.name = "RetryStopped";
  }
}

/**
 * Calls `attempt` until it resolves, as `exponential-backoff`'s `backOff` would with
 * `options` (complete, e.g. merged over `DEFAULT_BACKOFF`): after the n-th failure,
 * `options.retry(error, n)` decides whether to go on (false, or `numOfAttempts` failures:
 * rethrows that failure), then waits `min(startingDelay × timeMultiple^(n−1), maxDelay)`
 * ms, randomised to 0–that with `jitter: "full"`; with `delayFirstAttempt`, the first
 * attempt waits `startingDelay` and each later delay one step more.
 *
 * The wait is a timer that `signal` cancels: an abort rejects at once with
 * {@link RetryStopped}, also between attempts; `attempt` itself is not interrupted. The
 * timer holds the event loop, as the watch it restores would: a process waiting for a
 * value does not exit in the middle of an outage; once stopped, nothing is left.
 */
export async function retryWithBackoff<T>(
  attempt: () => Promise<T>,
  options: BackoffOptions,
  signal: AbortSignal,
): Promise<T> {
  const {
    startingDelay = 100,
    timeMultiple = 2,
    maxDelay = Number.POSITIVE_INFINITY,
    jitter = "none",
    delayFirstAttempt = false,
    retry,
  } = options;
  const attempts = Math.max(1, options.numOfAttempts ?? 10);
  for (let failures = 0; ; ) {
    const step = delayFirstAttempt ? failures : failures - 1;
    if (step >= 0) {
      const bound = Math.min(startingDelay * timeMultiple ** step, maxDelay);
      await cancellableDelay(jitter === "full" ? Math.round(Math.random() * bound) : bound, signal);
    } else if (signal.aborted) {
      throw new RetryStopped();
    }
    try {
      return await attempt();
    } catch (error) {
      failures += 1;
      const goOn = retry === undefined ? true : await retry(error, failures);
      if (!goOn || failures >= attempts) throw error;
    }
  }
}

/** Resolves after `ms`, or rejects with {@link RetryStopped} once `signal` aborts. */
function cancellableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new RetryStopped());
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", stopped);
    };
    const stopped = (): void => {
      done();
      reject(new RetryStopped());
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal.addEventListener("abort", stopped, { once: true });
  });
}
