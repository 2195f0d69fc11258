/**
 * Soft timeouts: race a request against a timer instead of giving it a gRPC deadline.
 * etcd3 reuses a fixed deadline in its own retries after it has expired, and those
 * failures trip the client's circuit breakers (RELIABILITY.md, trap 20).
 *
 * @module
 */

/** A request did not answer in time. Transient: the caller retries. */
export class RequestTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = "RequestTimeoutError";
  }
}

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
