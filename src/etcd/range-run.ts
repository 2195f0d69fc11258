/**
 * The state of one run of a range sync, from `start()` to `stop()` or a failure: what
 * the next connect must do first, and the run's watch. A request of a stopped run that
 * settles late writes only here, never into the next run.
 *
 * @module
 */

import type { IWatchResponse } from "etcd3";
import type { KeyRange } from "./key-range.js";
import type { StreamEnd, StreamWatch, WatchSpec } from "./shared-stream.js";

/** What a {@link Run} reports its watches' responses and ends to (its range sync). */
export interface RunOwner {
  /** A response of `watch`, a watch of the current `run`. */
  applyResponse(run: Run, response: IWatchResponse, watch: StreamWatch): void;
  /** `watch`, made for `run`, ended (a microtask after its end). */
  watchEnded(run: Run, watch: StreamWatch, end: StreamEnd): void;
}

/**
 * One run of a `RangeSync`; {@link Run.end} ends it (idempotent). It is also the spec of
 * the run's watches (one at a time) created after a read or without one: each is created
 * from {@link startRevision}, and reports its responses and its end through the run to
 * the sync, while the run is current. (A watch created during a paged read has a spec of
 * its own, `EarlyWatch`, which passes them on once the watch is adopted.) Its parts are
 * made only when needed, so that a run idle on a live watch holds little: ten thousand
 * values on a client hold ten thousand runs.
 */
export class Run implements WatchSpec {
  readonly #owner: RunOwner;
  readonly range: KeyRange;
  /** The revision the next watch with this run as its spec starts from; set before its create. */
  startRevision = 0;
  #abort: AbortController | undefined;
  #ended = false;
  /** The range must be read before the next watch. */
  needRead = true;
  /**
   * When the watch was compacted: the compaction's revision, the oldest state etcd still
   * holds. The resync reads there and watches from the next revision, so every change
   * still in etcd's history arrives as it was made; only what compaction discarded is
   * summed up as a difference. Undefined: read at the current revision.
   */
  readAt: number | undefined = undefined;
  /** The auth token expired: a unary request refreshes it before the next watch. */
  refreshAuth = false;
  /** A watch of this run was live once: later faults are `stale`, not `connecting`. */
  everLive = false;
  /** When the current watch went live (`performance.now()`). */
  liveSince = 0;
  /**
   * The run's watch once it went live, until its end is handled (also after `end()`
   * closed it, so that its end is still reported).
   */
  watch: StreamWatch | undefined = undefined;

  constructor(owner: RunOwner, range: KeyRange) {
    this.#owner = owner;
    this.range = range;
  }

  /**
   * Aborted when the run ends: cancels the retry delay and the page under way. Made on
   * first use; {@link idle} drops it.
   */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#ended) this.#abort.abort();
    }
    return this.#abort.signal;
  }

  /** False once the run has ended. */
  get current(): boolean {
    return !this.#ended;
  }

  /**
   * Nothing of the run is in flight (its watch is live, no retry delay or request
   * waits): drops its {@link signal}, which nothing listens to any more; the next use
   * makes a new one.
   */
  idle(): void {
    if (!this.#ended) this.#abort = undefined;
  }

  /** Ends the run: aborts {@link signal}, closes its watch. */
  end(): void {
    this.#ended = true;
    this.#abort?.abort();
    this.watch?.close();
  }

  /** See `WatchSpec.onResponse`: passed on while the run is current. */
  onResponse(response: IWatchResponse, watch: StreamWatch): void {
    if (!this.#ended) this.#owner.applyResponse(this, response, watch);
  }

  /** See `WatchSpec.onEnd`: passed on a microtask later, as an awaited end would be. */
  onEnd(end: StreamEnd, watch: StreamWatch): void {
    if (watch !== this.watch) return; // never went live: its end is its connect's failure
    queueMicrotask(() => this.#owner.watchEnded(this, watch, end));
  }
}
