/**
 * Wake-ups: the one piece every value uses to tell waiting watchers "something changed".
 *
 * @module
 */

/** A callback to run once at the next {@link Notifier.notify}. */
export type Wake = () => void;

/**
 * A set of one-shot wake-ups. `notify()` runs every wake-up registered before it and
 * forgets them; one registered during `notify()` waits for the next one. Memory is one
 * entry per waiting watcher, whatever the rate of notifications.
 */
export class Notifier {
  #waiting = new Set<Wake>();

  /** Registers `wake` for the next `notify()`. */
  add(wake: Wake): void {
    this.#waiting.add(wake);
  }

  /** Unregisters `wake` (a no-op when it already ran). */
  delete(wake: Wake): void {
    this.#waiting.delete(wake);
  }

  /** The number of wake-ups waiting. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Runs and forgets every wake-up registered so far. Never throws. */
  notify(): void {
    if (this.#waiting.size === 0) return;
    const waiting = this.#waiting;
    this.#waiting = new Set();
    for (const wake of waiting) wake();
  }
}

/**
 * Waits for the next `notify()` of `notifier`, or for `interrupt.wake` to be called (the
 * watcher's close), whichever comes first; rejects with `signal.reason` if the signal
 * aborts first. Whatever settles it, every registration (the wake-up and the abort
 * listener) is removed.
 */
export function waitForNotify(
  notifier: Notifier,
  signal: AbortSignal | undefined,
  interrupt: { wake: Wake | undefined },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      notifier.delete(wake);
      signal?.removeEventListener("abort", onAbort);
      if (interrupt.wake === wake) interrupt.wake = undefined;
    };
    const wake = (): void => {
      cleanup();
      resolve();
    };
    const onAbort = (): void => {
      cleanup();
      reject(signal?.reason);
    };
    notifier.add(wake);
    signal?.addEventListener("abort", onAbort, { once: true });
    interrupt.wake = wake;
  });
}
