/**
 * Request validation done by etcd 3.4.23's gRPC layer before anything is applied
 * (`v3rpc/key.go`): empty keys, `ignore_*` misuse, the per-list operation limit of
 * transactions (nested ones get what the outer level leaves), empty operations, and the
 * put/delete overlap check (`checkIntervals`, with its quirks).
 *
 * @module
 */

import { etcdErrors } from "./grpc-errors.js";
import type {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from "./wire-types.js";

/** etcd's default `--max-txn-ops`. */
export const MAX_TXN_OPS = 128;

/** `checkRangeRequest` / `checkDeleteRequest`. */
export function checkKeyed(request: RangeRequest | DeleteRangeRequest): void {
  if (request.key.length === 0) throw etcdErrors.emptyKey();
}

/** `checkPutRequest`. */
export function checkPut(request: PutRequest): void {
  if (request.key.length === 0) throw etcdErrors.emptyKey();
  if (request.ignore_value && request.value.length !== 0) throw etcdErrors.valueProvided();
  if (request.ignore_lease && request.lease !== "0") throw etcdErrors.leaseProvided();
}

/** `checkTxnRequest`, then `checkIntervals` on both branches. */
export function checkTxn(request: TxnRequest, maxOps = MAX_TXN_OPS): void {
  checkTxnOps(request, maxOps);
  checkIntervals(request.success);
  checkIntervals(request.failure);
}

function checkTxnOps(request: TxnRequest, maxOps: number): void {
  const count = Math.max(request.compare.length, request.success.length, request.failure.length);
  if (count > maxOps) throw etcdErrors.tooManyOps();
  for (const compare of request.compare) {
    if (compare.key.length === 0) throw etcdErrors.emptyKey();
  }
  for (const op of [...request.success, ...request.failure]) checkOp(op, maxOps - count);
}

function checkOp(op: RequestOp, maxOps: number): void {
  switch (op.request) {
    case "request_range":
      checkKeyed(op.request_range as RangeRequest);
      return;
    case "request_put":
      checkPut(op.request_put as PutRequest);
      return;
    case "request_delete_range":
      checkKeyed(op.request_delete_range as DeleteRangeRequest);
      return;
    case "request_txn":
      checkTxnOps(op.request_txn as TxnRequest, maxOps);
      return;
    default:
      throw etcdErrors.keyNotFound();
  }
}

/**
 * A half-open interval of keys as etcd's `adt.StringAffineInterval`: the empty string
 * as an end is +∞; a point `k` is `[k, k + "\0")`. A delete ending in `"\0"` becomes the
 * inverted `[k, "\0")`, which overlaps nothing: etcd's quirk, kept.
 */
interface Interval {
  readonly begin: string;
  readonly end: string;
}

const pointOf = (key: string): Interval => ({ begin: key, end: `${key}\0` });

/** `a < b` with "" as +∞ on either side. */
function affineLess(a: string, b: string): boolean {
  if (a.length === 0) return false;
  if (b.length === 0) return true;
  return a < b;
}

function intersects(intervals: readonly Interval[], point: Interval): boolean {
  return intervals.some((iv) => affineLess(iv.begin, point.end) && affineLess(point.begin, iv.end));
}

const everything: Interval = { begin: "\0", end: "" };

interface Writes {
  readonly puts: Set<string>;
  readonly dels: Interval[];
}

/** `checkIntervals`: throws etcd's duplicate-key error on a put/put or put/delete overlap. */
function checkIntervals(ops: readonly RequestOp[]): Writes {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (op.request !== "request_delete_range") continue;
    const request = op.request_delete_range as DeleteRangeRequest;
    const begin = request.key.toString("latin1");
    dels.push(
      request.range_end === null || request.range_end.length === 0
        ? pointOf(begin)
        : { begin, end: request.range_end.toString("latin1") },
    );
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.request !== "request_txn") continue;
    const nested = op.request_txn as TxnRequest;
    const then = checkIntervals(nested.success);
    const otherwise = checkIntervals(nested.failure);
    for (const key of then.puts) {
      if (puts.has(key) || intersects(dels, pointOf(key))) throw etcdErrors.duplicateKey();
      puts.add(key);
    }
    for (const key of otherwise.puts) {
      if (puts.has(key) && !then.puts.has(key)) throw etcdErrors.duplicateKey();
      if (intersects(dels, pointOf(key))) throw etcdErrors.duplicateKey();
      puts.add(key);
    }
    for (const iv of [...then.dels, ...otherwise.dels]) {
      if (intersects([everything], iv)) dels.push(iv);
    }
  }
  for (const op of ops) {
    if (op.request !== "request_put") continue;
    const key = (op.request_put as PutRequest).key.toString("latin1");
    if (puts.has(key) || intersects(dels, pointOf(key))) throw etcdErrors.duplicateKey();
    puts.add(key);
  }
  return { puts, dels };
}
