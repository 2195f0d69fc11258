/**
 * What a failed write request means for its outcome: certainly not applied (retry it),
 * maybe applied (never retry it), or refused for good.
 *
 * The rule is etcd's own client's "write at most once" (Go `clientv3/retry.go`): a write
 * is repeated only when it certainly never reached etcd's log. Measured with etcd 3.4 and
 * grpc-js 1.14 (RELIABILITY.md, traps 17 and 23):
 * - Never sent: the pool found no member to call (every circuit breaker open), the auth
 *   token could not be fetched, or grpc-js failed the call before it started ("No
 *   connection established", "Stream refused by server", "Channel closed before call
 *   started").
 * - Sent, but refused before it was proposed to raft: "etcdserver: no leader", "too many
 *   requests", "invalid auth token" (checked before proposing; the pool then fetches a
 *   new token).
 * - Maybe applied: everything else that is not an answer. "Connection dropped", a reset,
 *   a deadline or soft timeout, a cancelled call, and etcd's own "request timed out" and
 *   "leader changed": the proposal may commit after the error (trap 17).
 * - Permanent: an answer that the same request gets every time: permission denied, bad
 *   credentials, an unknown lease, a request too large (`INVALID_ARGUMENT`, or gRPC's
 *   `RESOURCE_EXHAUSTED` for a message over the server's limit), a full database
 *   (`mvcc: database space exceeded`, until an operator frees space), a closed client.
 *
 * @module
 */

import { isBrokenCircuitError } from "cockatiel";
import {
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  GRPCAlreadyExistsError,
  GRPCFailedPreconditionError,
  GRPCNotFoundError,
  GRPCNotImplementedError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
} from "etcd3";
import { isEtcdError, isPermanentFailure } from "./classify.js";

/**
 * - `unsent`: certainly not applied: wait with backoff and send it again.
 * - `ambiguous`: may have been applied, now or later: never send it again.
 * - `permanent`: refused, and would be refused again: give up.
 */
export type WriteFault = "unsent" | "ambiguous" | "permanent";

/** grpc-js messages of calls that failed before they started. */
const NOT_STARTED =
  /No connection established|Stream refused by server|Channel closed before call started/;

/** etcd messages of writes refused before they were proposed to raft. */
const NOT_PROPOSED = /etcdserver: (?:no leader|too many requests)/;

/**
 * Classifies the failure of one write request. `sent` is false when the request never
 * reached the gRPC layer (no member offered, no auth token): then nothing can have been
 * applied, whatever the error says, unless it is permanent.
 */
export function classifyWriteFailure(error: unknown, sent: boolean): WriteFault {
  if (isPermanentWriteFailure(error)) return "permanent";
  if (!sent || isBrokenCircuitError(error)) return "unsent";
  if (isEtcdError(error, EtcdInvalidAuthTokenError)) return "unsent";
  const message = error instanceof Error ? error.message : String(error);
  if (NOT_STARTED.test(message) || NOT_PROPOSED.test(message)) return "unsent";
  return "ambiguous";
}

/** Permanent for a write: see the module doc. */
function isPermanentWriteFailure(error: unknown): boolean {
  if (isEtcdError(error, GRPCResourceExhastedError)) {
    return !/too many requests/.test((error as Error).message); // too large, or no space: permanent
  }
  return (
    isPermanentFailure(error) ||
    isEtcdError(error, EtcdLeaseInvalidError) ||
    isEtcdError(error, GRPCNotFoundError) ||
    isEtcdError(error, GRPCAlreadyExistsError) ||
    isEtcdError(error, GRPCFailedPreconditionError) ||
    isEtcdError(error, GRPCOutOfRangeError) ||
    isEtcdError(error, GRPCNotImplementedError)
  );
}
