/**
 * Conditions and results of one write (`EtcdValue.set`, `EtcdValue.update`), as the
 * layers below the values read them. The public `WriteOptions` (`src/write-options.ts`)
 * is {@link WriteConditions} with an `EtcdLease` as its lease.
 *
 * @module
 */

import type { Guard } from "./guard.js";

/** What a write needs of a lease: its ID. An `EtcdLease` is one. */
export interface LeaseRef {
  /** etcd's lease ID, in decimal (IDs exceed 2^53). */
  readonly id: string;
}

/** Conditions and bounds of one write. */
export interface WriteConditions {
  /**
   * Write only if the key's mod revision is this (the `revision` a watcher or a write
   * reported); 0: only if the key is absent. A non-negative integer.
   */
  ifRevision?: number;
  /**
   * Write only while each guard's key exists with exactly that create revision: a lock
   * handle or a leadership passed here makes the write apply only while it is held.
   */
  guard?: Guard | readonly Guard[];
  /**
   * Attach the key to this lease (puts only; a delete ignores it): the key goes when the
   * lease is revoked or expires. A lease etcd no longer knows: `WriteFailedError`.
   */
  lease?: LeaseRef;
  /**
   * Bounds the wait: while etcd cannot be reached, a write waits and retries (see
   * `EtcdValue.set`); aborting then rejects with `signal.reason` and nothing is written.
   * Aborting while a request is out rejects with `AmbiguousWriteError` instead.
   */
  signal?: AbortSignal;
}

/**
 * How a write ended:
 * - `ok: true`: applied; `revision` is the write's revision (a delete of an absent key,
 *   which changes nothing: the store's current revision; an `update` whose function
 *   returned the current value: the key's mod revision, 0 when absent).
 * - `reason: "revision"`: `ifRevision` did not match; `revision` and `value` are the
 *   key's now (0 and `undefined`: absent).
 * - `reason: "guard"`: a guard's key is gone or was re-created.
 */
export type WriteResult<T> =
  | {
      /** Applied. */
      ok: true;
      /** The write's revision (see above for a no-op delete or update). */
      revision: number;
    }
  | {
      /** Not applied. */
      ok: false;
      /** `ifRevision` did not match. */
      reason: "revision";
      /** The key's mod revision now; 0: absent. */
      revision: number;
      /** The key's value now; `undefined`: absent. */
      value: T | undefined;
    }
  | {
      /** Not applied. */
      ok: false;
      /** A guard's key is gone or was re-created. */
      reason: "guard";
    };
