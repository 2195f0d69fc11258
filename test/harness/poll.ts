import { setTimeout as delay } from "node:timers/promises";
import { EtcdTimeoutError } from "./errors.js";

/** One observation of a polled condition: done with a value, or not yet and why. */
export type PollResult<T> =
  | { readonly done: true; readonly value: T }
  | { readonly done: false; readonly why: string };

/** Bounds of {@link pollUntil}. */
export interface PollOptions {
  /** What is awaited, for the timeout message, e.g. `"member m0 healthy"`. */
  readonly what: string;
  /** Give up after this many milliseconds (measured from the first probe). */
  readonly timeoutMs: number;
  /** Pause between probes in milliseconds; default 50. */
  readonly intervalMs?: number;
}

/**
 * Probes a condition until it holds.
 *
 * Resolves with the value of the first probe that returns `done: true`. Rejects with
 * {@link EtcdTimeoutError} (naming `what` and the last `why`) once `timeoutMs` has
 * passed, or with whatever a probe throws: a probe throws for conditions that can no
 * longer come true (a process exited) and returns `done: false` for "not yet".
 */
export async function pollUntil<T>(
  probe: () => Promise<PollResult<T>>,
  options: PollOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const result = await probe();
    if (result.done) return result.value;
    if (Date.now() >= deadline) {
      throw new EtcdTimeoutError(
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}; last: ${result.why}`,
      );
    }
    await delay(options.intervalMs ?? 50);
  }
}
