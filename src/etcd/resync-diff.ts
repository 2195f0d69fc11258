/**
 * The arithmetic of applying a whole read of a range to the state already applied: the
 * difference to report, and the revision offset that keeps watchers' revisions from
 * going backwards after etcd's history was replaced. Pure: no I/O, no clock.
 *
 * @module
 */

import { HistoryLostError } from "../event/errors.js";
import { keyId } from "./key-range.js";
import type { RangeRead, StoredKv } from "./range-read.js";

/** One key's change as watchers see it. */
export interface SyncedChange {
  /** The key's id (namespace prefix stripped; lossless, see `keyId`): `userKeyOf` it for users. */
  readonly key: string;
  /** The new key-value; `undefined` when the key was deleted. */
  readonly kv: StoredKv | undefined;
  /** The revision of the change, as watchers see it (etcd's plus the offset). */
  readonly revision: number;
}

/** What has been applied of a range. */
export interface AppliedState {
  /** The present keys by key id. */
  readonly entries: ReadonlyMap<string, StoredKv>;
  /** The revision after the last one applied; 0 before the first read. */
  readonly resume: number;
  /** Added to etcd's revisions for watchers; grows only after history was replaced. */
  readonly offset: number;
  /** The cluster the state was read from; "" before the first read. */
  readonly clusterId: string;
}

/**
 * Whether an answer from `clusterId` at store revision `revision` belongs to another
 * history than `state`'s: a new cluster id, or a revision below the one applied (trap
 * 12). Undefined when it is the same history, or nothing was read yet.
 */
export function historyLost(
  state: Pick<AppliedState, "resume" | "clusterId">,
  clusterId: string,
  revision: number,
): HistoryLostError | undefined {
  if (state.resume === 0) return undefined;
  if (state.clusterId !== "" && clusterId !== "" && clusterId !== state.clusterId) {
    return new HistoryLostError(`cluster id ${state.clusterId} became ${clusterId}`);
  }
  const applied = state.resume - 1;
  if (revision < applied) {
    return new HistoryLostError(`revision went back from ${applied} to ${revision}`);
  }
  return undefined;
}

/** The state after a read, and what changed. */
export interface ReadApplied extends AppliedState {
  readonly entries: Map<string, StoredKv>;
  /** Changed keys, in revision order (then key order); deletions at the read's revision. */
  readonly changes: SyncedChange[];
  /** The read's revision as watchers see it. */
  readonly readRevision: number;
}

/**
 * Applies `read` (keys with the namespace `prefix`) to `state`. In the same history a key
 * changed when its mod revision differs; after history was replaced (see
 * {@link historyLost}) revisions mean nothing across the gap, so a key changed when its
 * bytes differ, every change is dated at the read's revision, and the offset grows so
 * that the read's revision is strictly above the last one reported. The new entries go
 * into `entries` (empty: a new `Map` by default).
 */
export function applyRead(
  state: AppliedState,
  read: RangeRead,
  prefix: Buffer,
  entries: Map<string, StoredKv> = new Map(),
): ReadApplied {
  const previous = state.resume - 1;
  const dataLost = historyLost(state, read.clusterId, read.revision) !== undefined;
  const offset = dataLost
    ? Math.max(state.offset, previous + state.offset + 1 - read.revision)
    : state.offset;
  const readRevision = read.revision + offset;
  const changes: SyncedChange[] = [];
  for (let i = 0; i < read.kvs.length; i++) {
    const kv = read.kvs[i] as StoredKv;
    const key = keyId(prefix, read.keys[i] as Buffer);
    entries.set(key, kv);
    const old = state.entries.get(key);
    const changed = dataLost
      ? old === undefined || !old.value.equals(kv.value)
      : old === undefined || old.modRevision !== kv.modRevision;
    if (changed) {
      changes.push({ key, kv, revision: dataLost ? readRevision : kv.modRevision + offset });
    }
  }
  for (const key of state.entries.keys()) {
    if (!entries.has(key)) changes.push({ key, kv: undefined, revision: readRevision });
  }
  changes.sort((a, b) => a.revision - b.revision || (a.key < b.key ? -1 : 1));
  return {
    entries,
    changes,
    offset,
    readRevision,
    resume: read.revision + 1,
    clusterId: read.clusterId,
  };
}
