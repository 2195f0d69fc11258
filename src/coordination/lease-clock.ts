/**
 * The lease clock: when a lease may have expired in etcd, computed on this process's
 * monotonic clock (`performance.now()`, which NTP steps never move) from the **send**
 * time of the last keepalive etcd acknowledged.
 *
 * Why the send time: etcd restarts a lease's TTL when it processes a keepalive, which is
 * after we sent it and before we hear back. Counting from the send time is the earliest
 * etcd can have counted from, so the deadline is never later than etcd's expiry, however
 * slow the answer was, and also when the process was paused (a pause delays the answer,
 * never the send time it is credited with). Go's client counts from the receive time and
 * npm etcd3 from twice the TTL: both can believe in a lease that etcd already expired.
 *
 * @module
 */

/** Milliseconds on the monotonic clock; `performance.now()` by default. */
export type MonotonicClock = () => number;

/** The default monotonic clock. */
export const monotonicNow: MonotonicClock = () => performance.now();

/**
 * The safety margin subtracted from a lease's TTL, in ms: 10 % of the TTL, at least
 * 1000 ms, at most a third of the TTL (so a 2 s lease, etcd's minimum, still leaves room
 * for a keepalive to be answered). Covers clock-rate drift between this machine and etcd's
 * leader and the time etcd takes to apply a keepalive before its TTL restarts.
 */
export function safetyMarginMs(ttlSeconds: number): number {
  const ttlMs = ttlSeconds * 1000;
  return Math.min(Math.max(1000, ttlMs / 10), ttlMs / 3);
}

/** How often keepalives are sent, in ms: a third of the TTL, as etcd's own clients do. */
export function keepaliveIntervalMs(ttlSeconds: number): number {
  return (ttlSeconds * 1000) / 3;
}

/**
 * The local deadline of one lease. Not thread-safe (there are no threads): every method
 * runs on the event loop.
 */
export class LeaseClock {
  readonly #now: MonotonicClock;
  #ttl: number;
  #deadline: number;

  /**
   * @param sentAt when the grant request was sent (monotonic ms): etcd starts the TTL
   *   no earlier than that.
   * @param ttlSeconds the TTL etcd granted.
   */
  constructor(sentAt: number, ttlSeconds: number, now: MonotonicClock = monotonicNow) {
    this.#now = now;
    this.#ttl = ttlSeconds;
    this.#deadline = sentAt + ttlSeconds * 1000 - safetyMarginMs(ttlSeconds);
  }

  /** The TTL etcd last granted or confirmed, in seconds. */
  get ttl(): number {
    return this.#ttl;
  }

  /** The local deadline (monotonic ms): at or after it the lease may have expired. */
  get deadline(): number {
    return this.#deadline;
  }

  /** Milliseconds left before the deadline (negative once past). */
  remaining(): number {
    return this.#deadline - this.#now();
  }

  /** True once the deadline has passed: the lease may be gone. */
  expired(): boolean {
    return this.remaining() <= 0;
  }

  /**
   * etcd acknowledged a keepalive sent at `sentAt` with `ttlSeconds`: the lease lives at
   * least until `sentAt + TTL` (minus the margin). Never moves the deadline backwards.
   */
  acknowledged(sentAt: number, ttlSeconds: number): void {
    this.#ttl = ttlSeconds;
    const deadline = sentAt + ttlSeconds * 1000 - safetyMarginMs(ttlSeconds);
    if (deadline > this.#deadline) this.#deadline = deadline;
  }
}
