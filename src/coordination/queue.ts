/**
 * The waiting line shared by locks and elections, etcd's own recipe (Go's
 * `concurrency.Mutex` and `Election`, `etcdctl lock` and `elect`): each contender writes
 * `${name}/${lease ID in hex}` under its lease, and the key with the lowest create
 * revision holds. A contender waits only for the key just ahead of it (the last one
 * created before its own), so a release wakes one waiter, not all.
 *
 * Fixes over Go's recipe: our own key is watched during the whole wait (a deleted key or
 * an expired lease ends the wait at once, instead of a phantom win), the check that we
 * hold is made in the same read as the check that nobody is ahead (or proven by one
 * watch's ordered events, see {@link waitForTurn}), and a broken watch is mended, never
 * fatal; compaction cannot touch a wait (see `key-gone.ts`).
 *
 * Hand-off cost: joining is one transaction that writes our key and reads the key just
 * ahead; each wait is a watch from the current revision on the client's shared stream
 * (no read first, so etcd delivers the release at once, not at its next 100 ms catch-up
 * of lagging watches); when the key ahead was the only one, its deletion hands the lock
 * over without another read.
 *
 * @module
 */

import type { Etcd3, IKeyValue, Namespace } from "etcd3";
import { type LiveKey, watchKeysGone } from "./key-gone.js";
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
  /** The store revision of the transaction: our key existed then with `createRevision`. */
  readonly revision: number;
  /**
   * The key just ahead of ours when we joined (`first` false), if the transaction could
   * tell (it can when it wrote our key): no key can join ahead of us later.
   */
  readonly ahead: Ahead | undefined;
}

/** The key just ahead of ours in line. */
export interface Ahead extends LiveKey {
  /** A store revision at which it existed, and was just ahead of ours. */
  readonly seenAt: number;
  /** Whether it was the only key ahead of ours then (no key can join ahead later). */
  readonly alone: boolean;
}

/**
 * Writes `key` (`${name}/${hex lease}`) under `lease` unless it exists, in one
 * transaction that also reads the key just ahead of it (when our key was there already:
 * the first key in line). Idempotent (retried through
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
  const line = {
    key: fullKey(client, prefix),
    range_end: fullPrefixEnd(client, prefix),
    sort_target: "Create" as const,
  };
  const response = await idempotentTxn(
    client,
    {
      compare: [
        { key: fullKey(client, key), target: "Create", result: "Equal", create_revision: 0 },
      ],
      // Written now, our key is the last in line: the two last keys are ours and the one
      // just ahead, if any.
      success: [
        { request_put: { key: fullKey(client, key), value, lease } },
        { request_range: { ...line, sort_order: "Descend", limit: 2 } },
      ],
      failure: [
        { request_range: { key: fullKey(client, key) } },
        { request_range: { ...line, sort_order: "Ascend", limit: 1 } },
      ],
    },
    `etcd enqueue of ${JSON.stringify(key)}`,
    signal,
    sent,
  );
  const revision = Number(response.header.revision);
  if (response.succeeded) {
    const line = response.responses[1]?.response_range;
    const before = line?.kvs[1];
    return {
      createRevision: revision,
      first: before === undefined,
      existing: undefined,
      revision,
      ahead:
        before === undefined
          ? undefined
          : {
              key: userKey(client, before),
              createRevision: Number(before.create_revision),
              seenAt: revision,
              alone: Number(line?.count) === 2,
            },
    };
  }
  const existing = rangeResult(response, 0);
  const createRevision = Number(existing?.create_revision ?? revision);
  const head = rangeResult(response, 1);
  return {
    createRevision,
    first: head !== undefined && Number(head.create_revision) === createRevision,
    existing,
    revision,
    ahead: undefined,
  };
}

/**
 * Resolves once our key (`own`) is first in line: nobody created a key under
 * `${name}/` before it, and it still exists with its create revision. Waits on one key
 * at a time, the last one created before ours (`ahead` first, when the caller knows it),
 * and then reads the line again, our key included, in one request.
 *
 * When the key ahead is the only one, that read is saved: the wait watches the span from
 * the key ahead to ours (in key order) in one etcd watch, whose events come in revision
 * order, so when the key ahead goes, our key is known to exist at that revision, and
 * nobody can have joined ahead of us. Keys of later contenders that sort between the two
 * are in the span too, and their changes skipped: in etcd's recipe a key is named by its
 * lease ID, which one member hands out in increasing order, so a later contender's key
 * rarely sorts between.
 *
 * Rejects with `signal.reason` as soon as it aborts (`signal` includes `own.signal`: our
 * key deleted, our lease lost): the caller then removes its key.
 */
export async function waitForTurn(
  client: Etcd3 | Namespace,
  name: string,
  own: OwnKey,
  signal: AbortSignal,
  ahead?: Ahead,
): Promise<void> {
  const prefix = `${name}/`;
  let next = ahead;
  for (;;) {
    if (next !== undefined) {
      const mine = { key: own.key, createRevision: own.createRevision };
      const keys = next.alone ? ([mine, next] as const) : ([next] as const);
      const gone = await untilGone({ client, keys, seenAt: next.seenAt }, signal);
      if (gone === mine) {
        own.keyGone();
        signal.throwIfAborted();
      }
      if (next.alone) {
        signal.throwIfAborted(); // and reading `signal` checks the lease's deadline
        return;
      }
    }
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
    const before = rangeResult(response, 1);
    if (before === undefined) return;
    next = {
      key: userKey(client, before),
      createRevision: Number(before.create_revision),
      seenAt: Number(response.header.revision),
      // `more`: the limit cut keys ahead off (the count is of the whole line)
      alone: response.responses[1]?.response_range?.more === false,
    };
  }
}

/** Resolves with the first key gone (see `watchKeysGone`); rejects when `signal` aborts. */
function untilGone(
  target: Parameters<typeof watchKeysGone>[0],
  signal: AbortSignal,
): Promise<LiveKey> {
  return new Promise<LiveKey>((resolve, reject) => {
    const settle = (outcome: { key: LiveKey } | { error: unknown }): void => {
      watch.stop();
      signal.removeEventListener("abort", onAbort);
      if ("key" in outcome) resolve(outcome.key);
      else reject(outcome.error);
    };
    const onAbort = (): void => settle({ error: signal.reason });
    const watch = watchKeysGone(
      target,
      (key) => settle({ key }),
      (error) => settle({ error }),
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}
