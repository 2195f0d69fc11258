/**
 * The at-most-once classification of a failed write request (`write-outcome.ts`): which
 * failures are certainly unsent (retried), maybe applied (never retried), or permanent.
 * Errors are built as etcd3 casts them from grpc-js (`castGrpcError`).
 */

import test from "ava";
import { BrokenCircuitError } from "cockatiel";
import { ClientClosedError, castGrpcError, EtcdLeaseInvalidError } from "etcd3";
import { classifyWriteFailure } from "../../src/etcd/write-outcome.js";
import { RequestTimeoutError } from "../../src/index.js";

/** A grpc-js error with `code` and `details`, cast by etcd3. */
function grpc(code: number, details: string): Error {
  const names: Record<number, string> = {
    1: "CANCELLED",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
  };
  return castGrpcError(
    Object.assign(new Error(`${code} ${names[code]}: ${details}`), { code, details }),
  );
}

const cases: [string, unknown, boolean, "unsent" | "ambiguous" | "permanent"][] = [
  [
    "no connection established",
    grpc(14, "No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379"),
    true,
    "unsent",
  ],
  ["stream refused by the server", grpc(14, "Stream refused by server"), true, "unsent"],
  ["etcd: no leader", grpc(14, "etcdserver: no leader"), true, "unsent"],
  ["etcd: too many requests", grpc(8, "etcdserver: too many requests"), true, "unsent"],
  ["invalid auth token", grpc(16, "etcdserver: invalid auth token"), true, "unsent"],
  ["every circuit breaker open", new BrokenCircuitError(), false, "unsent"],
  ["any failure before the request left", grpc(14, "Connection dropped"), false, "unsent"],
  ["connection dropped after sending", grpc(14, "Connection dropped"), true, "ambiguous"],
  ["etcd: request timed out", grpc(14, "etcdserver: request timed out"), true, "ambiguous"],
  ["etcd: leader changed", grpc(14, "etcdserver: leader changed"), true, "ambiguous"],
  ["deadline exceeded", grpc(4, "Deadline exceeded"), true, "ambiguous"],
  ["soft timeout", new RequestTimeoutError("etcd txn", 10_000), true, "ambiguous"],
  ["cancelled", grpc(1, "Cancelled on client"), true, "ambiguous"],
  ["internal", grpc(13, "Received RST_STREAM with code 2"), true, "ambiguous"],
  ["an abort reason", new DOMException("aborted", "AbortError"), true, "ambiguous"],
  ["permission denied", grpc(7, "etcdserver: permission denied"), true, "permanent"],
  ["permission denied, even unsent", grpc(7, "etcdserver: permission denied"), false, "permanent"],
  ["request too large", grpc(3, "etcdserver: request is too large"), true, "permanent"],
  [
    "message over the gRPC limit",
    grpc(8, "Received message larger than max (3145738 vs. 2097152)"),
    true,
    "permanent",
  ],
  [
    "database space exceeded",
    grpc(8, "etcdserver: mvcc: database space exceeded"),
    true,
    "permanent",
  ],
  ["lease not found", new EtcdLeaseInvalidError("123"), true, "permanent"],
  [
    "lease not found, from gRPC",
    grpc(5, "etcdserver: requested lease not found"),
    true,
    "permanent",
  ],
  ["closed client", new ClientClosedError("KV"), false, "permanent"],
];

for (const [what, error, sent, expected] of cases) {
  test(`classifyWriteFailure: ${what}${sent ? "" : " (not sent)"} is ${expected}`, (t) => {
    t.is(classifyWriteFailure(error, sent), expected, String(error));
  });
}
