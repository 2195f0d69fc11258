/**
 * Which etcd failures retrying can mend.
 *
 * @module
 */

import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  EtcdRoleNotGrantedError,
  EtcdUserNotFoundError,
  GRPCInvalidArgumentError,
  GRPCUnauthenticatedError,
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
