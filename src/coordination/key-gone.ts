/**
 * Waiting for etcd keys to go away, quickly: a lock waiter's wait for the key just ahead
 * of it, and a contender's watch on its own key.
 *
 * Why not the values' way (read at R, watch from R+1): etcd puts a watch whose start
 * revision is not in the future among its "unsynced" watchers, and catches those up only
 * every 100 ms. In a busy line the store moves between the read and the watch (other
 * contenders join), so a waiter would learn of its turn up to 100 ms late. A watch
 * created from "now" (start revision 0) is synced at once; what happened between the
 * moment the keys were last seen and the watch's creation is covered by one look at
 * them, taken only when the store moved in between (the create's answer names the
 * store's revision).
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import { ClientClosedError, type Etcd3, type IKeyValue, type Namespace } from "etcd3";
import { isPermanentFailure } from "../etcd/classify.js";
import { type KeyRange, keyId, singleKey } from "../etcd/key-range.js";
import { portOf } from "../etcd/port.js";
import { DEFAULT_TUNING } from "../etcd/retry-policy.js";
import type { StreamEnd, StreamWatch } from "../etcd/shared-stream.js";
import { watchHub } from "../etcd/watch-hub.js";
import { retryTransient } from "./retry.js";
import { fullKey } from "./txn.js";

/** A key and the create revision it has while it lives. */
export interface LiveKey {
  /** The key, relative to the client's namespace. */
  readonly key: string;
  /** A key re-created since (another create revision) is gone too. */
  readonly createRevision: number;
}

/** The keys to watch; see {@link watchKeysGone}. */
export interface GoneKeys {
  readonly client: Etcd3 | Namespace;
  /**
   * One key, or two: then the watch covers every key between them too (in key order),
   * whose changes are skipped; a change of both in one revision reports the first.
   */
  readonly keys: readonly [LiveKey] | readonly [LiveKey, LiveKey];
  /** A store revision at which every key existed with its create revision (0: not known). */
  readonly seenAt: number;
}

/** A running {@link watchKeysGone}. */
export interface KeysGoneWatch {
  /** Stops watching (no callback after it); idempotent. */
  stop(): void;
}

/** A watch that lived less than this (ms) before it ended is followed by a short delay. */
const SHORT_LIVED_MS = 1000;

/** The abort reason of a stopped watch: internal, never surfaced. */
const STOPPED = Symbol("stopped");

/**
 * Calls `onGone` with the first of the keys found gone (deleted, its lease ended, or
 * re-created), in revision order: one etcd watch delivers its events in order, so with
 * two keys, the other one still existed when the reported one went (unless both went in
 * the same revision: then the first in `keys` is reported). Or calls `onFailure` once on
 * a permanent failure (permission denied, a closed client). Never both, and nothing after
 * `stop()`.
 *
 * Transient faults (a broken or stalled stream, an unavailable member) are retried: the
 * watch is created again and the keys looked at once more, first retry after 0–50 ms,
 * doubling to at most 1000 ms, full jitter. Compaction cannot end the wait: the watch
 * starts at the current revision.
 */
