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
 * store's revision). A contender's own key is watched from before it is written
 * ({@link watchKeyEarly}), so that look is rarely needed for it.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  ClientClosedError,
  type Etcd3,
  type IKeyValue,
  type IWatchResponse,
  type Namespace,
} from "etcd3";
import { isPermanentFailure } from "../etcd/classify.js";
import { type KeyRange, keyId, singleKey } from "../etcd/key-range.js";
import { portOf } from "../etcd/port.js";
import { DEFAULT_TUNING } from "../etcd/retry-policy.js";
import type { StreamEnd, StreamWatch } from "../etcd/shared-stream.js";
import { watchHub } from "../etcd/watch-hub.js";
import { abortable, retryTransient } from "./retry.js";
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
  const started = startWatch(
    target.client,
    target.keys.map((live) => live.key) as [string] | [string, string],
  );
  return started.follow(target, onGone, onFailure);
}

/** A watch of one key created before the key is written; see {@link watchKeyEarly}. */
export interface EarlyKeyWatch {
  /**
   * Follows the key as {@link watchKeysGone} does, from its create revision and a store
   * revision `seenAt` at which it existed (the write's). Call once.
   */
  follow(
    known: { readonly createRevision: number; readonly seenAt: number },
    onGone: (key: LiveKey) => void,
    onFailure: (error: unknown) => void,
  ): KeysGoneWatch;
  /** Stops the watch before {@link EarlyKeyWatch.follow} (the write failed); idempotent. */
  stop(): void;
}

/**
 * Starts watching `key` (relative to the client's namespace) from now, before it is
 * written: when etcd creates this watch before it applies the write, no look at the key
 * is needed once the write's revision is known (events up to it are skipped), which
 * saves one read per lock or election contender. Otherwise it looks once, as
 * {@link watchKeysGone} does.
 */
export function watchKeyEarly(client: Etcd3 | Namespace, key: string): EarlyKeyWatch {
  const started = startWatch(client, [key]);
  return {
    follow: ({ createRevision, seenAt }, onGone, onFailure) =>
      started.follow({ client, keys: [{ key, createRevision }], seenAt }, onGone, onFailure),
    stop: () => started.stop(),
  };
}

/** A watch started before its keys' create revisions are known. */
interface StartedWatch {
  /** Gives the keys (same names, same order) and the callbacks; once. */
  follow(
    target: GoneKeys,
    onGone: (key: LiveKey) => void,
    onFailure: (error: unknown) => void,
  ): KeysGoneWatch;
  stop(): void;
}

/** Callbacks and keys, once known. */
interface Following {
  readonly target: GoneKeys;
  readonly onGone: (key: LiveKey) => void;
  readonly onFailure: (error: unknown) => void;
}

/**
 * Creates the watch of `names` (one key, or the span of two) at once; judges its
 * responses once `follow()` gives the keys' create revisions (earlier ones are replayed).
 */
function startWatch(
  client: Etcd3 | Namespace,
  names: readonly [string] | readonly [string, string],
): StartedWatch {
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
  let following: Following | undefined;
  let setFollowing!: (following: Following) => void;
  const followed = new Promise<Following>((resolve) => {
    setFollowing = resolve;
  });
  /** Responses that came before the keys were known, replayed then. */
  let beforeFollow: IWatchResponse[] | undefined = [];
  const quoted = names.map((name) => JSON.stringify(name)).join(" and ");
  const port = portOf(client);
  const range = spanOf(client, names);

  /** Reports the first key changed in one response (one revision) after `seenAt`. */
  const onResponse = (response: IWatchResponse): void => {
    if (following === undefined) {
      beforeFollow?.push(response);
      return;
    }
    const { keys, seenAt } = following.target;
    // A key changed in this revision is gone, the first one of `keys` when both are;
    // changes up to `seenAt` are older than what the caller saw.
    const changed = (live: LiveKey): boolean =>
      response.events.some(
        (event) =>
          Number(event.kv.mod_revision) > seenAt &&
          keyId(client.prefix, event.kv.key) === live.key &&
          (event.type === "Delete" || Number(event.kv.create_revision) !== live.createRevision),
      );
    const key = keys.find(changed);
    if (key !== undefined) report(key);
  };

  let attempts = 0;
  const attach = async (): Promise<StreamWatch> => {
    const attempt = ++attempts;
    const watch = await watchHub(port).attach(
      { range, startRevision: 0, onResponse: (response) => onResponse(response) },
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
  const look = async (keys: GoneKeys["keys"]): Promise<number> => {
    const response = await retryTransient(
      () =>
        client.kv.range({
          key: range.start,
          ...(range.end === undefined ? {} : { range_end: range.end }),
          keys_only: true,
        }),
      { signal: stopped.signal, what: `etcd read of ${quoted}` },
    );
    const byKey = new Map<string, IKeyValue>();
    for (const kv of response.kvs) byKey.set(keyId(client.prefix, kv.key), kv);
    const key = keys.find(
      (live) => Number(byKey.get(live.key)?.create_revision ?? 0) !== live.createRevision,
    );
    if (key !== undefined) report(key);
    return Number(response.header.revision);
  };

  const run = async (): Promise<LiveKey> => {
    let bound = 50;
    let seenAt: number | undefined;
    for (;;) {
      const watch = await retryTransient(attach, {
        signal: stopped.signal,
        // attach bounds itself (the hub's answer timeout, extended while bytes arrive)
        timeoutMs: 60_000,
        what: `etcd watch of ${quoted}`,
      });
      const createdAt = performance.now();
      const { target } = await abortable(followed, stopped.signal);
      seenAt ??= target.seenAt;
      if (watch.createdRevision > seenAt) {
        // The store moved since the keys were last seen: the watch covers every change
        // after its creation, one look covers the rest.
        seenAt = Math.max(seenAt, await look(target.keys));
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

  const stop = (): void => {
    if (stopped.signal.aborted) return;
    stopped.abort(STOPPED);
    current?.close();
  };
  run().then(
    (key) => {
      if (stopped.signal.aborted || following === undefined) return;
      stopped.abort(STOPPED);
      following.onGone(key);
    },
    (error: unknown) => {
      if (stopped.signal.aborted || following === undefined) return;
      stopped.abort(STOPPED);
      following.onFailure(error);
    },
  );
  return {
    follow: (target, onGone, onFailure) => {
      if (following !== undefined) throw new Error("unreachable: a watch followed twice");
      following = { target, onGone, onFailure };
      for (const response of beforeFollow ?? []) onResponse(response);
      beforeFollow = undefined;
      setFollowing(following);
      return { stop };
    },
    stop,
  };
}

/** The one key, or the span from the lower of two keys to the higher, inclusive. */
function spanOf(
  client: Etcd3 | Namespace,
  names: readonly [string] | readonly [string, string],
): KeyRange {
  if (names.length === 1) return singleKey(client.prefix, names[0]);
  const [a, b] = names.map((name) => fullKey(client, name)) as [Buffer, Buffer];
  const [low, high] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  return { start: low, end: Buffer.concat([high, Buffer.from([0])]) };
}

/** Rethrows a watch's end that no retry can mend (permission denied, closed client). */
function failOnPermanent(end: StreamEnd): void {
  if (end.reason !== "cancelled") return;
  if (isPermanentFailure(end.error) || end.error instanceof ClientClosedError) throw end.error;
}
