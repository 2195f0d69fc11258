/**
 * `Range` as etcd 3.4.23 applies it (`applierV3backend.Range`): fetch at the revision,
 * then the min/max filters, then sorting, then the limit. `count` is the number of keys
 * in the range before filters; `more` only says the limit cut the result.
 *
 * @module
 */

import { requestRange } from "./keys.js";
import { plainKv, revisionHeader } from "./kv-shape.js";
import type { KeyValue, MvccStore } from "./mvcc.js";
import type { Plain, RangeRequest } from "./wire-types.js";
import type { WriteTxn } from "./write-txn.js";

/** Where a range reads: the store (plain Range, read-only txn) or a write in progress. */
export interface ReadView {
  readonly store: MvccStore;
  readonly write: WriteTxn | undefined;
}

/** The current revision of `view` (one ahead inside a write that changed something). */
export function viewRevision(view: ReadView): number {
  return view.write?.readRevision ?? view.store.revision;
}

/** Live keys of a request's range at `revision` (≤ 0: current), after the revision checks. */
export function readRange(
  view: ReadView,
  key: Buffer,
  rangeEnd: Buffer | null,
  revision: number,
): KeyValue[] {
  const current = viewRevision(view);
  view.store.checkReadable(revision, current);
  const range = requestRange(key, rangeEnd);
  if (view.write !== undefined) return view.write.range(range, Math.max(revision, 0));
  return view.store.range(range, revision <= 0 ? current : revision);
}

/** Applies a `RangeRequest`; the header carries only the revision. Throws etcd's errors. */
export function applyRange(view: ReadView, request: RangeRequest): Plain {
  let kvs = readRange(view, request.key, request.range_end, Number(request.revision));
  const count = kvs.length;
  if (request.count_only) {
    return { header: revisionHeader(viewRevision(view)), kvs: [], more: false, count };
  }
  kvs = filterRevisions(kvs, request);
  const order = sortOrder(request);
  if (order !== "None") {
    const compare = comparator(request.sort_target);
    const sign = order === "Descend" ? -1 : 1;
    kvs = [...kvs].sort((a, b) => sign * compare(a, b));
  }
  const limit = Number(request.limit);
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  return {
    header: revisionHeader(viewRevision(view)),
    kvs: kvs.map((kv) =>
      request.keys_only ? { ...plainKv(kv), value: Buffer.alloc(0) } : plainKv(kv),
    ),
    more,
    count,
  };
}

function filterRevisions(kvs: KeyValue[], request: RangeRequest): KeyValue[] {
  const maxMod = Number(request.max_mod_revision);
  const minMod = Number(request.min_mod_revision);
  const maxCreate = Number(request.max_create_revision);
  const minCreate = Number(request.min_create_revision);
  if (maxMod === 0 && minMod === 0 && maxCreate === 0 && minCreate === 0) return kvs;
  return kvs.filter(
    (kv) =>
      (maxMod === 0 || kv.modRevision <= maxMod) &&
      (minMod === 0 || kv.modRevision >= minMod) &&
      (maxCreate === 0 || kv.createRevision <= maxCreate) &&
      (minCreate === 0 || kv.createRevision >= minCreate),
  );
}

/** NONE with a target other than KEY sorts ascending (etcd's default). */
function sortOrder(request: RangeRequest): string {
  if (request.sort_order === "None" && request.sort_target !== "Key") return "Ascend";
  return request.sort_order;
}

/**
 * Stable comparators; a descending sort negates them, so ties stay in key order, as
 * Go's insertion sort (≤ 12 items) keeps them under `sort.Reverse`. For more items Go's
 * sort is not stable: ties may differ from etcd there.
 */
function comparator(target: string): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case "Version":
      return (a, b) => a.version - b.version;
    case "Create":
      return (a, b) => a.createRevision - b.createRevision;
    case "Mod":
      return (a, b) => a.modRevision - b.modRevision;
    case "Value":
      return (a, b) => Buffer.compare(a.value, b.value);
    default:
      return (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  }
}
