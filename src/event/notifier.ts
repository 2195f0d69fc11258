/**
 * Wake-ups: the one piece every value uses to tell waiting watchers "something changed".
 *
 * @module
 */

/** A callback to run once at the next {@link Notifier.notify}. */
export type Wake = () => void;

/**
 * A set of one-shot wake-ups. `notify()` runs every wake-up registered before it and
 * forgets them; one registered during `notify()` (a watcher that found nothing it wants
 * yet) waits for the next one. Memory is one entry per waiting watcher, whatever the
 * rate of notifications; a watcher that stops waiting (abort, close) deletes its entry.
 */
export class Notifier {
  /** Made when a watcher first waits: most values of a process have nobody waiting. */
  #waiting: Set<Wake> | undefined;

  /** Registers `wake` for the next `notify()` (once, however often it is added). */
  add(wake: Wake): void {
    this.#waiting ??= new Set();
    this.#waiting.add(wake);
  }

  /** Unregisters `wake`; a no-op when it is not registered. */
  delete(wake: Wake): void {
    this.#waiting?.delete(wake);
  }

  /** Runs and forgets every wake-up registered so far. Wake-ups must not throw. */
  notify(): void {
    const waiting = this.#waiting;
    if (waiting === undefined || waiting.size === 0) return;
    this.#waiting = undefined;
    for (const wake of waiting) wake();
  }
}
