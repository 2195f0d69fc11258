/**
 * The waiting line shared by locks and elections, etcd's own recipe (Go's
 * `concurrency.Mutex` and `Election`, `etcdctl lock` and `elect`): each contender writes
 * `${name}/${lease ID in hex}` under its lease, and the key with the lowest create
 * revision holds. A contender waits only for the key just ahead of it (the last one
 * created before its own), so a release wakes one waiter, not all.
 *
 * Fixes over Go's recipe: our own key is watched during the whole wait (a deleted key or
 * an expired lease ends the wait at once, instead of a phantom win), the check that we
 * hold is made in the same read as the check that nobody is ahead, and a compacted or
 * broken watch is mended (by the values' machinery), never fatal.
 *
 * @module
 */

import type { Etcd3, IKeyValue, Namespace } from "etcd3";
import { followKey } from "./key-watch.js";
import type { OwnKey } from "./own-key.js";
import { fullKey, fullPrefixEnd, idempotentTxn, rangeResult, userKey } from "./txn.js";

/** Where a contender stands after {@link enqueue}. */
export interface Enqueued {
  /** Our key's create revision: the fencing token once we hold. */
  readonly createRevision: number;
  /** Whether our key is the first in line (we hold at once). */
  readonly first: boolean;
  /** Our key was already there (written before under the same lease): its value now. */
  readonly existing: IKeyValue | undefined;
}

/**
 * Writes `key` (`${name}/${hex lease}`) under `lease` unless it exists, in one
 * transaction that also reads the first key in line. Idempotent (retried through
 * transient faults until `signal` aborts). Each attempt sent is added to `sent`.
 */
export async function enqueue(
  client: Etcd3 | Namespace,
  name: string,
  key: string,
  value: Buffer,
  lease: string,
  signal: AbortSignal | undefined,
  sent: Promise<unknown>[] = [],
): Promise<Enqueued> {
  const prefix = `${name}/`;
  const firstInLine = {
    request_range: {
      key: fullKey(client, prefix),
      range_end: fullPrefixEnd(client, prefix),
      sort_target: "Create" as const,
      sort_order: "Ascend" as const,
      limit: 1,
    },
  };
  const response = await idempotentTxn(
    client,
    {
      compare: [
        { key: fullKey(client, key), target: "Create", result: "Equal", create_revision: 0 },
      ],
      success: [{ request_put: { key: fullKey(client, key), value, lease } }, firstInLine],
      failure: [{ request_range: { key: fullKey(client, key) } }, firstInLine],
    },
    `etcd enqueue of ${JSON.stringify(key)}`,
    signal,
    sent,
  );
  const existing = response.succeeded ? undefined : rangeResult(response, 0);
  const createRevision = Number(existing?.create_revision ?? response.header.revision);
  const head = rangeResult(response, 1);
  return {
    createRevision,
    first: head !== undefined && Number(head.create_revision) === createRevision,
    existing,
  };
}

/**
 * Resolves once our key (`own`) is first in line: nobody created a key under
 * `${name}/` before it, and it still exists with its create revision, both seen in one
 * read. Waits on one key at a time: the last one created before ours. Rejects with
 * `signal.reason` as soon as it aborts (`signal` includes `own.signal`: our key
 * deleted, our lease lost): the caller then removes its key.
 */
export async function waitForTurn(
  client: Etcd3 | Namespace,
  name: string,
  own: OwnKey,
  signal: AbortSignal,
): Promise<void> {
  const prefix = `${name}/`;
  for (;;) {
    signal.throwIfAborted();
    const response = await idempotentTxn(
      client,
      {
        success: [
          { request_range: { key: fullKey(client, own.key) } },
          {
            request_range: {
              key: fullKey(client, prefix),
              range_end: fullPrefixEnd(client, prefix),
              max_create_revision: own.createRevision - 1,
              sort_target: "Create",
              sort_order: "Descend",
              limit: 1,
            },
          },
        ],
      },
      `etcd read of the line before ${JSON.stringify(own.key)}`,
      signal,
    );
    const mine = rangeResult(response, 0);
    if (mine === undefined || Number(mine.create_revision) !== own.createRevision) {
      own.keyGone();
      signal.throwIfAborted();
    }
    const ahead = rangeResult(response, 1);
    if (ahead === undefined) return;
    await untilGone(client, userKey(client, ahead), Number(ahead.create_revision), signal);
  }
}

/** Resolves when `key` no longer exists with `createRevision`; rejects when `signal` aborts. */
function untilGone(
  client: Etcd3 | Namespace,
  key: string,
  createRevision: number,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: unknown): void => {
      follower.stop();
      signal.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => settle(signal.reason);
    const follower = followKey(
      client,
      key,
      (kv) => {
        if (kv === undefined || kv.createRevision !== createRevision) settle();
      },
      (error) => settle(error),
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}
