/**
 * One write transaction on the store (etcd's `TxnWrite`): puts and deletes get the
 * next revision and sub-revisions in order, reads see the transaction's own writes,
 * and nothing reaches the store until {@link WriteTxn.end}. A transaction with no
 * change leaves the revision alone.
 *
 * @module
 */

import { inRange, type Key, type KeyRange } from "./keys.js";
import type { Change, KeyValue, LogEntry, MvccStore } from "./mvcc.js";

/** A write in progress. */
export class WriteTxn {
  readonly #store: MvccStore;
  readonly #changes: Change[] = [];
  readonly #pending = new Map<Key, KeyValue | undefined>();

  constructor(store: MvccStore) {
    this.#store = store;
  }

  /** The store revision before this write. */
  get beginRevision(): number {
    return this.#store.revision;
  }

  /** The revision reads see: one ahead once this write changed something. */
  get readRevision(): number {
    return this.#store.revision + (this.#changes.length > 0 ? 1 : 0);
  }

  /** The changes so far, in order. */
  get changes(): readonly Change[] {
    return this.#changes;
  }

  /** The current version of `key` as this write sees it. */
  get(key: Key): KeyValue | undefined {
    if (this.#pending.has(key)) return this.#pending.get(key);
    return this.#store.get(key, this.#store.revision);
  }

  /**
   * The live keys of `range` at `revision` (≤ 0 or the read revision: as this write
   * sees them), in byte order. The caller checked the revision.
   */
  range(range: KeyRange, revision: number): KeyValue[] {
    if (revision > 0 && revision <= this.#store.revision) return this.#store.range(range, revision);
    const found = this.#store.range(range, this.#store.revision);
    if (this.#pending.size === 0) return found;
    const byKey = new Map(found.map((kv) => [kv.key, kv] as const));
    for (const [key, kv] of this.#pending) {
      if (!inRange(range, key)) continue;
      if (kv === undefined) byKey.delete(key);
      else byKey.set(key, kv);
    }
    return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Puts `value` at `key` with `lease` (0n: none); returns the new version. */
  put(key: Key, value: Buffer, lease: bigint): KeyValue {
    const revision = this.#store.revision + 1;
    const previous = this.get(key);
    const kv: KeyValue = {
      key,
      createRevision: previous?.createRevision ?? revision,
      modRevision: revision,
      version: (previous?.version ?? 0) + 1,
      value,
      lease,
    };
    this.#record(key, kv);
    return kv;
  }

  /** Deletes the live keys of `range` in byte order; returns what was deleted. */
  delete(range: KeyRange): KeyValue[] {
    const deleted = this.range(range, 0);
    for (const kv of deleted) this.#record(kv.key, undefined);
    return deleted;
  }

  /** Commits: the log entry of the new revision, or undefined when nothing changed. */
  end(): LogEntry | undefined {
    if (this.#changes.length === 0) return undefined;
    return this.#store.commit(this.#changes);
  }

  #record(key: Key, kv: KeyValue | undefined): void {
    this.#changes.push({ key, kv });
    this.#pending.set(key, kv);
  }
}
