/**
 * Every error the library throws on purpose. All are `instanceof EventValueError`, have
 * their class name as `name`, and carry the underlying failure as `cause` where there is
 * one.
 *
 * @module
 */

import type { StandardSchemaV1 } from "@standard-schema/spec";

/** Base class of every error thrown by event-value. */
export class EventValueError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `get()` was called on, or was pending on, a watcher that has been closed. */
export class WatcherClosedError extends EventValueError {
  constructor() {
    super("The watcher is closed");
  }
}

/** `get()` was called while another `get()` of the same watcher was still pending. */
export class ConcurrentGetError extends EventValueError {
  constructor() {
    super("Another get() of this watcher is still pending; a watcher serves one consumer");
  }
}

/** `get({ backlogOnly: true })` found nothing more that has already arrived. */
export class BacklogDoneError extends EventValueError {
  constructor() {
    super("The backlog is exhausted: nothing more has arrived without waiting");
  }
}

/** Options of {@link DecodeError}. */
export interface DecodeErrorOptions extends ErrorOptions {
  /** The key whose value failed to decode. */
  key?: string | undefined;
  /** The revision of the update that failed to decode. */
  revision?: number | undefined;
  /** The validation issues, when a schema rejected the value. */
  issues?: readonly StandardSchemaV1.Issue[] | undefined;
}

/**
 * A decoder rejected an update. The update is consumed; the watcher goes on with the
 * next one.
 *
 * `key` and `revision` are filled in by the value that called the decoder. A decoder
 * called directly, or through `decoders.safe`, cannot know the revision: there
 * `revision` is `undefined`.
 */
export class DecodeError extends EventValueError {
  /** The key whose value failed to decode, when known. */
  key: string | undefined;
  /** The revision of the update that failed to decode, when known. */
  revision: number | undefined;
  /** Standard Schema issues, when a schema rejected the value (`decoders.schema`). */
  readonly issues: readonly StandardSchemaV1.Issue[] | undefined;

  constructor(message: string, options: DecodeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.key = options.key;
    this.revision = options.revision;
    this.issues = options.issues;
  }
}

/**
 * A watch failed in a way retrying cannot mend: permission denied, bad credentials, a
 * closed client. `cause` holds the underlying etcd error. Every watcher of the value
 * rejects with it once it has returned what had already arrived.
 */
export class WatchFailedError extends EventValueError {
  /** What was being watched, e.g. `key "/config/app"`. */
  readonly target: string;

  constructor(target: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Watching ${target} failed permanently: ${reason}`, { cause });
    this.target = target;
  }
}

/** Options of {@link EncodeError}. */
export interface EncodeErrorOptions extends ErrorOptions {
  /** The key the value was to be written to. */
  key?: string | undefined;
  /** The validation issues, when a schema rejected the value. */
  issues?: readonly StandardSchemaV1.Issue[] | undefined;
}

/**
 * An encoder refused a value, or a schema rejected it, before anything was sent: the
 * write did not happen. `cause` is what the encoder threw.
 */
export class EncodeError extends EventValueError {
  /** The key the value was to be written to, when known. */
  key: string | undefined;
  /** Standard Schema issues, when a schema rejected the value (`codecs.schema`). */
  readonly issues: readonly StandardSchemaV1.Issue[] | undefined;

  constructor(message: string, options: EncodeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.key = options.key;
    this.issues = options.issues;
  }
}

/**
 * A write may or may not have been applied: the request was sent, then the connection
 * failed or no answer came in time (or etcd answered "request timed out" or "leader
 * changed", after which the write can still commit). The library does not retry it.
 * To learn the outcome, read the key and compare its mod revision (never its value)
 * with what you know. `cause` is the transport or etcd error.
 */
export class AmbiguousWriteError extends EventValueError {
  /** The key that was being written. */
  readonly key: string;

  constructor(key: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`The write to key ${JSON.stringify(key)} may or may not have been applied: ${reason}`, {
      cause,
    });
    this.key = key;
  }
}

/**
 * A write failed in a way retrying cannot mend: permission denied, a lost or revoked
 * lease, a value over etcd's request size limit. Nothing was written. `cause` is the
 * etcd error.
 */
export class WriteFailedError extends EventValueError {
  /** The key that was being written. */
  readonly key: string;

  constructor(key: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Writing key ${JSON.stringify(key)} failed permanently: ${reason}`, { cause });
    this.key = key;
  }
}

/** Why a lease, a lock or a leadership ended: see {@link LostError}. */
export type LostReason = "expired" | "revoked" | "deleted" | "released";

/**
 * The abort reason of a lease's, a lock handle's or a leadership's `signal`.
 * `reason`: `"expired"` (the lease is, or may already be, gone), `"revoked"`,
 * `"deleted"` (someone else deleted the key) or `"released"` (released or resigned by
 * this process).
 */
export class LostError extends EventValueError {
  /** Why it ended. */
  readonly reason: LostReason;

  constructor(reason: LostReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/*
 * Transient faults of an etcd watch. They are never thrown to a watcher: the watch
 * retries, and the last one is shown as `WatchStatus.error` while the status is
 * `connecting` or `stale`, so a controller can tell them apart (by class or `name`).
 * Beside them, `status().error` may hold one of etcd3's own errors (e.g.
 * `GRPCUnavailableError`, `GRPCDeadlineExceededError`, `EtcdInvalidAuthTokenError`,
 * cockatiel's `BrokenCircuitError`) or a `WatchCancelledError`.
 */

/**
 * A request to etcd (a read, a watch create, a progress request on a silent watch
 * stream) did not answer within its time limit: the member is frozen, partitioned or
 * overloaded. Transient: retried, and a watch moves to another member.
 */
export class RequestTimeoutError extends EventValueError {
  /** The time limit, in ms. */
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number) {
    super(`${what} did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A watch's resume revision was compacted: etcd no longer holds the changes from it.
 * Transient: the range is read again at `compactRevision` and the difference reported.
 */
export class CompactedError extends EventValueError {
  /** The compaction's revision: the oldest state etcd still holds. */
  readonly compactRevision: number;

  constructor(compactRevision: number) {
    super(`The watch start revision was compacted (compact revision ${compactRevision})`);
    this.compactRevision = compactRevision;
  }
}

/**
 * etcd's history is not the one already applied: its data was wiped or restored from a
 * backup (a new cluster id, or a store revision below the one applied). Transient: the
 * range is read again and the difference reported.
 */
export class HistoryLostError extends EventValueError {
  constructor(what: string) {
    super(`etcd's history was replaced (${what}), data wiped or restored; reading again`);
  }
}

/**
 * The member a watch landed on is behind the revision already applied (restarting, just
 * thawed, or cut off from the leader) while the cluster is not. Transient: the member is
 * avoided and the watch created again elsewhere, from the same resume revision.
 */
export class MemberBehindError extends EventValueError {
  /** The member, as `host:port`; undefined when the client does not tell. */
  readonly member: string | undefined;

  constructor(member: string | undefined, revision: number, applied: number) {
    super(
      `etcd member ${member ?? "(unknown)"} is at revision ${revision}, behind the ${applied} already applied; watching from another member`,
    );
    this.member = member;
  }
}

/**
 * etcd cancelled a watch for a reason the library does not know (its `cancel_reason`
 * is the message). Transient: the watch is created again. Known reasons become etcd3's
 * errors instead (permission denied: `EtcdPermissionDeniedError`, permanent).
 */
export class WatchCancelledError extends EventValueError {
  constructor(reason: string) {
    super(`Watch cancelled by etcd: ${reason}`);
  }
}
