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
 * The spec of a watch created before its run's read is applied. Its responses are held
 * until {@link release} (the read is applied: they are then passed to the run in the
 * order they came, and later ones as they come), or dropped by {@link discard} (the read
 * failed, or the watch is not used: its watch is closed, whenever its create is
 * confirmed). Its end is passed to the run, which ignores the end of a watch it has not
 * adopted.
 */
export class EarlyWatch implements WatchSpec {
  readonly #run: Run;
  readonly range: Run["range"];
  readonly startRevision: number;
  /** Resolves once etcd confirmed the watch; rejects as `WatchHub.attach` does. */
  readonly attached: Promise<StreamWatch>;
  /** Responses held until {@link release}; undefined once released or discarded. */
  #held: [IWatchResponse, StreamWatch][] | undefined = [];
  #discarded = false;

  /**
   * Creates the watch with `attach` (given this spec) from `startRevision`, the revision
   * after the read's.
   */
  constructor(run: Run, startRevision: number, attach: (spec: WatchSpec) => Promise<StreamWatch>) {
    this.#run = run;
    this.range = run.range;
    this.startRevision = startRevision;
    this.attached = attach(this);
    this.attached.catch(() => {}); // awaited by the run's connect, or discarded
  }

  /** See `WatchSpec.onResponse`: held, passed on, or dropped. */
  onResponse(response: IWatchResponse, watch: StreamWatch): void {
    if (this.#discarded) return;
    if (this.#held !== undefined) this.#held.push([response, watch]);
    else this.#run.onResponse(response, watch);
  }

  /** See `WatchSpec.onEnd`: passed to the run. */
  onEnd(end: StreamEnd, watch: StreamWatch): void {
    this.#run.onEnd(end, watch);
  }

  /** The read is applied: passes the held responses to the run, and later ones as they come. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    for (const [response, watch] of held ?? []) {
      // Not after the watch's end (e.g. a held response showed another history): the
      // run resumes from the last response applied.
      if (this.#discarded || watch.endedWith !== undefined) return;
      this.#run.onResponse(response, watch);
    }
  }

  /** Drops the held responses and closes the watch (now, or once created). Idempotent. */
  discard(): void {
    if (this.#discarded) return;
    this.#discarded = true;
    this.#held = undefined;
    this.attached.then(
      (watch) => watch.close(),
      () => {},
    );
  }
}
