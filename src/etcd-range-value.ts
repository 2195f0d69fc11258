/**
 * `EtcdRangeValue`: a range of etcd keys, watched per key or as whole snapshots.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import { DecodeCache } from "./etcd/decode-cache.js";
import {
  compareKeyIds,
  type KeyRange,
  prefixRange,
  spanRange,
  userKeyOf,
} from "./etcd/key-range.js";
import { portOf } from "./etcd/port.js";
import type { StoredKv } from "./etcd/range-read.js";
import { RangeSync } from "./etcd/range-sync.js";
import { RangeWatchSource, type SortedSnapshot } from "./etcd/range-watch-source.js";
import { sealMap } from "./etcd/read-only-map.js";
import { StatusSlot } from "./etcd/status-slot.js";
import { requireString, resolveOptions } from "./etcd/value-options.js";
import type { DecodingOptions, EtcdValueOptions, OptionsFor } from "./etcd-types/value-options.js";
import type { WatchStatus } from "./etcd-types/watch-status.js";
import type { EventValue, Watcher, WatchOptions } from "./event/contract.js";
import { LatestSlot } from "./event/latest-slot.js";

/** One key's update, as returned by an `EtcdRangeValue` watcher. */
export interface KeyUpdate<T> {
  /** The full key, as the client sees it (relative to a `Namespace`). */
  key: string;
  /** The decoded value; `undefined`: the key was deleted. */
  value: T | undefined;
  /** The mod revision of this update (for a deletion, the delete's revision). */
  revision: number;
}

/** The whole range at one revision. */
export interface RangeSnapshot<T> {
  /** The revision the snapshot is consistent at. */
  revision: number;
  /**
   * Present keys only, in etcd's key order. One `Map` shared by every watcher of the
   * value (and by successive snapshots while nothing changed): it is frozen, and its
   * `set`, `delete` and `clear` throw a `TypeError` even through a cast. Copy it
   * (`new Map(snapshot.entries)`) to change a copy.
   */
  entries: ReadonlyMap<string, T>;
}

/** Which keys an `EtcdRangeValue` covers (relative to the client's namespace). */
export type KeyRangeSpec =
  | {
      /** Every key that starts with this string (`""`: every key, or the whole `Namespace`). */
      prefix: string;
    }
  | {
      /** The first key of the range, included. */
      start: string;
      /** The end of the range, excluded; `"\0"` means to the end of the key space. */
      end: string;
    };

/**
 * A range of etcd keys: every key with a prefix, or `[start, end)`.
 *
 * Guarantees: see `Watcher.get`. Specific to ranges:
 * - `watch()`: the first gets return the initial snapshot, one present key per get, in
 *   etcd's key order (bytes); `watcher.revision` is then the snapshot's revision. After
 *   it, one update per changed key, with the key's newest value, in the order of the
 *   keys' latest change (so `watcher.revision`, the update's revision, never goes
 *   backwards). A key changed ten times while the consumer was busy is returned once.
 *   A key deleted before the snapshot never appears; one deleted later is returned once
 *   with `value: undefined` if the watcher returned it before (from the snapshot or
 *   later); a key created and deleted between two gets, never returned, is not
 *   returned at all. Memory per watcher is bounded by the keys it returned plus the keys
 *   present, never by the number of updates.
 * - `snapshots()`: each get returns the whole range at one revision; the first is the
 *   complete initial state, later ones the newest state (intermediate states are
 *   skipped). If any present key fails to decode, that snapshot's get rejects with a
 *   `DecodeError` naming the key (use `decoders.safe` to get partial snapshots).
 * - After a resync (compaction, data loss), keys that vanished in the gap are returned as
 *   deletions, and keys that did not change are not returned again.
 * - The initial read is paged (1000 keys per request, at one revision), so ranges of any
 *   size load without hitting gRPC message limits.
 * - All watchers of one `EtcdRangeValue`, per key and snapshots alike, share one etcd
 *   watch. Faults and failures: as for `EtcdValue`.
 * - Keys written by other clients that are not valid UTF-8 are kept apart by their bytes,
 *   and `watch()` returns each one's updates separately, but their `key` is the lossy
 *   UTF-8 decoding (invalid bytes become U+FFFD), so two of them may show the same `key`;
 *   in `snapshots()` such keys share one entry (the last in key order).
 */