export function watchKeysGone(
  target: GoneKeys,
  onGone: (key: LiveKey) => void,
  onFailure: (error: unknown) => void,
): KeysGoneWatch {
  const { client, keys } = target;
  const stopped = new AbortController();
  let current: StreamWatch | undefined;
  let found: ((key: LiveKey) => void) | undefined;
  const gone = new Promise<LiveKey>((resolve) => {
    found = resolve;
  });
  const report = (key: LiveKey): void => {
    found?.(key);
    found = undefined;
  };
  const names = keys.map((live) => JSON.stringify(live.key)).join(" and ");
  const port = portOf(client);
  const range = spanOf(client, keys);
  /** The first key gone among `kvs` (the keys present), or among the changes of one revision. */
  const firstGone = (present: (live: LiveKey) => boolean): LiveKey | undefined =>
    keys.find((live) => !present(live));

  let attempts = 0;
  const attach = async (): Promise<StreamWatch> => {
    const attempt = ++attempts;
    const watch = await watchHub(port).attach(
      {
        range,
        startRevision: 0,
        onResponse: (response) => {
          // One response is one revision: a key changed in it is gone, the first one of
          // `keys` when both are.
          const changed = (live: LiveKey): boolean =>
            response.events.some(
              (event) =>
                keyId(client.prefix, event.kv.key) === live.key &&
                (event.type === "Delete" ||
                  Number(event.kv.create_revision) !== live.createRevision),
            );
          const key = firstGone((live) => !changed(live));
          if (key !== undefined) report(key);
        },
      },
      DEFAULT_TUNING,
    );
    // A create answered after we stopped, or after its attempt was given up (a soft
    // timeout), is closed at once: an open watch keeps its stream, and the process, alive.
    if (stopped.signal.aborted || attempt !== attempts) {
      watch.close();
      throw new Error("a watch created too late");
    }
    current = watch;
    return watch;
  };

  /** Looks at the keys now; reports the first one gone; resolves the look's revision. */
  const look = async (): Promise<number> => {
    const response = await retryTransient(
      () =>
        client.kv.range({
          key: range.start,
          ...(range.end === undefined ? {} : { range_end: range.end }),
          keys_only: true,
        }),
      { signal: stopped.signal, what: `etcd read of ${names}` },
    );
    const byKey = new Map<string, IKeyValue>();
    for (const kv of response.kvs) byKey.set(keyId(client.prefix, kv.key), kv);
    const key = firstGone(
      (live) => Number(byKey.get(live.key)?.create_revision ?? 0) === live.createRevision,
    );
    if (key !== undefined) report(key);
    return Number(response.header.revision);
  };

  const run = async (): Promise<LiveKey> => {
    let seenAt = target.seenAt;
    let bound = 50;
    for (;;) {
      const watch = await retryTransient(attach, {
        signal: stopped.signal,
        // attach bounds itself (the hub's answer timeout, extended while bytes arrive)
        timeoutMs: 60_000,
        what: `etcd watch of ${names}`,
      });
      const createdAt = performance.now();
      if (watch.createdRevision > seenAt) {
        // The store moved since the keys were last seen: the watch covers every change
        // after its creation, one look covers the rest.
        seenAt = Math.max(seenAt, await look());
      }
      const end = await Promise.race([gone, watch.ended]);
      watch.close();
      if (!("reason" in end)) return end;
      failOnPermanent(end);
      if (performance.now() - createdAt < SHORT_LIVED_MS) {
        await sleep(Math.random() * bound, undefined, { signal: stopped.signal });
        bound = Math.min(bound * 2, 1000);
      } else {
        bound = 50;
      }
    }
  };

  run().then(
    (key) => {
      if (stopped.signal.aborted) return;
      stopped.abort(STOPPED);
      onGone(key);
    },
    (error: unknown) => {
      if (stopped.signal.aborted) return;
      stopped.abort(STOPPED);
      onFailure(error);
    },
  );
  return {
    stop: () => {
      if (stopped.signal.aborted) return;
      stopped.abort(STOPPED);
      current?.close();
    },
  };
}

/** The one key, or the span from the lower of two keys to the higher, inclusive. */
function spanOf(client: Etcd3 | Namespace, keys: GoneKeys["keys"]): KeyRange {
  if (keys.length === 1) return singleKey(client.prefix, keys[0].key);
  const [a, b] = keys.map((live) => fullKey(client, live.key)) as [Buffer, Buffer];
  const [low, high] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  return { start: low, end: Buffer.concat([high, Buffer.from([0])]) };
}

/** Rethrows a watch's end that no retry can mend (permission denied, closed client). */
function failOnPermanent(end: StreamEnd): void {
  if (end.reason !== "cancelled") return;
  if (isPermanentFailure(end.error) || end.error instanceof ClientClosedError) throw end.error;
}
