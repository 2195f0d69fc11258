/**
 * A run's watch created while its paged read is still under way: from the revision after
 * the read's, known from the first page, so that the watch's creation overlaps the rest
 * of the read instead of following it.
 *
 * @module
 */

import type { IWatchResponse } from "etcd3";
import type { Run } from "./range-run.js";
import type { StreamEnd, StreamWatch, WatchSpec } from "./shared-stream.js";

/**
 * Events an early watch holds at most: past them it is dropped, and the run's watch is
 * created after the read as without one, etcd keeping the backlog (client memory stays
 * bounded by the range's keys, not by the rate of writes during a long read).
 */
export const MAX_HELD_EVENTS = 4096;

/**
 * The spec of a watch created before its run's read is applied. Its responses are held
 * until {@link release} (the watch is adopted: they are then passed to the run in the
 * order they came, and later ones as they come), or dropped by {@link discard} (the read
 * failed, or more than {@link MAX_HELD_EVENTS} events came: its watch is closed, whenever
 * its create is confirmed). Its end is passed to the run, which ignores the end of a
 * watch it has not adopted. A dropped early watch is reported on the diagnostics channel
 * neither as created nor as ended.
 */
export class EarlyWatch implements WatchSpec {
  readonly #run: Run;
  readonly range: Run["range"];
  readonly startRevision: number;
  /** Resolves once etcd confirmed the watch; rejects as `WatchHub.attach` does. */
  readonly attached: Promise<StreamWatch>;
  /** Responses held until {@link release}; undefined once released or dropped. */
  #held: [IWatchResponse, StreamWatch][] | undefined = [];
  #heldEvents = 0;
  #dropped = false;

  /**
   * Creates the watch with `attach` (given this spec) from `startRevision`, the revision
   * after the read's.
   */
  constructor(run: Run, startRevision: number, attach: (spec: WatchSpec) => Promise<StreamWatch>) {
    this.#run = run;
    this.range = run.range;
    this.startRevision = startRevision;
    this.attached = attach(this);
    this.attached.catch(() => {}); // awaited by the run's connect, or dropped
  }

  /** Whether the watch was dropped ({@link discard}, or too many events held). */
  get dropped(): boolean {
    return this.#dropped;
  }

  /** See `WatchSpec.onResponse`: held, passed on, or dropped. */
  onResponse(response: IWatchResponse, watch: StreamWatch): void {
    if (this.#dropped) return;
    if (this.#held === undefined) {
      this.#run.onResponse(response, watch);
      return;
    }
    this.#held.push([response, watch]);
    this.#heldEvents += response.events.length;
    if (this.#heldEvents > MAX_HELD_EVENTS) this.discard();
  }

  /** See `WatchSpec.onEnd`: passed to the run. */
  onEnd(end: StreamEnd, watch: StreamWatch): void {
    this.#run.onEnd(end, watch);
  }

  /** The watch is adopted: passes the held responses to the run, and later ones as they come. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    for (const [response, watch] of held ?? []) {
      // Not after the watch's end (e.g. a held response showed another history): the
      // run resumes from the last response applied.
      if (this.#dropped || watch.endedWith !== undefined) return;
      this.#run.onResponse(response, watch);
    }
  }

  /** Drops the held responses and closes the watch (now, or once created). Idempotent. */
  discard(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    this.#held = undefined;
    this.attached.then(
      (watch) => watch.close(),
      () => {},
    );
  }
}
