/**
 * Per-key watching of a range: each watcher first walks a snapshot in key order, then
 * receives changed keys, one per `get()`, newest value per key, in the order of their
 * latest change.
 *
 * @module
 */

import { BaseWatcher, type Taken } from "../event/base-watcher.js";
import type { WatchOptions } from "../event/contract.js";
import { type SourceLifecycle, SourceState } from "../event/source-state.js";
import { userKeyOf } from "./key-range.js";
import type { StoredKv } from "./range-read.js";
import type { SyncedChange } from "./resync-diff.js";

/** A snapshot shared by the watchers that start at the same revision. */
export interface SortedSnapshot {
  readonly revision: number;
  /** Present keys' ids (see `keyId`), in etcd's (byte) key order. */
  readonly keys: readonly string[];
  readonly kvs: readonly StoredKv[];
  /** Added to each key's mod revision for watchers (see `RangeState.revisionOf`). */
  readonly offset: number;
}

/**
 * Turns a key's stored value (or `undefined`: deleted) into what a watcher returns;
 * `key` is the key as the user sees it (`userKeyOf` its id).
 */
export type ReadUpdate<U> = (key: string, kv: StoredKv | undefined, revision: number) => U;

/**
 * Shared state of a range's per-key watchers. The owner feeds it with `apply()` and
 * `markReady()`. Memory per watcher is bounded by the keys it has returned plus the keys
 * present, never by the number of updates: one pending entry per changed key, and no
 * deletion of a key the watcher never returned (a key created and deleted while the
 * watcher was not reading is not reported at all).
 */
export class RangeWatchSource extends SourceState {
  /** The pending changes of each watcher past its snapshot (not the watchers: see `end`). */
  readonly #active = new Set<DirtyKeys>();
  readonly #snapshot: () => SortedSnapshot;

  /**
   * @param snapshot the current state, sorted (the owner caches it per revision).
   * @param lifecycle started when the first watcher needs data, stopped when the last
   *   closes. Not ready until the owner's `markReady()`.
   */
  constructor(snapshot: () => SortedSnapshot, lifecycle: SourceLifecycle) {
    super({ ready: false, lifecycle });
    this.#snapshot = snapshot;
  }

