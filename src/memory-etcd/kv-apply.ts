/**
 * Put, DeleteRange and Txn as etcd 3.4.23 applies them (`etcdserver/apply.go`): lease
 * and `ignore_*` checks, `prev_kv`, compares on one snapshot for every level of a
 * nested transaction, then the chosen operations in order with read-your-writes, and
 * the sub-response headers that carry only a revision.
 *
 * @module
 */

import { etcdErrors } from "./grpc-errors.js";
import { keyOf, requestRange } from "./keys.js";
import { plainKv, revisionHeader } from "./kv-shape.js";
import type { Lessor } from "./lessor.js";
import type { KeyValue, MvccStore } from "./mvcc.js";
import { applyRange, type ReadView, readRange, viewRevision } from "./range.js";
import type {
  Compare,
  DeleteRangeRequest,
  Plain,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from "./wire-types.js";
import type { WriteTxn } from "./write-txn.js";

/** What applying needs besides the request. */
export interface ApplyContext {
  readonly store: MvccStore;
  readonly lessor: Lessor;
}

/** Throws etcd's lease-not-found error unless `lease` is 0 or exists. */
export function checkLease(context: ApplyContext, lease: string): void {
  if (lease !== "0" && context.lessor.get(BigInt(lease)) === undefined) {
    throw etcdErrors.leaseNotFound();
  }
}

/** Applies a put inside `write` (checks done); the response with a revision-only header. */
export function applyPut(write: WriteTxn, request: PutRequest): Plain {
  const key = keyOf(request.key);
  const previous = write.get(key);
  if ((request.ignore_value || request.ignore_lease) && previous === undefined) {
    throw etcdErrors.keyNotFound();
  }
  const value = request.ignore_value ? (previous as KeyValue).value : request.value;
  const lease = request.ignore_lease ? (previous as KeyValue).lease : BigInt(request.lease);
  const kv = write.put(key, value, lease);
  return {
    header: revisionHeader(kv.modRevision),
    ...(request.prev_kv && previous !== undefined ? { prev_kv: plainKv(previous) } : {}),
  };
}

/** Applies a delete inside `write`. */
export function applyDelete(write: WriteTxn, request: DeleteRangeRequest): Plain {
  const deleted = write.delete(requestRange(request.key, request.range_end));
  return {
    header: revisionHeader(write.readRevision),
    deleted: deleted.length,
    prev_kvs: request.prev_kv ? deleted.map(plainKv) : [],
  };
}

/** True when every op of both branches, nested included, is a Range. */
export function isReadOnly(request: TxnRequest): boolean {
  return [...request.success, ...request.failure].every(
    (op) =>
      op.request === "request_range" ||
      (op.request === "request_txn" && isReadOnly(op.request_txn as TxnRequest)),
  );
}

/**
 * Applies a transaction on `view` (a write for a mutating txn, the store for a read-only
 * one): path from the compares, then the path's checks, then the ops. Returns the
 * response; its top header is completed by the caller.
 */
export function applyTxn(context: ApplyContext, view: ReadView, request: TxnRequest): Plain {
  const path = compareToPath(view, request);
  if (view.write !== undefined) checkPath(request, [...path], (op) => checkPutOp(context, op));
  checkPath(request, [...path], (op) => checkRangeOp(view, op));
  const response = runTxn(view, request, path);
  return { ...response, header: { revision: viewRevision(view) } };
}

/** Compare results for every level on the chosen path, depth first, on one snapshot. */
function compareToPath(view: ReadView, request: TxnRequest): boolean[] {
  const ok = request.compare.every((compare) => applyCompare(view, compare));
  const path = [ok];
  for (const op of ok ? request.success : request.failure) {
    if (op.request === "request_txn")
      path.push(...compareToPath(view, op.request_txn as TxnRequest));
  }
  return path;
}

function applyCompare(view: ReadView, compare: Compare): boolean {
  let kvs: KeyValue[];
  try {
    kvs = readRange(view, compare.key, compare.range_end, 0);
  } catch {
    return false;
  }
  if (kvs.length === 0) {
    if (compare.target === "Value") return false;
    return compareKv(compare, undefined);
  }
  return kvs.every((kv) => compareKv(compare, kv));
}

function compareKv(compare: Compare, kv: KeyValue | undefined): boolean {
  let result: number;
  const target = compare.target;
  if (target === "Value") {
    const wanted = compare.target_union === "value" ? (compare.value as Buffer) : Buffer.alloc(0);
    result = Buffer.compare(kv?.value ?? Buffer.alloc(0), wanted);
  } else {
    const [field, actual] =
      target === "Create"
        ? (["create_revision", BigInt(kv?.createRevision ?? 0)] as const)
        : target === "Mod"
          ? (["mod_revision", BigInt(kv?.modRevision ?? 0)] as const)
          : target === "Lease"
            ? (["lease", kv?.lease ?? 0n] as const)
            : (["version", BigInt(kv?.version ?? 0)] as const);
    const wanted = compare.target_union === field ? BigInt(compare[field] as string) : 0n;
    result = actual < wanted ? -1 : actual > wanted ? 1 : 0;
  }
  switch (compare.result) {
    case "Equal":
      return result === 0;
    case "NotEqual":
      return result !== 0;
    case "Greater":
      return result > 0;
    case "Less":
      return result < 0;
    default:
      return true;
  }
}

/** `checkRequests`: runs `check` on every non-txn op of the path; consumes `path`. */
function checkPath(request: TxnRequest, path: boolean[], check: (op: RequestOp) => void): void {
  const ok = path.shift();
  for (const op of ok ? request.success : request.failure) {
    if (op.request === "request_txn") checkPath(op.request_txn as TxnRequest, path, check);
    else check(op);
  }
}

function checkPutOp(context: ApplyContext, op: RequestOp): void {
  if (op.request !== "request_put") return;
  const request = op.request_put as PutRequest;
  if (request.ignore_value || request.ignore_lease) {
    if (context.store.get(keyOf(request.key), context.store.revision) === undefined) {
      throw etcdErrors.keyNotFound();
    }
  }
  checkLease(context, request.lease);
}

function checkRangeOp(view: ReadView, op: RequestOp): void {
  if (op.request !== "request_range") return;
  const revision = Number((op.request_range as RangeRequest).revision);
  if (revision === 0) return;
  if (revision > view.store.revision) throw etcdErrors.futureRevision();
  if (revision < view.store.compactRevision) throw etcdErrors.compacted();
}

function runTxn(view: ReadView, request: TxnRequest, path: boolean[]): Plain {
  const ok = path.shift() as boolean;
  const responses: Plain[] = [];
  for (const op of ok ? request.success : request.failure) {
    switch (op.request) {
      case "request_range":
        responses.push({ response_range: applyRange(view, op.request_range as RangeRequest) });
        break;
      case "request_put":
        responses.push({
          response_put: applyPut(view.write as WriteTxn, op.request_put as PutRequest),
        });
        break;
      case "request_delete_range":
        responses.push({
          response_delete_range: applyDelete(
            view.write as WriteTxn,
            op.request_delete_range as DeleteRangeRequest,
          ),
        });
        break;
      case "request_txn":
        responses.push({
          response_txn: { ...runTxn(view, op.request_txn as TxnRequest, path), header: {} },
        });
        break;
      default:
        responses.push({});
    }
  }
  return { succeeded: ok, responses };
}
