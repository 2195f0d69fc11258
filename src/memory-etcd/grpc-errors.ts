/**
 * Errors as gRPC delivers them to etcd3: a plain `Error` whose message is
 * `${code} ${STATUS}: ${details}`, with `code` and `details` set (grpc-js
 * `callErrorFromStatus`). etcd3 casts such errors by message, then by code; the mock
 * path skips that cast, so {@link castForCaller} applies etcd3's own `castGrpcError`.
 *
 * @module
 */

import { castGrpcError } from "etcd3";

/** gRPC status codes used by etcd. */
export const Code = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
  RESOURCE_EXHAUSTED: 8,
} as const;

const statusNames: Record<number, string> = {
  1: "CANCELLED",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  11: "OUT_OF_RANGE",
  12: "UNIMPLEMENTED",
  14: "UNAVAILABLE",
};

/** An error shaped as grpc-js delivers a failed call's status. */
export interface GrpcStatusError extends Error {
  readonly code: number;
  readonly details: string;
}

/** A gRPC-shaped error with `code` and `details`. */
export function grpcError(code: number, details: string): GrpcStatusError {
  const error = new Error(`${code} ${statusNames[code] ?? "UNKNOWN"}: ${details}`);
  return Object.assign(error, { code, details });
}

/** True for errors made by {@link grpcError}. */
export function isGrpcError(error: unknown): error is GrpcStatusError {
  return error instanceof Error && typeof (error as Partial<GrpcStatusError>).code === "number";
}

/** The error etcd3 would hand its caller for `error` on the real path. */
export function castForCaller(error: unknown): unknown {
  return error instanceof Error && error.constructor === Error ? castGrpcError(error) : error;
}

/** etcd's server errors (rpctypes), by the condition that raises them. */
export const etcdErrors = {
  emptyKey: () => grpcError(Code.INVALID_ARGUMENT, "etcdserver: key is not provided"),
  keyNotFound: () => grpcError(Code.INVALID_ARGUMENT, "etcdserver: key not found"),
  valueProvided: () => grpcError(Code.INVALID_ARGUMENT, "etcdserver: value is provided"),
  leaseProvided: () => grpcError(Code.INVALID_ARGUMENT, "etcdserver: lease is provided"),
  tooManyOps: () =>
    grpcError(Code.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
  duplicateKey: () =>
    grpcError(Code.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
  requestTooLarge: () => grpcError(Code.INVALID_ARGUMENT, "etcdserver: request is too large"),
  compacted: () =>
    grpcError(Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
  futureRevision: () =>
    grpcError(Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
  leaseNotFound: () => grpcError(Code.NOT_FOUND, "etcdserver: requested lease not found"),
  leaseExists: () => grpcError(Code.FAILED_PRECONDITION, "etcdserver: lease already exists"),
  leaseTtlTooLarge: () => grpcError(Code.OUT_OF_RANGE, "etcdserver: too large lease TTL"),
  messageTooLarge: (size: number, max: number) =>
    grpcError(
      Code.RESOURCE_EXHAUSTED,
      `grpc: received message larger than max (${size} vs. ${max})`,
    ),
  unimplemented: (method: string) =>
    grpcError(Code.UNIMPLEMENTED, `unknown method ${method} (not served by MemoryEtcd)`),
  connectionDropped: () => grpcError(Code.UNAVAILABLE, "Connection dropped"),
  closed: () => grpcError(Code.UNAVAILABLE, "MemoryEtcd closed"),
  cancelledOnClient: () => grpcError(Code.CANCELLED, "Cancelled on client"),
  deadlineExceeded: () => grpcError(Code.DEADLINE_EXCEEDED, "Deadline exceeded"),
  receivedTooLarge: (size: number, max: number) =>
    grpcError(Code.RESOURCE_EXHAUSTED, `Received message larger than max (${size} vs ${max})`),
} as const;
