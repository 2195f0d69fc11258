/**
 * `EtcdLock`: a lock in etcd, with etcd's own key layout, waiting in line, and a fencing
 * token.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import { contend } from "./coordination/contend.js";
import { HeldKey } from "./coordination/held-key.js";
import type { OwnKey } from "./coordination/own-key.js";
import { requireEtcdClient } from "./etcd/port.js";
import { requireString } from "./etcd/value-options.js";
import { EtcdLease, requireTtl } from "./etcd-lease.js";
import type { Guard } from "./etcd-types/guard.js";

/** Options of {@link EtcdLock}. */
export interface EtcdLockOptions {
  /**
   * TTL in whole seconds of the lease each acquisition grants for itself (when not given
   * a `lease`); default 10. A holder that dies without releasing blocks the lock for
   * about that long.
   */
  ttl?: number;
}

/** Options of {@link EtcdLock.acquire}. */
export interface AcquireOptions {
  /** Stops waiting: the waiter's key is removed and `acquire` rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Hold the lock under this lease instead of a new one; `release` then leaves the lease
   * alive. A lease that already waits for or holds this lock is refused (`TypeError`).
   */
  lease?: EtcdLease;
}

/**
 * A held lock: a {@link Guard} (`value.set(v, { guard: handle })` writes only while the
 * lock is held), a fencing token, and a signal.
 */
export interface LockHandle extends Guard, AsyncDisposable {
  /** `${name}/${lease ID in hex}`, relative to the client's namespace. */
  readonly key: string;
  /** The fencing token: the key's create revision, greater for every later holder. */
  readonly createRevision: number;
  /** The lease the key lives under. */
  readonly lease: EtcdLease;
  /**
   * Aborts when the lock is lost (its lease lost or revoked, its key deleted) or
   * released; reason: a `LostError`. Advisory: a paused process can act late; reading
   * `handle.signal` checks the lease's deadline first. Safety comes from the fencing
   * token and from guarded writes.
   */
  readonly signal: AbortSignal;
  /**
   * Releases the lock: deletes the key only if it still has this holder's create
   * revision (so a late release never touches a later holder's key), and revokes the
   * lease if the acquisition granted it. Idempotent; retried through transient faults.
   */
  release(): Promise<void>;
}

class Handle extends HeldKey implements LockHandle {
  override get lease(): EtcdLease {
    return super.lease as EtcdLease; // the lock only ever takes or grants an EtcdLease
  }

  release(): Promise<void> {
    return this.releaseKey("the lock was released");
  }
}

/**
 * A lock named `name`, with etcd's own recipe: each contender writes
 * `${name}/${lease ID in hex}` (empty value) under its lease, and the key with the lowest
 * create revision holds. So an `EtcdLock` and `etcdctl lock <name>` (or Go's
 * `concurrency.Mutex`) exclude each other.
 *
 * - Waiting: first come, first served by create revision; each waiter watches only the
 *   key just ahead of it, and its own key, through reconnects, compaction and member
 *   restarts.
 * - Loss: the holder's `signal` aborts at once when its lease is lost or its key is
 *   deleted. A lock is not re-entrant: each `acquire` is a new contender, and one lease
 *   can wait for or hold one lock once.
 * - Every transient fault is retried (first retry after 0–50 ms, doubling to 1000 ms,
 *   full jitter); each request is idempotent (compares on create revisions).
 *
 * The object holds no resources itself; handles do, until released or lost.
 */
export class EtcdLock {
  readonly #client: Etcd3 | Namespace;
  readonly #name: string;
  readonly #ttl: number;

  /**
   * @param client an `Etcd3` client or a `Namespace`; the key is relative to it.
   * @param name the lock's name (its keys' prefix before `/`), e.g. `/locks/reindex`.
   * @throws TypeError for a bad client, a name that is not a non-empty string, a bad `ttl`.
   */
  constructor(client: Etcd3 | Namespace, name: string, options: EtcdLockOptions = {}) {
    requireEtcdClient(client, "an Etcd3 client or a Namespace of one", true);
    if (requireString("name", name) === "") {
      throw new TypeError("Expected `name` to be a non-empty string, got ``");
    }
    this.#client = client;
    this.#name = name;
    this.#ttl = requireTtl(options.ttl);
  }

  /**
   * Waits in line and resolves with a handle once this contender holds the lock.
   *
   * Abort: the waiter's key is removed (and the lease it granted revoked) and the call
   * rejects with `signal.reason`. If the lease is lost or the key deleted while waiting,
   * it rejects with a `LostError`.
   * @throws TypeError (rejects) when `lease` already waits for or holds this lock.
   */
  async acquire(options: AcquireOptions = {}): Promise<LockHandle> {
    const contended = await contend({ ...this.#line(options.lease, options.signal), wait: true });
    if (contended === undefined)
      throw new Error("unreachable: a waiting contender always ends first in line");
    return this.#handle(contended.own, contended.ownsLease);
  }

  /**
   * Takes the lock if nobody holds it or waits for it; otherwise resolves `undefined`
   * at once, leaving no key (the one written to join the line is removed again).
   */
  async tryAcquire(options: { lease?: EtcdLease } = {}): Promise<LockHandle | undefined> {
    const contended = await contend({ ...this.#line(options.lease, undefined), wait: false });
    return contended === undefined ? undefined : this.#handle(contended.own, contended.ownsLease);
  }

  #line(lease: EtcdLease | undefined, signal: AbortSignal | undefined) {
    if (lease !== undefined && !(lease instanceof EtcdLease)) {
      throw new TypeError("Expected `lease` to be an EtcdLease");
    }
    return {
      client: this.#client,
      name: this.#name,
      value: Buffer.alloc(0),
      what: `lock ${JSON.stringify(this.#name)}`,
      lease: lease ?? (() => EtcdLease.grant(this.#client, { ttl: this.#ttl })),
      signal,
    };
  }

  #handle(own: OwnKey, ownsLease: boolean): LockHandle {
    return new Handle(this.#client, own, ownsLease, `lock ${JSON.stringify(this.#name)}`);
  }
}