  /** Records changes for every watcher past its snapshot's start, and wakes them. */
  apply(changes: readonly SyncedChange[]): void {
    if (this.#active.size === 0) return;
    for (const dirty of this.#active) dirty.record(changes);
    this.notify();
  }

  /** A new watcher whose values are made by `read`; `options` as for `watch()`. */
  watch<U>(read: ReadUpdate<U>, options?: WatchOptions): BaseWatcher<U> {
    return new RangeKeyWatcher(this, read, options);
  }

  /** Internal: a watcher starts tracking changes into `dirty` at the current snapshot. */
  begin(dirty: DirtyKeys): SortedSnapshot {
    const snapshot = this.#snapshot();
    dirty.begin(snapshot);
    this.#active.add(dirty);
    return snapshot;
  }

  /**
   * Internal: a watcher stops tracking changes (closed, or collected without `close()`:
   * the source holds only `dirty`, never the watcher, so an abandoned watcher can be
   * collected).
   */
  end(dirty: DirtyKeys): void {
    this.#active.delete(dirty);
  }
}

/**
 * The keys of each snapshot as a `Set`, made at the first lookup and shared by every
 * watcher of that snapshot (watchers keep only the snapshot's key array: not its values,
 * which the next revision may replace).
 */
const keySets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** Whether `keys` (a snapshot's) holds the key `key` (an id). */
function holds(keys: readonly string[], key: string): boolean {
  let set = keySets.get(keys);
  if (set === undefined) {
    set = new Set(keys);
    keySets.set(keys, set);
  }
  return set.has(key);
}

/**
 * Changed keys a watcher has not returned yet, by key id, in the order of their latest
 * change; and which keys the watcher sees as present (its snapshot's, plus those it
 * returned since, minus the deletions it returned), so that the deletion of a key it
 * never returned is not kept.
 */
class DirtyKeys {
  readonly #changes = new Map<string, SyncedChange>();
  /** The keys of the watcher's snapshot; undefined until it begins. */
  #snapshotKeys: readonly string[] | undefined;
  /** Keys outside the snapshot that the watcher returned present. */
  readonly #added = new Set<string>();
  /** Snapshot keys whose deletion the watcher returned. */
  readonly #gone = new Set<string>();

  /** The watcher starts at `snapshot`: it will return every key in it. */
  begin(snapshot: SortedSnapshot): void {
    this.#snapshotKeys = snapshot.keys;
  }

  /** Notes changes; a key changed again moves to the end with its newest value. */
  record(changes: readonly SyncedChange[]): void {
    for (const change of changes) {
      this.#changes.delete(change.key);
      // A deletion matters only for a key the watcher has or will have returned.
      if (change.kv !== undefined || this.#seen(change.key)) this.#changes.set(change.key, change);
    }
  }

  /** Removes and returns the change of the key changed least recently, if any. */
  shift(): SyncedChange | undefined {
    const next = this.#changes.values().next();
    if (next.done) return undefined;
    const change = next.value;
    this.#changes.delete(change.key);
    const inSnapshot = this.#inSnapshot(change.key);
    if (change.kv === undefined) {
      this.#added.delete(change.key);
      if (inSnapshot) this.#gone.add(change.key);
    } else {
      this.#gone.delete(change.key);
      if (!inSnapshot) this.#added.add(change.key);
    }
    return change;
  }

  clear(): void {
    this.#changes.clear();
    this.#added.clear();
    this.#gone.clear();
    this.#snapshotKeys = undefined;
  }

  /** Whether the watcher has returned `key` as present (or will, from its snapshot). */
  #seen(key: string): boolean {
    if (this.#added.has(key)) return true;
    return this.#inSnapshot(key) && !this.#gone.has(key);
  }

  #inSnapshot(key: string): boolean {
    return this.#snapshotKeys !== undefined && holds(this.#snapshotKeys, key);
  }
}

/** Made outside the watcher class, so the cleanup cannot capture the watcher. */
function ending(source: RangeWatchSource, dirty: DirtyKeys): () => void {
  return () => source.end(dirty);
}

class RangeKeyWatcher<U> extends BaseWatcher<U> {
  readonly #source: RangeWatchSource;
  readonly #read: ReadUpdate<U>;
  #snapshot: SortedSnapshot | undefined;
  #index = 0;
  #started = false;
  /** Changed keys not yet returned. */
  readonly #dirty = new DirtyKeys();

  constructor(source: RangeWatchSource, read: ReadUpdate<U>, options: WatchOptions | undefined) {
    super(source, options);
    this.#source = source;
    this.#read = read;
  }

  protected take(): Taken<U> | undefined {
    if (!this.#started) {
      this.#started = true;
      this.#snapshot = this.#source.begin(this.#dirty);
    }
    const snapshot = this.#snapshot;
    if (snapshot !== undefined) {
      const index = this.#index;
      if (index < snapshot.keys.length) {
        this.#index = index + 1;
        const key = snapshot.keys[index] as string;
        const kv = snapshot.kvs[index] as StoredKv;
        const revision = kv.modRevision + snapshot.offset;
        return { value: this.#read(userKeyOf(key), kv, revision), revision: snapshot.revision };
      }
      this.#snapshot = undefined;
    }
    const change = this.#dirty.shift();
    if (change === undefined) return undefined;
    const value = this.#read(userKeyOf(change.key), change.kv, change.revision);
    return { value, revision: change.revision };
  }

  protected override onClose(): void {
    this.#source.end(this.#dirty);
    this.#snapshot = undefined;
    this.#dirty.clear();
  }

  protected override cleanupWhenCollected(): () => void {
    return ending(this.#source, this.#dirty);
  }
}
