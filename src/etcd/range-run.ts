/**
 * The state of one run of a range sync, from `start()` to `stop()` or a failure: what
 * the next connect must do first, and the run's watch. A request of a stopped run that
 * settles late writes only here, never into the next run.
 *
 * @module
 */

import type { StreamWatch } from "./shared-stream.js";

/** One run of a `RangeSync`; {@link Run.end} ends it (idempotent). */
export class Run {
  readonly #abort = new AbortController();
  /** The range must be read before the next watch. */
  needRead = true;
  /**
   * When the watch was compacted: the compaction's revision, the oldest state etcd still
   * holds. The resync reads there and watches from the next revision, so every change
   * still in etcd's history arrives as it was made; only what compaction discarded is
   * summed up as a difference. Undefined: read at the current revision.
   */
  readAt: number | undefined;
  /** The auth token expired: a unary request refreshes it before the next watch. */
  refreshAuth = false;
  /** A watch of this run was live once: later faults are `stale`, not `connecting`. */
  everLive = false;
  /** The run's watch while one is attached. */
  watch: StreamWatch | undefined;

  /** Aborted when the run ends: cancels the retry delay and the page under way. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** False once the run has ended. */
  get current(): boolean {
    return !this.#abort.signal.aborted;
  }

  /** Ends the run: aborts {@link signal}, closes its watch. */
  end(): void {
    this.#abort.abort();
    this.watch?.close();
    this.watch = undefined;
  }
}
