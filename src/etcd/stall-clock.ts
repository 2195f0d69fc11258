/**
 * When is a watch stream stalled? Silence is not enough: on a slow link one large watch
 * message takes seconds to arrive whole, and the answer to a progress request queues
 * behind it (RELIABILITY.md, trap 22). A stream is stalled only when it is silent, a
 * progress request went unanswered, and no byte arrived from the member meanwhile (see
 * `transport-activity.ts`): a frozen or cut-off member sends nothing, a busy link does.
 * Where bytes cannot be seen, a stream cut for a stall is followed by one given twice the
 * time to answer ({@link StallPatience}), so a watch is never cut the same way twice in a
 * row.
 *
 * @module
 */

import type { ProgressCheck } from "./transport-activity.js";

/** Settings of a {@link StallClock}. */
export interface StallClockOptions {
  /** Silence, in ms, after which a progress request checks the stream is alive. */
  readonly idleCheckMs: number;
  /** Time, in ms, the member has to answer it, extended while bytes arrive. */
  readonly answerTimeoutMs: number;
  /** Bytes from the member (undefined: no evidence, time alone decides). */
  readonly progress: ProgressCheck | undefined;
}

/** What a stream should do now, and in how many ms to ask again. */
export interface StallVerdict {
  readonly action: "wait" | "ask" | "stalled";
  readonly nextCheckMs: number;
}

/**
 * The stall rule of one watch stream. Times are in ms on one monotonic clock (the stream
 * uses `performance.now()`: a wall clock stepped back would postpone every check).
 */
export class StallClock {
  readonly #options: StallClockOptions;
  #lastHeard: number;
  /** When the pending progress request must have been answered; undefined: none pending. */
  #deadline: number | undefined;

  constructor(options: StallClockOptions, now: number) {
    this.#options = options;
    this.#lastHeard = now;
  }

  /** A message (a response or a fragment of one) arrived whole. */
  heard(now: number): void {
    this.#lastHeard = now;
    this.#deadline = undefined;
  }

  /**
   * At `now`: `ask` (send a progress request now), `stalled` (no answer, no byte in
   * time), or `wait`; check again after `nextCheckMs`.
   */
  check(now: number): StallVerdict {
    const { idleCheckMs, answerTimeoutMs, progress } = this.#options;
    if (this.#deadline !== undefined) {
      if (now < this.#deadline) return { action: "wait", nextCheckMs: this.#deadline - now };
      if (progress?.() !== true) return { action: "stalled", nextCheckMs: 0 };
      this.#deadline = now + answerTimeoutMs; // busy, not frozen: give it more time
      return { action: "wait", nextCheckMs: answerTimeoutMs };
    }
    if (now - this.#lastHeard >= idleCheckMs) {
      progress?.(); // count only the bytes that arrive after the request
      this.#deadline = now + answerTimeoutMs;
      return { action: "ask", nextCheckMs: answerTimeoutMs };
    }
    return { action: "wait", nextCheckMs: this.#lastHeard + idleCheckMs - now };
  }
}

/** The most a stream's answer timeout grows after consecutive stalls. */
export const MAX_PATIENCE = 8;

/**
 * How much longer than the base timeout the next stream of one watch waits for answers:
 * doubled after each stall (up to {@link MAX_PATIENCE} times), back to 1 once a stream
 * hears anything after its create. Shared by the successive streams of one watch.
 */
export class StallPatience {
  #factor = 1;

  /** `baseMs` scaled by the current patience. */
  scale(baseMs: number): number {
    return baseMs * this.#factor;
  }

  /** A stream of the watch was declared stalled: be more patient with the next one. */
  stalled(): void {
    this.#factor = Math.min(MAX_PATIENCE, this.#factor * 2);
  }

  /** A stream heard from its member after the create: the link works. */
  heard(): void {
    this.#factor = 1;
  }
}
