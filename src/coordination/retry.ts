/**
 * Retrying coordination requests through transient faults.
 *
 * Every request the coordination objects send is idempotent by construction (a compare
 * on the key's create revision makes a repeated acquire, release or proclaim a no-op or
 * the same write), so a request whose outcome is unknown is simply sent again.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import { ClientClosedError } from "etcd3";
import { isPermanentFailure } from "../etcd/classify.js";
import { DEFAULT_BACKOFF } from "../etcd/retry-policy.js";
import { withSoftTimeout } from "../etcd/soft-timeout.js";

/** Options of {@link retryTransient}. */
export interface RetryOptions {
  /** Stops retrying: the call rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Stops retrying when it returns true (checked after each failure): the call rejects
   * with the last error.
   */
  readonly giveUp?: (() => boolean) | undefined;
  /**
   * Soft timeout of each attempt, in ms (default 5000): an attempt that has not answered
   * by then counts as a transient failure (see `withSoftTimeout`).
   */
  readonly timeoutMs?: number | undefined;
  /** Names the request in timeout errors. */
  readonly what?: string | undefined;
}

/**
 * Runs `attempt` until it resolves, each attempt bounded by a soft timeout, retrying
 * transient failures (see
 * `isPermanentFailure`) after a delay drawn at random between 0 and a bound that starts
 * at 50 ms and doubles up to 1000 ms (the watches' defaults). Rejects with a permanent
 * failure at once (a closed client included), with `signal.reason` once `signal`
 * aborts (also during a delay), or with the last error once `giveUp()` says so.
 */
export async function retryTransient<T>(
  attempt: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const { signal, giveUp, timeoutMs = 5000, what = "etcd request" } = options;
  let bound = DEFAULT_BACKOFF.startingDelay ?? 50;
  const max = DEFAULT_BACKOFF.maxDelay ?? 1000;
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await abortable(withSoftTimeout(attempt(), timeoutMs, what), signal);
    } catch (error) {
      if (isPermanentFailure(error) || error instanceof ClientClosedError) throw error;
      signal?.throwIfAborted();
      if (giveUp?.() === true) throw error;
    }
    try {
      await sleep(Math.random() * bound, undefined, signal === undefined ? {} : { signal });
    } catch (error) {
      signal?.throwIfAborted(); // the signal's own reason, not the timer's AbortError
      throw error;
    }
    bound = Math.min(bound * 2, max);
  }
}

/** Settles like `promise`, or rejects with `signal.reason` once `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
