/**
 * Wake-ups: the one piece every value uses to tell waiting watchers "something changed".
 *
 * @module
 */

/** The method a {@link Notifier} calls on what waits: a symbol, so no public API shows it. */
export const WAKE: unique symbol = Symbol("wake");

/**
 * What waits for the next {@link Notifier.notify}: an object with a {@link WAKE} method
 * (a watcher registers itself, rather than a callback made for the purpose).
 */
export interface Wakeable {
  [WAKE](): void;
}

/**
 * A set of one-shot wake-ups. `notify()` wakes everything registered before it and
 * forgets it; one registered during `notify()` (a watcher that found nothing it wants
 * yet) waits for the next one. Memory is one entry per waiting watcher, whatever the
 * rate of notifications; a watcher that stops waiting (abort, close) deletes its entry.
 */
export class Notifier {
  /** Made when a watcher first waits: most values of a process have nobody waiting. */
  #waiting: Set<Wakeable> | undefined;

  /** Registers `waiter` for the next `notify()` (once, however often it is added). */
  add(waiter: Wakeable): void {
    this.#waiting ??= new Set();
    this.#waiting.add(waiter);
  }

  /** Unregisters `waiter`; a no-op when it is not registered. */
  delete(waiter: Wakeable): void {
    this.#waiting?.delete(waiter);
  }

  /** Wakes and forgets everything registered so far. Wake-ups must not throw. */
  notify(): void {
    const waiting = this.#waiting;
    if (waiting === undefined || waiting.size === 0) return;
    this.#waiting = undefined;
    for (const waiter of waiting) waiter[WAKE]();
  }
}
