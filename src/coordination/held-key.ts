/**
 * What a lock holder and an election leader share: the fencing token, the signal, and a
 * fenced release.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import type { Guard } from "../etcd-types/guard.js";
import type { LeaseLike, OwnKey } from "./own-key.js";
import { fullKey, idempotentTxn } from "./txn.js";

/**
 * Removes `own`'s key only if it still has our create revision (`If Create(key) == rev
 * Then Delete`): a late or repeated removal never deletes a later holder's key, even one
 * written under the same lease. Then revokes the lease if we granted it. Retried through
 * transient faults; never rejects for a key or lease already gone.
 */
export async function removeOwnKey(
  client: Etcd3 | Namespace,
  own: OwnKey,
  ownsLease: boolean,
): Promise<void> {
  if (ownsLease) {
    // Revoking deletes the key too, in one step; a lease lost is already gone.
    await own.lease.revoke();
    return;
  }
  await idempotentTxn(
    client,
    {
      compare: [
        {
          key: fullKey(client, own.key),
          target: "Create",
          result: "Equal",
          create_revision: own.createRevision,
        },
      ],
      success: [{ request_delete_range: { key: fullKey(client, own.key) } }],
    },
    `etcd fenced delete of ${JSON.stringify(own.key)}`,
  );
}

/** A held lock or leadership; see `LockHandle` and `Leadership`. */
export class HeldKey implements Guard, AsyncDisposable {
  readonly #client: Etcd3 | Namespace;
  readonly #own: OwnKey;
  readonly #ownsLease: boolean;
  readonly #what: string;
  #releasing: Promise<void> | undefined;

  constructor(client: Etcd3 | Namespace, own: OwnKey, ownsLease: boolean, what: string) {
    this.#client = client;
    this.#own = own;
    this.#ownsLease = ownsLease;
    this.#what = what;
  }

  /** The key, relative to the client's namespace: `${name}/${lease ID in hex}`. */
  get key(): string {
    return this.#own.key;
  }

  /** The key's create revision: the fencing token, greater for every later holder. */
  get createRevision(): number {
    return this.#own.createRevision;
  }

  /** The lease the key lives under. */
  get lease(): LeaseLike {
    return this.#own.lease;
  }

  /**
   * Aborts when this is lost (lease lost or revoked, key deleted) or released; reason: a
   * `LostError`. Reading it checks the lease's deadline first.
   */
  get signal(): AbortSignal {
    return this.#own.signal;
  }

  /** Idempotent fenced release; see {@link removeOwnKey}. */
  protected releaseKey(message: string): Promise<void> {
    this.#own.release(message);
    this.#releasing ??= removeOwnKey(this.#client, this.#own, this.#ownsLease);
    return this.#releasing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.releaseKey(`${this.#what} was released`);
  }
}
