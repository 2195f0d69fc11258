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
import { WatchCancelledError } from "../event/errors.js";

/**
 * True for a failure that no retry can mend: permission denied, bad credentials, an
 * unknown user or role, an invalid request, a closed client, a TLS handshake that failed
 * over a certificate ({@link isTlsCertificateFailure}). Everything else (member
 * unavailable, deadline exceeded, stream ended, leader lost, compaction, an open circuit
 * breaker, an expired auth token, a connection refused or reset, even during a TLS
 * handshake) is transient and retried.
 */
export function isPermanentFailure(error: unknown): boolean {
  return PERMANENT.some((kind) => isEtcdError(error, kind)) || isTlsCertificateFailure(error);
}

/** An error class of `etcd3`. */
type EtcdErrorClass = abstract new (...args: never[]) => Error;

const PERMANENT: readonly EtcdErrorClass[] = [
  EtcdPermissionDeniedError,
  EtcdAuthenticationFailedError,
  EtcdRoleNotGrantedError,
  EtcdUserNotFoundError,
  GRPCUnauthenticatedError,
  GRPCInvalidArgumentError,
  ClientClosedError,
];

/**
 * True when `error` is an instance of `kind`, an `etcd3` error class, or of a class of
 * the same name from another copy of `etcd3` (the user's client may come from a copy
 * other than the library's: a nested install, a bundle). etcd3's errors set no `name`
 * and no `code`, so the fallback compares class names along the prototype chain.
 */
export function isEtcdError(error: unknown, kind: EtcdErrorClass): boolean {
  if (error instanceof kind) return true;
  if (typeof error !== "object" || error === null) return false;
  for (
    let proto: unknown = Object.getPrototypeOf(error);
    proto !== null && proto !== Error.prototype && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    if ((proto as { constructor?: { name?: unknown } }).constructor?.name === kind.name) {
      return true;
    }
  }
  return false;
}

/**
 * What grpc-js reports, inside an `UNAVAILABLE` error's message ("No connection
 * established. Last error: …"), when a TLS handshake fails over a certificate. Measured
 * against etcd 3.4.23 (`--client-cert-auth`) with Node 20's OpenSSL 3:
 * - the member rejected our client certificate, or we sent none: etcd answers with a TLS
 *   alert, which OpenSSL names `sslv3 alert bad certificate` (alert 42); other servers
 *   and TLS 1.3 send `certificate required`, `unknown ca`, `certificate expired` …;
 * - we rejected the member's certificate: Node's verification error, `unable to verify
 *   the first certificate` (a CA we do not trust), `self-signed certificate …`,
 *   `certificate has expired`, or `Hostname/IP does not match certificate's altnames`.
 * Not matched, on purpose: `Client network socket disconnected before secure TLS
 * connection was established` and `ECONNRESET` (a member restarting, or a plain-HTTP
 * member; retried), `ECONNREFUSED`.
 */
const TLS_CERTIFICATE_FAILURE = new RegExp(
  [
    // A TLS alert from the server, as OpenSSL names it ("SSL alert number 42" etc.).
    String.raw`\b(?:sslv3|tlsv1|tlsv13) alert (?:bad certificate|certificate required|unknown ca|certificate expired|certificate revoked|certificate unknown|unsupported certificate|access denied)\b`,
    // Node's verification of the server's certificate (`tls.TLSSocket` errors).
    String.raw`\bunable to verify the first certificate\b`,
    String.raw`\bunable to get (?:local )?issuer certificate\b`,
    String.raw`\bself[- ]signed certificate\b`,
    String.raw`\bcertificate has expired\b`,
    String.raw`\bcertificate is not yet valid\b`,
    String.raw`\bcertificate signature failure\b`,
    String.raw`\bunsupported certificate purpose\b`,
    String.raw`\bHostname/IP does not match certificate's altnames\b`,
  ].join("|"),
);

/**
 * True when `error` is a TLS handshake that failed over a certificate: the member refused
 * ours (or we sent none), or we refused the member's. The same certificates fail the
 * same way on every retry, so this is permanent: the watch fails with a
 * `WatchFailedError` whose `cause` (etcd3's `GRPCUnavailableError`) names the problem.
 */
export function isTlsCertificateFailure(error: unknown): boolean {
  return error instanceof Error && TLS_CERTIFICATE_FAILURE.test(error.message);
}

/** The error a watch cancelled by the server stands for, from its `cancel_reason`. */
export function cancelReasonError(reason: string): Error {
  const message = reason === "" ? "the server cancelled the watch" : reason;
  if (/permission denied/i.test(message)) return new EtcdPermissionDeniedError(message);
  if (/invalid auth token/i.test(message)) return new EtcdInvalidAuthTokenError(message);
  if (/authentication failed|user name is empty/i.test(message)) {
    return new EtcdAuthenticationFailedError(message);
  }
  return new WatchCancelledError(message);
}

/**
 * Errors that etcd sends when it received and refused a request: the request was wrong
 * or not allowed, but etcd answered.
 */
const ANSWERS: readonly EtcdErrorClass[] = [
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
  return ANSWERS.some((answer) => isEtcdError(error, answer));
}
