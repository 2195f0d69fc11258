/**
 * Soft timeouts: race a request against a timer instead of giving it a gRPC deadline.
 * etcd3 reuses a fixed deadline in its own retries after it has expired, and those
 * failures trip the client's circuit breakers (RELIABILITY.md, trap 20).
 *
 * @module
 */

import { RequestTimeoutError } from "../event/errors.js";
import type { ProgressCheck } from "./transport-activity.js";

/**
 * Resolves or rejects like `promise`, or rejects with {@link RequestTimeoutError} after
 * `ms`. The timer is cleared once either settles; a late failure of `promise` is handled.
 */
export function withSoftTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeoutError(what, ms)), ms);
    timer.unref(); // the request itself keeps the process alive while it matters
  });
  promise.catch(() => {}); // may settle after the timeout: nobody awaits it then
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Like {@link withSoftTimeout}, but `ms` bounds silence, not the whole request: at each
 * deadline, if `progress` says bytes arrived from the member meanwhile, the deadline moves
 * `ms` further. So a request making progress on a slow link is never abandoned, while one
 * to a frozen member rejects after `ms` to 2 × `ms` of silence. Without evidence (no
 * `progress`, or it knows no connection), the same as {@link withSoftTimeout}.
 */
export function withIdleTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  progress: ProgressCheck | undefined,
): Promise<T> {
  if (progress === undefined) return withSoftTimeout(promise, ms, what);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const check = (): void => {
      if (progress() === true) arm();
      else reject(new RequestTimeoutError(what, ms));
    };
    const arm = (): void => {
      timer = setTimeout(check, ms);
      timer.unref();
    };
    arm();
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