export class EtcdRangeValue<T = Uint8Array> implements EventValue<KeyUpdate<T>> {
  readonly #sync: RangeSync;
  readonly #perKey: RangeWatchSource;
  readonly #snapshots: LatestSlot<RangeSync>;
  readonly #status = new StatusSlot();
  readonly #cache: DecodeCache<T>;
  #users = 0;
  #sorted: SortedSnapshot | undefined;
  #built: RangeSnapshot<T> | undefined;

  /**
   * @param client an `Etcd3` client or a `Namespace` of one; keys are relative to it.
   * @param range `{ prefix }` for every key starting with it (`""`: the whole namespace),
   *   or `{ start, end }` for `[start, end)`; an `end` of `"\0"` means "to the end".
   * @throws TypeError for a malformed range (`start >= end`), client or options.
   */
  constructor(client: Etcd3 | Namespace, range: KeyRangeSpec, options: DecodingOptions<T>);
  constructor(client: Etcd3 | Namespace, range: KeyRangeSpec, ...options: OptionsFor<T>);
  constructor(client: Etcd3 | Namespace, range: KeyRangeSpec, options?: EtcdValueOptions<T>) {
    const resolved = resolveOptions(client, options);
    const keys = toKeyRange(client.prefix, range);
    this.#cache = new DecodeCache(resolved.decoder);
    // Per-key watchers and snapshot watchers share one sync, started by the first user of
    // either and stopped with the last.
    const start = (): void => {
      this.#users += 1;
      if (this.#users === 1) this.#sync.start();
    };
    const stop = (): void => {
      this.#users -= 1;
      if (this.#users > 0) return;
      this.#sync.stop();
      this.#perKey.reset();
      this.#snapshots.reset();
      this.#invalidate();
    };
    const startSnapshots = (): void => {
      start();
      // The sync already runs for per-key watchers (which become ready at every read,
      // watched or not): the first snapshot watcher takes the current state.
      if (this.#perKey.ready) this.#snapshots.publish(this.#sync, this.#sync.revision);
    };
    this.#perKey = new RangeWatchSource(() => this.#sortedSnapshot(), { start, stop });
    this.#snapshots = new LatestSlot({ ready: false, lifecycle: { start: startSnapshots, stop } });
    this.#sync = new RangeSync({
      port: portOf(client),
      range: keys,
      target: describeRange(range),
      backoff: resolved.backoff,
      tuning: resolved.tuning,
      hooks: resolved.hooks,
      listener: {
        onChanges: (changes, revision) => {
          this.#invalidate();
          this.#perKey.apply(changes);
          if (this.#snapshots.users > 0) this.#snapshots.publish(this.#sync, revision);
        },
        onRead: (revision) => {
          this.#perKey.markReady();
          if (!this.#snapshots.ready) this.#snapshots.publish(this.#sync, revision);
        },
        onStatus: (status) => this.#status.set(status),
        onFailure: (error) => {
          this.#perKey.fail(error);
          this.#snapshots.fail(error);
        },
      },
    });
  }

  /** A new per-key watcher; cheap, no I/O until its first `get()`; `options`: see `WatchOptions`. */
  watch(options?: WatchOptions): Watcher<KeyUpdate<T>> {
    return this.#perKey.watch<KeyUpdate<T>>(
      (key, kv, revision) => ({
        key,
        value: kv === undefined ? undefined : this.#cache.decode(kv, key, revision),
        revision,
      }),
      options,
    );
  }

  /** The whole range as one value: each get returns a consistent snapshot. */
  snapshots(): EventValue<RangeSnapshot<T>> {
    return {
      watch: (options) =>
        this.#snapshots.watch((_, revision) => this.#buildSnapshot(revision), options),
    };
  }

  /** The health of this value's shared watch; see `EtcdValue.status()`. */
  status(): EventValue<WatchStatus> {
    return this.#status;
  }

  #invalidate(): void {
    this.#sorted = undefined;
    this.#built = undefined;
  }

  #sortedSnapshot(): SortedSnapshot {
    const revision = this.#sync.revision;
    const cached = this.#sorted;
    if (cached !== undefined) {
      if (cached.revision === revision) return cached;
      // Every change invalidates the cache: the revision moved on without one (a re-read
      // that found nothing new). Same keys, the state's current revision.
      this.#sorted = { ...cached, revision };
      return this.#sorted;
    }
    // The state is in key order after a read (etcd returns ranges sorted); keys created
    // later are appended. So check the order while copying, and sort only when needed:
    // spreading and sorting 100,000 entries cost ~20 ms of a 100,000-key initial load.
    let keys: string[] = [];
    let kvs: StoredKv[] = [];
    let inOrder = true;
    let previous: string | undefined;
    for (const [key, kv] of this.#sync.entries) {
      if (inOrder && previous !== undefined && compareKeyIds(previous, key) > 0) {
        inOrder = false;
      }
      previous = key;
      keys.push(key);
      kvs.push(kv);
    }
    if (!inOrder) {
      const unsortedKeys = keys;
      const unsortedKvs = kvs;
      const order = unsortedKvs
        .map((_, i) => i)
        .sort((a, b) => compareKeyIds(unsortedKeys[a] as string, unsortedKeys[b] as string));
      keys = order.map((i) => unsortedKeys[i] as string);
      kvs = order.map((i) => unsortedKvs[i] as StoredKv);
    }
    this.#sorted = {
      revision,
      keys,
      kvs,
      offset: this.#sync.offset,
    };
    return this.#sorted;
  }

  /**
   * The current state as a snapshot at `revision`, the revision its watchers take it at
   * (so `watcher.revision` is `snapshot.revision`). The state has not changed since
   * `revision`: while snapshot watchers exist every change is published at once, and the
   * first of them publishes the current revision.
   */
  #buildSnapshot(revision: number): RangeSnapshot<T> {
    const built = this.#built;
    if (built !== undefined) {
      if (built.revision === revision) return built;
      this.#built = Object.freeze({ revision, entries: built.entries });
      return this.#built;
    }
    this.#built = Object.freeze({ revision, entries: this.#decodedEntries() });
    return this.#built;
  }

  /**
   * Every present key's decoded value, in key order. The state is usually in key order
   * already (see `#sortedSnapshot`): then one pass, without the sorted arrays.
   */
  #decodedEntries(): ReadonlyMap<string, T> {
    const sync = this.#sync;
    const entries = new Map<string, T>();
    let previous: string | undefined;
    for (const [key, kv] of sync.entries) {
      if (previous !== undefined && compareKeyIds(previous, key) > 0) {
        entries.clear();
        const { keys, kvs, offset } = this.#sortedSnapshot();
        for (let i = 0; i < keys.length; i++) {
          const sortedKey = userKeyOf(keys[i] as string);
          const sortedKv = kvs[i] as StoredKv;
          const revision = sortedKv.modRevision + offset;
          entries.set(sortedKey, this.#cache.decode(sortedKv, sortedKey, revision));
        }
        return sealMap(entries);
      }
      previous = key;
      const userKey = userKeyOf(key);
      entries.set(userKey, this.#cache.decode(kv, userKey, sync.revisionOf(kv)));
    }
    return sealMap(entries);
  }
}

function toKeyRange(namespace: Buffer, range: KeyRangeSpec): KeyRange {
  if (typeof range !== "object" || range === null) {
    throw new TypeError("Expected `range` to be { prefix } or { start, end }");
  }
  if ("prefix" in range) return prefixRange(namespace, requireString("range.prefix", range.prefix));
  const start = requireString("range.start", range.start);
  const end = requireString("range.end", range.end);
  if (end !== "\0" && Buffer.compare(Buffer.from(start), Buffer.from(end)) >= 0) {
    throw new TypeError(
      `Expected \`range.start\` to sort before \`range.end\`, got ${JSON.stringify(start)} >= ${JSON.stringify(end)}`,
    );
  }
  return spanRange(namespace, start, end);
}

function describeRange(range: KeyRangeSpec): string {
  return "prefix" in range
    ? `prefix ${JSON.stringify(range.prefix)}`
    : `range [${JSON.stringify(range.start)}, ${JSON.stringify(range.end)})`;
}
