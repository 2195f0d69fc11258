/**
 * The timer of one shared watch stream's stall detection: after `idleCheckMs` of silence
 * it asks the server for progress, and declares the stream stalled by the rule of
 * `stall-clock.ts` (no answer in time and no byte from the member meanwhile). One timer
 * per stream, whatever the number of watches on it. Durations on the monotonic clock
 * (`performance.now()`), so a step of the wall clock neither fires nor disables it.
 *
 * @module
 */

import { StallClock, type StallClockOptions } from "./stall-clock.js";

/** What a {@link StallCheck} does on its ticks. */
export interface StallActions {
  /** Sends a progress request on the stream. */
  requestProgress(): void;
  /** The stream is stalled: no answer in time. Called once; the check is then stopped. */
  stalled(): void;
  /**
   * Called on every tick before anything else; return true to stop the check (e.g. the
   * client was closed and the stream ended).
   */
  beforeTick?(): boolean;
}

/**
 * Watches a stream's activity. Call {@link StallCheck.activity} on every message
 * received; `stop()` when the stream ends. The timer is unref'd; ticks are at most
 * max(`idleCheckMs`, `answerTimeoutMs`) apart.
 */
export class StallCheck {
  readonly #clock: StallClock;
  readonly #actions: StallActions;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: StallClockOptions, actions: StallActions) {
    this.#clock = new StallClock(options, performance.now());
    this.#actions = actions;
    this.#tick();
  }

  /** A message arrived whole: the stream is alive. */
  activity(): void {
    this.#clock.heard(performance.now());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  readonly #tick = (): void => {
    if (this.#stopped) return;
    if (this.#actions.beforeTick?.() === true) {
      this.stop();
      return;
    }
    const verdict = this.#clock.check(performance.now());
    if (verdict.action === "stalled") {
      this.stop();
      this.#actions.stalled();
      return;
    }
    if (verdict.action === "ask") this.#actions.requestProgress();
    this.#timer = setTimeout(this.#tick, Math.max(verdict.nextCheckMs, 10));
    this.#timer.unref();
  };
}
