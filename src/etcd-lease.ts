/**
 * `EtcdLease`: an etcd lease kept alive in the background, whose state is an event value.
 *
 * @module
 */

import { ClientClosedError, type Etcd3, EtcdLeaseInvalidError, type Namespace } from "etcd3";
import { KeepaliveLoop } from "./coordination/keepalive.js";
import {
  keepaliveIntervalMs,
  LeaseClock,
  type MonotonicClock,
  monotonicNow,
} from "./coordination/lease-clock.js";
import { retryTransient } from "./coordination/retry.js";
import { requireEtcdClient } from "./etcd/port.js";
import type { EventValue, Watcher, WatchOptions } from "./event/contract.js";
import { LostError, type LostReason } from "./event/errors.js";
import { LatestSlot } from "./event/latest-slot.js";

/**
 * The state of an {@link EtcdLease}:
 * - `alive`: the last keepalive was acknowledged in time;
 * - `suspect`: a keepalive is overdue (unanswered when the next was due, or no stream
 *   could be opened): the lease may still live;
 * - `lost`: etcd said the lease is gone, or it may have expired (the local deadline
 *   passed); final;
 * - `revoked`: `revoke()` was called; final.
 */
export type LeaseState = "alive" | "suspect" | "lost" | "revoked";

/** Options of {@link EtcdLease.grant}. */
export interface EtcdLeaseOptions {
  /**
   * Time to live in whole seconds, at least 1; default 10. etcd may grant more (its
   * minimum is 2 s with default timing): {@link EtcdLease.ttl} is what it granted.
   */
  ttl?: number;
  /** Aborts the grant (retried through transient faults until then): rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** The default TTL of leases, locks, elections and temp keys, in seconds. */
export const DEFAULT_TTL = 10;

/** Test seam: the monotonic clock. Not public API. */
export const LEASE_CLOCK = Symbol("event-value lease clock");

/** The lease's state slot: every look at it first checks the local deadline. */
class CheckedSlot extends LatestSlot<LeaseState> {
  readonly #check: () => void;

  constructor(check: () => void) {
    super();
    this.#check = check;
  }

  override get revision(): number {
    this.#check();
    return super.revision;
  }
}

/**
 * An etcd lease, kept alive with a keepalive every third of its TTL on the client it was
 * granted on, until it is lost or revoked. A lease is never revived: `lost` and
 * `revoked` are final, and a new identity needs a new lease.
 *
 * When is it `lost`: when etcd answers a keepalive with TTL 0 (the lease expired, or
 * someone revoked it), or when the local deadline passes: the TTL counted from the
 * **send** time of the last acknowledged keepalive, on the monotonic clock, minus a
 * margin (10 % of the TTL, at least 1 s, at most a third of the TTL). So `lost` comes no
 * later than etcd can expire the lease, even after the process was paused (a long
 * synchronous task, a stopped VM): every look at the lease (`signal`, `watch()`'s
 * `get()`, the objects built on it) checks the deadline first, so code that wakes after
 * a pause finds the lease lost before it can act on it. A lease found lost is then
 * revoked in the background, so that etcd drops its keys as soon as it can.
 *
 * Watching: `watch()` is an event value of the state (guarantees: see `Watcher.get`);
 * revisions count the states, 1 for the first (`alive`). It starts no I/O.
 *
 * Closing: `revoke()` (or `await using`) stops the keepalives and revokes the lease in
 * etcd, which deletes its keys. Like an open socket, a live lease keeps the process
 * alive (its keepalive timer) until it is revoked or lost.
 */
export class EtcdLease implements EventValue<LeaseState>, AsyncDisposable {
  /** etcd's lease ID, in decimal (IDs exceed 2^53). */
  readonly id: string;
  readonly #client: Etcd3 | Namespace;
  readonly #clock: LeaseClock;
  readonly #now: MonotonicClock;
  readonly #controller = new AbortController();
  readonly #slot = new CheckedSlot(() => this.#checkDeadline());
  readonly #keepalive: KeepaliveLoop;
  #states = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** When the last keepalive answer (or the grant) arrived, monotonic ms. */
  #lastAnswer: number;
  #revoking: Promise<void> | undefined;

