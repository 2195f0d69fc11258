/**
 * The multi-version key store: every version of every key since the last compaction,
 * the log of changes per revision (what watchers replay), and compaction. Rules are
 * those of etcd 3.4.23's `mvcc` package: the revision starts at 1, a write of ≥1 change
 * adds exactly 1, changes in one write get sub-revisions in order, a tombstone keeps
 * only the key.
 *
 * @module
 */

import { etcdErrors } from "./grpc-errors.js";
import type { Key, KeyRange } from "./keys.js";
import { SortedKeys } from "./sorted-keys.js";

/** One version of a key. */
export interface KeyValue {
  readonly key: Key;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Buffer;
  /** 0n when the key has no lease. */
  readonly lease: bigint;
}

/** A change made by a write: the new version, or a deletion. */
export interface Change {
  readonly key: Key;
  /** Undefined for a deletion. */
  readonly kv: KeyValue | undefined;
}

/** An event of one revision, in sub-revision order. */
export interface StoredEvent {
  readonly type: "put" | "delete";
  /** For a deletion: only `key` and `modRevision` are meaningful (etcd's tombstone). */
  readonly kv: KeyValue;
}

/** The events of one revision. */
export interface LogEntry {
  readonly revision: number;
  readonly events: StoredEvent[];
}

interface Version {
  readonly main: number;
  /** Undefined: tombstone. */
  readonly kv: KeyValue | undefined;
}

/** MVCC history with compaction. */
export class MvccStore {
  #revision = 1;
  #compactRevision = -1;
  readonly #history = new Map<Key, Version[]>();
  readonly #keys = new SortedKeys();
  /** Log entries with revision > compactRevision, plus kept ones at it, ascending. */
  #log: LogEntry[] = [];

  /** The current revision (1 on an empty store). */
  get revision(): number {
    return this.#revision;
  }

  /** The last compaction's revision; -1 before any. */
  get compactRevision(): number {
    return this.#compactRevision;
  }

  /**
   * Throws etcd's error for reading at `revision` (≤ 0 means current): future, or
   * compacted (the compact revision itself is readable). `current` defaults to the
   * store's revision (a write in progress reads one ahead).
   */
  checkReadable(revision: number, current = this.#revision): void {
    if (revision > current) throw etcdErrors.futureRevision();
    const at = revision <= 0 ? current : revision;
    if (at < this.#compactRevision) throw etcdErrors.compacted();
  }

  /** The version of `key` visible at `revision` (no checks), or undefined. */
  get(key: Key, revision: number): KeyValue | undefined {
    const versions = this.#history.get(key);
    if (versions === undefined) return undefined;
    for (let i = versions.length - 1; i >= 0; i--) {
      const version = versions[i] as Version;
      if (version.main <= revision) return version.kv;
    }
    return undefined;
  }

  /** The live keys of `range` at `revision`, in byte order (no checks). */
  range(range: KeyRange, revision: number): KeyValue[] {
    const found: KeyValue[] = [];
    for (const key of this.#keys.in(range)) {
      const kv = this.get(key, revision);
      if (kv !== undefined) found.push(kv);
    }
    return found;
  }

  /** Stores `changes` as the next revision (at least one change) and returns its events. */
  commit(changes: readonly Change[]): LogEntry {
    const revision = this.#revision + 1;
    const events: StoredEvent[] = [];
    for (const change of changes) {
      let versions = this.#history.get(change.key);
      if (versions === undefined) {
        versions = [];
        this.#history.set(change.key, versions);
        this.#keys.add(change.key);
      }
      versions.push({ main: revision, kv: change.kv });
      events.push(
        change.kv === undefined
          ? { type: "delete", kv: tombstone(change.key, revision) }
          : { type: "put", kv: change.kv },
      );
    }
    this.#revision = revision;
    const entry = { revision, events };
    this.#log.push(entry);
    return entry;
  }

  /** The log entries with revision ≥ `from`, ascending. */
  *logFrom(from: number): Generator<LogEntry> {
    let low = 0;
    let high = this.#log.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.#log[mid] as LogEntry).revision < from) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < this.#log.length; i++) yield this.#log[i] as LogEntry;
  }

  /**
   * Compacts at `revision`: per key, keeps the newest version ≤ `revision` and every
   * later one; a tombstone at or below it goes with its whole generation (etcd 3.4.23
   * also drops a tombstone exactly at `revision`). Throws etcd's errors for a revision
   * already compacted or in the future.
   */
  compact(revision: number): void {
    if (revision <= this.#compactRevision) throw etcdErrors.compacted();
    if (revision > this.#revision) throw etcdErrors.futureRevision();
    this.#compactRevision = revision;
    for (const [key, versions] of this.#history) {
      let newest = -1;
      for (let i = versions.length - 1; i >= 0; i--) {
        if ((versions[i] as Version).main <= revision) {
          newest = i;
          break;
        }
      }
      if (newest < 0) continue;
      const drop = versions[newest]?.kv === undefined ? newest + 1 : newest;
      versions.splice(0, drop);
      if (versions.length === 0) {
        this.#history.delete(key);
        this.#keys.delete(key);
      }
    }
    const kept: LogEntry[] = [];
    for (const entry of this.#log) {
      if (entry.revision > revision) kept.push(entry);
      else if (entry.revision === revision) {
        const events = entry.events.filter((event) => event.type === "put");
        if (events.length > 0) kept.push({ revision, events });
      }
    }
    this.#log = kept;
  }

  /** Empties the store: revision 1, never compacted. */
  wipe(): void {
    this.#revision = 1;
    this.#compactRevision = -1;
    this.#history.clear();
    this.#keys.clear();
    this.#log = [];
  }
}

function tombstone(key: Key, revision: number): KeyValue {
  return {
    key,
    createRevision: 0,
    modRevision: revision,
    version: 0,
    value: Buffer.alloc(0),
    lease: 0n,
  };
}
