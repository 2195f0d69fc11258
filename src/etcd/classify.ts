/**
 * Classifying etcd failures: which ones retrying can mend, and which ones are an answer
 * from etcd (so etcd is alive) rather than a missing answer.
 *
 * @module
 */

import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdLockFailedError,
  EtcdPermissionDeniedError,
  EtcdRoleExistsError,
  EtcdRoleNotFoundError,
  EtcdRoleNotGrantedError,
  EtcdUserExistsError,
  EtcdUserNotFoundError,
  GRPCAlreadyExistsError,
  GRPCFailedPreconditionError,
  GRPCInvalidArgumentError,
  GRPCNotFoundError,
  GRPCNotImplementedError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  GRPCUnauthenticatedError,
  NotCampaigningError,
  STMConflictError,
} from "etcd3";

/**
 * True for a failure that no retry can mend: permission denied, bad credentials, an
 * unknown user or role, an invalid request, a closed client. Everything else (member
 * unavailable, deadline exceeded, stream ended, leader lost, compaction, an open circuit
 * breaker, an expired auth token) is transient and retried.
 */
export function isPermanentFailure(error: unknown): boolean {
  return (
    error instanceof EtcdPermissionDeniedError ||
    error instanceof EtcdAuthenticationFailedError ||
    error instanceof EtcdRoleNotGrantedError ||
    error instanceof EtcdUserNotFoundError ||
    error instanceof GRPCUnauthenticatedError ||
    error instanceof GRPCInvalidArgumentError ||
    error instanceof ClientClosedError
  );
}

/** The error a watch cancelled by the server stands for, from its `cancel_reason`. */
export function cancelReasonError(reason: string): Error {
  const message = reason === "" ? "the server cancelled the watch" : reason;
  if (/permission denied/i.test(message)) return new EtcdPermissionDeniedError(message);
  if (/invalid auth token/i.test(message)) return new EtcdInvalidAuthTokenError(message);
  if (/authentication failed|user name is empty/i.test(message)) {
    return new EtcdAuthenticationFailedError(message);
  }
  return new Error(`Watch cancelled by etcd: ${message}`);
}

/**
 * Errors that etcd sends when it received and refused a request: the request was wrong
 * or not allowed, but etcd answered.
 */
const ANSWERS: readonly (abstract new (...args: never[]) => Error)[] = [
  EtcdPermissionDeniedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdRoleNotGrantedError,
  EtcdRoleNotFoundError,
  EtcdRoleExistsError,
  EtcdUserNotFoundError,
  EtcdUserExistsError,
  EtcdLeaseInvalidError,
  EtcdLockFailedError,
  NotCampaigningError,
  STMConflictError,
  GRPCUnauthenticatedError,
  GRPCInvalidArgumentError,
  GRPCNotFoundError,
  GRPCAlreadyExistsError,
  GRPCFailedPreconditionError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  GRPCNotImplementedError,
];

/**
 * True when `error` is an answer from etcd: a refused or invalid request (permission
 * denied, bad credentials or token, an invalid argument, a compacted revision, a message
 * too large, a failed precondition): etcd is alive, the request was wrong.
 *
 * False when etcd did not answer usefully: unavailable, deadline exceeded, a soft timeout
 * (`RequestTimeoutError`), data loss, an open circuit breaker (cockatiel's
 * `BrokenCircuitError`), a stream that ended, a cancelled call, an internal, unknown or
 * aborted gRPC error, a generic `EtcdError` (no leader, leader changed, request timed
 * out), a closed client, and anything that is not one of etcd3's answers.
 */
export function etcdAnswered(error: unknown): boolean {
  return ANSWERS.some((answer) => error instanceof answer);
}