  private constructor(
    client: Etcd3 | Namespace,
    id: string,
    sentAt: number,
    ttl: number,
    now: MonotonicClock,
  ) {
    this.#client = client;
    this.id = id;
    this.#now = now;
    this.#clock = new LeaseClock(sentAt, ttl, now);
    this.#lastAnswer = now();
    this.#publish("alive");
    this.#keepalive = new KeepaliveLoop(
      client,
      id,
      keepaliveIntervalMs(ttl),
      {
        acknowledged: (at, granted) => this.#acknowledged(at, granted),
        gone: () =>
          this.#end("expired", `etcd lease ${id} is gone: it expired or was revoked elsewhere`),
        overdue: () => {
          if (this.#checkDeadline() === "alive") this.#publish("suspect");
        },
      },
      now,
    );
    this.#keepalive.start();
    this.#armDeadline();
  }

  /**
   * Grants a lease and starts keeping it alive.
   *
   * Transient faults are retried (first retry after 0–50 ms, doubling to at most
   * 1000 ms, full jitter) until `signal` aborts; a lease granted to an attempt given up
   * on (its answer came after the soft timeout or the abort) is revoked when that
   * answer comes.
   *
   * @throws TypeError for a client that is not an etcd3 client, or a `ttl` that is not
   *   an integer of at least 1.
   * @throws what etcd answers for a permanent failure (permission denied, closed client).
   */
  static async grant(
    client: Etcd3 | Namespace,
    options: EtcdLeaseOptions = {},
  ): Promise<EtcdLease> {
    requireEtcdClient(client, "an Etcd3 client or a Namespace of one", false);
    const ttl = requireTtl(options.ttl);
    const now: MonotonicClock =
      (options as { [LEASE_CLOCK]?: MonotonicClock })[LEASE_CLOCK] ?? monotonicNow;
    let sentAt = 0;
    const attempts: Promise<{ ID: string }>[] = [];
    let granted: string | undefined;
    try {
      const response = await retryTransient(
        () => {
          sentAt = now();
          const attempt = client.leaseClient.leaseGrant({ TTL: ttl });
          attempts.push(attempt);
          return attempt;
        },
        { signal: options.signal, what: "etcd lease grant" },
      );
      granted = String(response.ID);
      return new EtcdLease(client, response.ID, sentAt, Number(response.TTL), now);
    } finally {
      // An attempt given up on (soft timeout, abort) may still be granted: nobody would
      // keep that lease alive, so revoke it rather than leave it to expire.
      for (const attempt of attempts) {
        attempt.then(
          ({ ID }) => {
            if (String(ID) !== granted) client.leaseClient.leaseRevoke({ ID }).catch(() => {});
          },
          () => {},
        );
      }
    }
  }

  /** The TTL etcd granted (or last confirmed in a keepalive answer), in seconds. */
  get ttl(): number {
    return this.#clock.ttl;
  }

  /** The lease ID in hexadecimal, as etcd's lock and election keys name it. */
  get hexId(): string {
    return BigInt(this.id).toString(16);
  }

  /**
   * Aborts when the lease is lost or revoked; `reason` is a {@link LostError}
   * (`"expired"` or `"revoked"`). Reading it checks the local deadline first, so after a
   * pause `lease.signal.aborted` is already true; a signal kept in a variable is updated
   * by the lease's timers, once the event loop runs them.
   */
  get signal(): AbortSignal {
    this.#checkDeadline();
    return this.#controller.signal;
  }

  /**
   * A watcher of the lease's state, which starts at `alive`. Guarantees: see
   * `Watcher.get`; each `get()` checks the local deadline first.
   */
  watch(options?: WatchOptions): Watcher<LeaseState> {
    return this.#slot.watch((state) => state, options);
  }

