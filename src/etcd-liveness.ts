/**
 * `EtcdLiveness`: whether etcd answers, as an event value.
 *
 * @module
 */

import type { IDisposable } from "cockatiel";
import type { Etcd3 } from "etcd3";
import { resolveLivenessOptions } from "./etcd/liveness-options.js";
import { probeOnce } from "./etcd/liveness-probe.js";
import { type EtcdPort, portOf, requireEtcdClient } from "./etcd/port.js";
import { observeRequestOutcomes } from "./etcd/request-outcomes.js";
import type { EtcdLivenessOptions } from "./etcd-types/liveness-options.js";
import type { EventValue, Watcher, WatchOptions } from "./event/contract.js";
import { LatestSlot } from "./event/latest-slot.js";

const identity = (alive: boolean): boolean => alive;

/**
 * True while etcd answers requests made through `client`, false while it does not.
 *
 * Guarantees: see `Watcher.get`. Specific to `EtcdLiveness`:
 * - **Probes.** The first probe starts in the constructor, the next ones `interval` ms
 *   (default 5000) after the start of the previous one. A probe is a linearizable
 *   count-only read of one fixed key (`/event-value/liveness-probe`, which need not
 *   exist) through `client`, given `timeout` ms (default `min(interval, 2000)`) to
 *   answer; a soft timeout, not a gRPC deadline. Its result is true when etcd answered,
 *   even with an error that says the request was wrong or not allowed (permission
 *   denied, bad credentials or token, invalid argument); false when it did not answer
 *   in time, or failed as unavailable, deadline exceeded, data loss, an open circuit
 *   breaker, an ended stream, no leader, a closed client.
 * - **Every probe result is a new revision** (1, 2, 3, …), equal to the previous one or
 *   not, so a waiting watcher wakes on each: a consumer that hears nothing for a few
 *   intervals knows the probing itself is stuck.
 * - **First call**: the first `get()` waits for the first probe's result (at most
 *   `timeout` ms after the constructor), then returns the newest result at once.
 * - **Other requests.** Where `client` exposes etcd3 1.x's connection-pool policies
 *   (checked at run time; otherwise only probes count): another request that etcd
 *   answers makes the value true at once if it was false (a new revision only on that
 *   change); another request or stream that fails without an answer brings the next
 *   probe forward, to at once or `interval / 10` ms after the previous probe's start,
 *   whichever is later. While a probe is in flight, other requests' outcomes are
 *   ignored: the probe reports within `timeout` ms.
 * - **Closing**: `close()` stops probing; a probe in flight is ignored. Every `get()`,
 *   pending or later, of any watcher rejects with `WatcherClosedError`, and a
 *   `for await` loop over a watcher ends normally, as after the watcher's own close.
 *   Idempotent.
 * - **Process exit**: while no watcher that has called `get()` is open, the liveness
 *   object keeps the process alive by nothing of its own; while one is, it keeps it
 *   alive (like an `EtcdValue` watcher): an idle etcd3 client holds nothing, so a
 *   `for await` loop over a watcher would otherwise see the process exit between two
 *   probes. Close the watchers or the liveness object. The caller owns `client`: close
 *   it after this.
 */
export class EtcdLiveness implements EventValue<boolean> {
  readonly #slot: LatestSlot<boolean>;
  readonly #port: EtcdPort;
  readonly #interval: number;
  readonly #timeout: number;
  /** The least time between the starts of two probes when a failure brings one forward. */
  readonly #gap: number;
  readonly #outcomes: IDisposable | undefined;
  #closed = false;
  #inFlight = false;
  /** `performance.now()` when the last probe started. */
  #lastStart = 0;
  /** The timer of the next probe, and when it fires (`performance.now()` time). */
  #next: NodeJS.Timeout | undefined;
  #nextAt = Number.POSITIVE_INFINITY;
  /** A ref'd timer that keeps the process alive while a watcher that called get() is open. */
  #keepAlive: NodeJS.Timeout | undefined;

  /**
   * Starts probing at once.
   *
   * @param client the `Etcd3` client to probe through (its members, credentials,
   *   circuit breakers). The caller owns it.
   * @param options.interval ms from the start of one probe to the start of the next;
   *   default 5000; a positive finite number.
   * @param options.timeout ms a probe waits for an answer; default `min(interval, 2000)`;
   *   a positive finite number, at most `interval`.
   * @throws TypeError for a client that is not an etcd3 client, or a bad option (the
   *   message names it).
   */
  constructor(client: Etcd3, options?: EtcdLivenessOptions) {
    requireEtcdClient(client, "an Etcd3 client", false);
    const { interval, timeout } = resolveLivenessOptions(options);
    this.#interval = interval;
    this.#timeout = timeout;
    this.#gap = interval / 10;
    this.#port = portOf(client);
    this.#slot = new LatestSlot<boolean>({
      ready: false,
      lifecycle: { start: () => this.#holdProcess(true), stop: () => this.#holdProcess(false) },
    });
    this.#outcomes = observeRequestOutcomes(client, {
      answered: () => this.#onAnswered(),
      unanswered: () => this.#onUnanswered(),
    });
    this.#probe();
  }

  /** A new watcher; cheap. Guarantees: see `Watcher.get` and the class; `options`: see `WatchOptions`. */
  watch(options?: WatchOptions): Watcher<boolean> {
    return this.#slot.watch(identity, options);
  }

  /**
   * Stops probing and stops listening to the client's other requests; the result of a
   * probe in flight is ignored. Every pending and later `get()` of every watcher rejects
   * with `WatcherClosedError`, and `for await` loops over them end normally.
   * Idempotent; never throws; does not close the client.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#next);
    this.#next = undefined;
    this.#holdProcess(false);
    this.#outcomes?.dispose();
    this.#slot.close();
  }

  #probe(): void {
    if (this.#closed) return;
    this.#next = undefined;
    this.#nextAt = Number.POSITIVE_INFINITY;
    this.#inFlight = true;
    this.#lastStart = performance.now();
    void probeOnce(this.#port, this.#timeout).then((alive) => {
      if (this.#closed) return;
      this.#inFlight = false;
      this.#publish(alive);
      this.#schedule(this.#lastStart + this.#interval);
    });
  }

  /** Runs the next probe at `at` (a `performance.now()` time), replacing any timer. */
  #schedule(at: number): void {
    clearTimeout(this.#next);
    this.#nextAt = at;
    this.#next = setTimeout(() => this.#probe(), Math.max(0, at - performance.now()));
    this.#next.unref();
  }

  #publish(alive: boolean): void {
    this.#slot.publish(alive, this.#slot.revision + 1);
  }

  /** Another request got an answer: etcd is alive now. */
  #onAnswered(): void {
    if (this.#closed || this.#inFlight || !this.#slot.ready) return;
    if (this.#slot.entry === false) this.#publish(true);
  }

  /** Another request failed without an answer: probe soon. */
  #onUnanswered(): void {
    if (this.#closed || this.#inFlight) return;
    const at = Math.max(performance.now(), this.#lastStart + this.#gap);
    if (at < this.#nextAt) this.#schedule(at);
  }

  #holdProcess(hold: boolean): void {
    if (hold && !this.#closed) {
      // One long ref'd timer instead of ref'ing the probe timers one by one.
      this.#keepAlive ??= setInterval(() => {}, 2_147_483_647);
    } else {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }
}
