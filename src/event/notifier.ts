/**
 * Wake-ups: the one piece every value uses to tell waiting watchers "something changed".
 *
 * @module
 */

/** A callback to run once at the next {@link Notifier.notify}. */
export type Wake = () => void;

/**
 * A list of one-shot wake-ups. `notify()` runs every wake-up registered before it and
 * forgets them; one registered during `notify()` (a watcher that found nothing it wants
 * yet) waits for the next one. Registering the same wake-up twice before a `notify()`
 * runs it twice: callers keep a flag. Memory is one entry per waiting watcher, whatever
 * the rate of notifications.
 */
export class Notifier {
  #waiting: Wake[] = [];

  /** Registers `wake` for the next `notify()`. */
  add(wake: Wake): void {
    this.#waiting.push(wake);
  }

  /** Runs and forgets every wake-up registered so far. Wake-ups must not throw. */
  notify(): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    for (const wake of waiting) wake();
  }
}