  /**
   * Stops the keepalives and revokes the lease; etcd deletes its keys in one revision.
   * `signal` aborts at once with `LostError("revoked")` (unless the lease was lost
   * before: it stays `lost`). Idempotent: every call returns the same promise.
   *
   * Transient faults are retried until etcd confirms, or until the lease has certainly
   * expired by itself (its TTL plus 2 s after the last keepalive answer). A lease etcd
   * no longer knows counts as revoked. Rejects only with a permanent failure other than
   * a closed client (permission denied).
   */
  revoke(): Promise<void> {
    this.#end("revoked", `etcd lease ${this.id} was revoked by this process`);
    return this.#revokeInEtcd();
  }

  /** Same as {@link EtcdLease.revoke}, for `await using lease = await EtcdLease.grant(…)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.revoke();
  }

  /** The current state, after checking the deadline. */
  get state(): LeaseState {
    return this.#checkDeadline();
  }

  #acknowledged(sentAt: number, ttl: number): void {
    this.#lastAnswer = this.#now();
    if (this.#controller.signal.aborted) return;
    this.#clock.acknowledged(sentAt, ttl);
    if (this.#checkDeadline() !== "lost") {
      this.#keepalive.intervalMs = keepaliveIntervalMs(ttl);
      if (this.#slot.entry === "suspect") this.#publish("alive");
      this.#armDeadline();
    }
  }

  /** Declares the lease lost once the local deadline has passed; returns the state. */
  #checkDeadline(): LeaseState {
    if (!this.#controller.signal.aborted && this.#clock.expired()) {
      this.#end(
        "expired",
        `etcd lease ${this.id} may have expired: no keepalive was acknowledged within its TTL of ${this.#clock.ttl} s (less the safety margin)`,
      );
    }
    return this.#slot.entry as LeaseState;
  }

  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#checkDeadline(),
      Math.max(0, this.#clock.remaining()),
    );
    this.#deadlineTimer.unref();
  }

  /** Ends the lease locally (first call wins): final state, signal aborted, keepalives stopped. */
  #end(reason: LostReason, message: string): void {
    if (this.#controller.signal.aborted) return;
    clearTimeout(this.#deadlineTimer);
    this.#keepalive.stop();
    this.#publish(reason === "revoked" ? "revoked" : "lost");
    this.#controller.abort(new LostError(reason, message));
    // Lost locally: etcd may still hold the lease (the deadline is pessimistic). Revoke
    // it, so that its keys go now and etcd agrees with what the holders were told.
    if (reason !== "revoked") this.#revokeInEtcd().catch(() => {});
  }

  #revokeInEtcd(): Promise<void> {
    this.#revoking ??= (async () => {
      const certainlyExpired = (): boolean =>
        this.#now() > this.#lastAnswer + this.#clock.ttl * 1000 + 2000;
      const revoke = async (): Promise<void> => {
        try {
          await this.#client.leaseClient.leaseRevoke({ ID: this.id });
        } catch (error) {
          // etcd no longer knows the lease: it expired or was revoked, which is the goal.
          if (!(error instanceof EtcdLeaseInvalidError)) throw error;
        }
      };
      try {
        await retryTransient(revoke, {
          giveUp: certainlyExpired,
          timeoutMs: 2000,
          what: "etcd lease revoke",
        });
      } catch (error) {
        if (certainlyExpired() || error instanceof ClientClosedError) return;
        throw error;
      }
    })();
    return this.#revoking;
  }

  #publish(state: LeaseState): void {
    this.#states += 1;
    this.#slot.publish(state, this.#states);
  }
}

/** Validates a TTL option (whole seconds, at least 1); undefined: the default. */
export function requireTtl(ttl: unknown): number {
  if (ttl === undefined) return DEFAULT_TTL;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1) {
    throw new TypeError(
      `Expected \`ttl\` to be a whole number of seconds, at least 1, got ${String(ttl)}`,
    );
  }
  return ttl;
}
