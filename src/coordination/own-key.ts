/**
 * A contender's own key in a lock or election line, from the moment it is written until
 * it is released or lost: watched the whole time, so that a deletion by someone else or
 * the loss of its lease aborts {@link OwnKey.signal} at once, whether the contender is
 * still waiting or already holds.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import { LostError } from "../event/errors.js";
import { type EarlyKeyWatch, type KeysGoneWatch, type LiveKey, watchKeysGone } from "./key-gone.js";

/** What the coordination objects need of a lease (`EtcdLease` has it). */
export interface LeaseLike {
  /** etcd's lease ID, decimal. */
  readonly id: string;
  /** The lease ID in hexadecimal. */
  readonly hexId: string;
  /** Aborts when the lease is lost or revoked; reading it checks the lease's deadline. */
  readonly signal: AbortSignal;
  revoke(): Promise<void>;
}

/** Keys (namespace prefix included, as text) each lease waits for or holds, per lease. */
const claims = new WeakMap<LeaseLike, Set<string>>();

/**
 * Claims `claim` (a lock or election name, namespace included) for `lease`.
 * @throws TypeError when the lease already waits for or holds it: etcd would see one
 *   key for both, so both would "hold" (etcd's own clients share the key that way).
 */
export function claimLine(lease: LeaseLike, claim: string, what: string): () => void {
  let set = claims.get(lease);
  if (set === undefined) {
    set = new Set();
    claims.set(lease, set);
  }
  if (set.has(claim)) {
    throw new TypeError(
      `Lease ${lease.id} already waits for or holds ${what}: one lease can be in a line once (pass another lease, or none)`,
    );
  }
  set.add(claim);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    set.delete(claim);
  };
}

/** Our key in a line; see the module doc. */
export class OwnKey {
  /** The key, relative to the client's namespace. */
  readonly key: string;
  readonly createRevision: number;
  readonly lease: LeaseLike;
  readonly #controller = new AbortController();
  readonly #what: string;
  readonly #unclaim: () => void;
  #follower: KeysGoneWatch | undefined;

  /**
   * @param written our key, and a store revision at which it existed.
   * @param early a watch of our key started before it was written (see
   *   `watchKeyEarly`), to follow it with; else a new watch is created.
   */
  constructor(
    client: Etcd3 | Namespace,
    written: LiveKey & { readonly seenAt: number },
    lease: LeaseLike,
    what: string,
    unclaim: () => void,
    early?: EarlyKeyWatch,
  ) {
    this.key = written.key;
    this.createRevision = written.createRevision;
    this.lease = lease;
    this.#what = what;
    this.#unclaim = unclaim;
    const leaseSignal = lease.signal; // checks the lease's deadline
    if (leaseSignal.aborted) {
      early?.stop();
      this.#lose(leaseSignal.reason as LostError);
      return;
    }
    leaseSignal.addEventListener("abort", this.#onLeaseLost, { once: true });
    const onGone = (): void => this.keyGone();
    const onFailure = (): void => {
      // A permanent watch failure (permission denied, closed client): we can no longer
      // tell whether we hold, so we do not.
      this.#lose(new LostError("deleted", `${this.#what}: its key can no longer be watched`));
    };
    this.#follower =
      early === undefined
        ? watchKeysGone({ client, keys: [written], seenAt: written.seenAt }, onGone, onFailure)
        : early.follow(written, onGone, onFailure);
  }

  /**
   * Aborts when the key is lost, deleted or released; reason: a {@link LostError}.
   * Reading it checks the lease's deadline first.
   */
  get signal(): AbortSignal {
    void this.lease.signal; // a lease past its deadline is lost now, and so is the key
    return this.#controller.signal;
  }

  /** Our key was seen absent, or re-created by someone else. */
  keyGone(): void {
    const leaseSignal = this.lease.signal;
    if (leaseSignal.aborted) {
      this.#lose(leaseSignal.reason as LostError);
      return;
    }
    this.#lose(
      new LostError(
        "deleted",
        `${this.#what}: its key ${JSON.stringify(this.key)} was deleted by someone else`,
      ),
    );
  }

  /** Ends with `reason` "released" (by this process); stops watching. Idempotent. */
  release(message: string): void {
    this.#lose(new LostError("released", `${this.#what}: ${message}`));
  }

  readonly #onLeaseLost = (): void => {
    const reason = this.lease.signal.reason as LostError;
    this.#lose(new LostError(reason.reason, `${this.#what}: ${reason.message}`, { cause: reason }));
  };

  #lose(error: LostError): void {
    this.#follower?.stop();
    this.#unclaim();
    this.lease.signal.removeEventListener("abort", this.#onLeaseLost);
    if (!this.#controller.signal.aborted) this.#controller.abort(error);
  }
}
