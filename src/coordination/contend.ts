/**
 * Joining a line (lock or election) and waiting for the turn: the steps `EtcdLock` and
 * `EtcdElection` share, with every failure path removing what it wrote.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { Etcd3, Namespace } from "etcd3";
import { removeOwnKey } from "./held-key.js";
import { watchKeyEarly } from "./key-gone.js";
import { claimLine, type LeaseLike, OwnKey } from "./own-key.js";
import { enqueue, waitForTurn } from "./queue.js";
import { abortable } from "./retry.js";
import { fullKey, idempotentTxn } from "./txn.js";

/** Settings of {@link contend}. */
export interface ContendOptions {
  readonly client: Etcd3 | Namespace;
  /** The line's name: keys are `${name}/${lease ID in hex}`. */
  readonly name: string;
  /** The value our key holds (empty for a lock). */
  readonly value: Buffer;
  /** Names the line in messages, e.g. `lock "/jobs"`. */
  readonly what: string;
  /** The caller's lease, or a function granting one that we own (revoked when done). */
  readonly lease: LeaseLike | (() => Promise<LeaseLike>);
  /** Wait in line (acquire, campaign) or give up at once when someone is ahead (tryAcquire). */
  readonly wait: boolean;
  readonly signal?: AbortSignal | undefined;
}

/** Our key once we are first in line. */
export interface Contended {
  readonly own: OwnKey;
  readonly ownsLease: boolean;
  /** Our key existed before (same lease): its stored value. */
  readonly existingValue: Buffer | undefined;
}

/**
 * Writes our key and, with `wait`, waits until it is first in line. Resolves undefined
 * when `wait` is false and someone is ahead (our key removed again). On abort (the
 * caller's signal), loss (our key deleted, our lease lost) or failure, removes our key
 * (fenced) and the lease we granted, then rejects: with `signal.reason`, a `LostError`,
 * or the failure.
 */
export async function contend(options: ContendOptions): Promise<Contended | undefined> {
  const { client, name, value, what, wait, signal } = options;
  signal?.throwIfAborted();
  const ownsLease = typeof options.lease === "function";
  const lease =
    typeof options.lease === "function"
      ? await grantUnlessAborted(options.lease(), signal)
      : options.lease;
  let own: OwnKey | undefined;
  try {
    lease.signal.throwIfAborted();
    const key = `${name}/${lease.hexId}`;
    const unclaim = claimLine(lease, client.prefix.toString("latin1") + name, what);
    let enqueued: Awaited<ReturnType<typeof enqueue>>;
    const sent: Promise<unknown>[] = [];
    // Watched from before the write, our key needs no look once written (see watchKeyEarly).
    const follower = watchKeyEarly(client, key);
    try {
      const stop = signal === undefined ? lease.signal : AbortSignal.any([signal, lease.signal]);
      enqueued = await enqueue(client, name, key, value, lease.id, stop, sent);
    } catch (error) {
      follower.stop();
      // The put may have been applied with its answer lost (P9), or be applied still by
      // an attempt given up on (etcd3 retries it itself): under the caller's lease, which
      // lives on, our key would block the line. (A lease we granted is revoked below,
      // with the key, and a late put under it fails.)
      if (!ownsLease) await removeKeyOfLease(client, key, lease.id, sent);
      unclaim();
      throw error;
    }
    own = new OwnKey(
      client,
      { key, createRevision: enqueued.createRevision, seenAt: enqueued.revision },
      lease,
      what,
      unclaim,
      follower,
    );
    if (!enqueued.first) {
      if (!wait) {
        own.release("another holder is ahead");
        await removeOwnKey(client, own, ownsLease);
        return undefined;
      }
      const stop = signal === undefined ? own.signal : AbortSignal.any([signal, own.signal]);
      await waitForTurn(client, name, own, stop, enqueued.ahead);
    }
    own.signal.throwIfAborted();
    return { own, ownsLease, existingValue: enqueued.existing?.value };
  } catch (error) {
    own?.release("the wait ended");
    const cleanup =
      own === undefined
        ? ownsLease
          ? lease.revoke()
          : undefined
        : removeOwnKey(client, own, ownsLease);
    await cleanup?.catch(() => {});
    throw error;
  }
}

/**
 * The lease `granting` resolves with; when `signal` aborts first, rejects with its reason
 * and revokes the lease once etcd grants it (else it would be kept alive, unused, for as
 * long as the client lives).
 */
async function grantUnlessAborted(
  granting: Promise<LeaseLike>,
  signal: AbortSignal | undefined,
): Promise<LeaseLike> {
  try {
    return await abortable(granting, signal);
  } catch (error) {
    granting.then((lease) => lease.revoke()).catch(() => {});
    throw error;
  }
}

/** Bound on waiting for the enqueue's attempts to settle before removing its key, in ms. */
const SETTLE_MS = 10_000;

/**
 * Once every attempt in `sent` has settled (bound: {@link SETTLE_MS}; a later one could
 * still write the key), deletes `key` if it lives under `lease` (`If Lease(key) == lease
 * Then Delete`): the key embeds the lease ID, and the lease is still claimed for this
 * line, so such a key can only be the one our own put wrote. Retried through transient
 * faults; never rejects.
 */
async function removeKeyOfLease(
  client: Etcd3 | Namespace,
  key: string,
  lease: string,
  sent: readonly Promise<unknown>[],
): Promise<void> {
  await Promise.race([Promise.allSettled(sent), sleep(SETTLE_MS, undefined, { ref: false })]);
  await idempotentTxn(
    client,
    {
      compare: [{ key: fullKey(client, key), target: "Lease", result: "Equal", lease }],
      success: [{ request_delete_range: { key: fullKey(client, key) } }],
    },
    `etcd removal of ${JSON.stringify(key)} after a failed enqueue`,
  ).catch(() => {});
}
