/**
 * Leases (etcd 3.4.23 `lease.Lessor` on a single leader): IDs, granted TTL (raised to
 * the minimum), attached keys, renewal and expiry. Expiry runs on the process's timers,
 * looked up at call time (so fake timers drive it) and unref'd; a lease expires exactly
 * at grant or last renewal + TTL seconds. Deleting the keys of a revoked or expired
 * lease is the caller's job ({@link Lessor} only says which keys, sorted).
 *
 * @module
 */

import { etcdErrors } from "./grpc-errors.js";
import type { Key } from "./keys.js";

/** etcd's largest lease TTL, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

/** One lease. */
export interface Lease {
  readonly id: bigint;
  /** Granted TTL in seconds (after the minimum). */
  readonly ttl: number;
  /** Expiry time in ms since the epoch (`Date.now()` scale). */
  expiresAt: number;
  readonly keys: Set<Key>;
  timer: unknown;
}

/** What the lessor calls when a lease's time is up (maybe more than once). */
export type ExpireHandler = (id: bigint) => void;

/** The lease table. */
export class Lessor {
  readonly #leases = new Map<bigint, Lease>();
  readonly #minTtl: number;
  readonly #onExpire: ExpireHandler;
  readonly #ids: () => bigint;

  /**
   * @param minTtl minimum granted TTL in seconds (etcd: ceil(1.5 × election timeout) = 2)
   * @param onExpire called (from a timer) when a lease expires
   * @param ids generator of server-chosen IDs
   */
  constructor(minTtl: number, onExpire: ExpireHandler, ids: () => bigint) {
    this.#minTtl = minTtl;
    this.#onExpire = onExpire;
    this.#ids = ids;
  }

  /** Grants a lease (`id` 0n: server-chosen); throws etcd's errors. */
  grant(id: bigint, requestedTtl: number): Lease {
    if (requestedTtl > MAX_LEASE_TTL) throw etcdErrors.leaseTtlTooLarge();
    let chosen = id;
    while (chosen === 0n || (id === 0n && this.#leases.has(chosen))) chosen = this.#ids();
    if (this.#leases.has(chosen)) throw etcdErrors.leaseExists();
    const ttl = Math.max(requestedTtl, this.#minTtl);
    const lease: Lease = { id: chosen, ttl, expiresAt: 0, keys: new Set(), timer: undefined };
    this.#leases.set(chosen, lease);
    this.#refresh(lease);
    return lease;
  }

  /** The lease `id`, if it exists. */
  get(id: bigint): Lease | undefined {
    return this.#leases.get(id);
  }

  /**
   * Renews `id`; its granted TTL, or 0 when unknown or already expired (etcd's
   * keepalive answer: an expired lease waits for its revoke, it is not renewed).
   */
  renew(id: bigint): number {
    const lease = this.#leases.get(id);
    if (lease === undefined) return 0;
    if (this.isExpired(lease)) {
      this.#onExpire(lease.id);
      return 0;
    }
    this.#refresh(lease);
    return lease.ttl;
  }

  /** True once `lease`'s time is up (its revoke may still be pending). */
  isExpired(lease: Lease): boolean {
    return Date.now() >= lease.expiresAt;
  }

  /** Remaining whole seconds of `lease` (truncated, as etcd's `int64(seconds)`). */
  remaining(lease: Lease): number {
    return Math.trunc((lease.expiresAt - Date.now()) / 1000);
  }

  /** Every lease, soonest expiry first. */
  list(): Lease[] {
    return [...this.#leases.values()].sort((a, b) => a.expiresAt - b.expiresAt);
  }

  /** Attaches `key` to lease `id` (which exists). */
  attach(id: bigint, key: Key): void {
    this.#leases.get(id)?.keys.add(key);
  }

  /** Detaches `key` from lease `id`. */
  detach(id: bigint, key: Key): void {
    this.#leases.get(id)?.keys.delete(key);
  }

  /** Removes lease `id` and returns its keys in byte order; throws if unknown. */
  remove(id: bigint): Key[] {
    const lease = this.#leases.get(id);
    if (lease === undefined) throw etcdErrors.leaseNotFound();
    this.#leases.delete(id);
    clearTimer(lease.timer);
    return [...lease.keys].sort();
  }

  /** Drops every lease and timer. */
  clear(): void {
    for (const lease of this.#leases.values()) clearTimer(lease.timer);
    this.#leases.clear();
  }

  #refresh(lease: Lease): void {
    lease.expiresAt = Date.now() + lease.ttl * 1000;
    this.#arm(lease);
  }

  #arm(lease: Lease): void {
    clearTimer(lease.timer);
    const ms = Math.max(0, lease.expiresAt - Date.now());
    // Looked up at call time, so fake timers installed after construction drive expiry.
    const timer = globalThis.setTimeout(
      () => {
        if (this.#leases.get(lease.id) !== lease) return;
        if (Date.now() < lease.expiresAt) this.#arm(lease);
        else this.#onExpire(lease.id);
      },
      Math.min(ms, 2_147_483_647),
    );
    (timer as { unref?: () => void }).unref?.();
    lease.timer = timer;
  }
}

function clearTimer(timer: unknown): void {
  if (timer !== undefined) globalThis.clearTimeout(timer as ReturnType<typeof setTimeout>);
}
