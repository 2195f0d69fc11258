/**
 * What every watch source shares: readiness, a permanent failure, closing, and the
 * count of watchers that use it (starting and stopping its producer).
 *
 * @module
 */

import type { WatchSource } from "./base-watcher.js";
import { Notifier } from "./notifier.js";

/** What a source does when its first watcher starts and its last one closes. */
export interface SourceLifecycle {
  /** The first watcher called `get()`: start producing. */
  start(): void;
  /** The last such watcher closed: release every resource. */
  stop(): void;
}

/**
 * The state a {@link WatchSource} reports to its watchers, and its users. Sources
 * (`LatestSlot`, the per-key range source) extend it with their data.
 */
export class SourceState extends Notifier implements WatchSource {
  readonly #lifecycle: SourceLifecycle | undefined;
  #ready: boolean;
  #failure: Error | undefined;
  #closed = false;
  #users = 0;

  /**
   * @param options.ready whether the initial state is already known (default `true`).
   * @param options.lifecycle started by the first watcher's `get()`, stopped when the
   *   last of those watchers closes (and started again by a later one).
   */
  constructor(options: { ready?: boolean; lifecycle?: SourceLifecycle } = {}) {
    super();
    this.#ready = options.ready ?? true;
    this.#lifecycle = options.lifecycle;
  }

  /** The source's notifier: the source itself (no object of its own per value). */
  get changes(): Notifier {
    return this;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** True once {@link SourceState.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The number of watchers that called `get()` and have not closed. */
  get users(): number {
    return this.#users;
  }

  /** The initial state is known: wakes waiting watchers (a no-op when already ready). */
  markReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.notify();
  }

  /**
   * Forgets readiness and failure, when the producer stopped and will read its state
   * again: watchers wait until the source is ready once more.
   */
  reset(): void {
    this.#ready = false;
    this.#failure = undefined;
  }

  /** Records a permanent failure; watchers throw it once they have taken what arrived. */
  fail(error: Error): void {
    this.#failure = error;
    this.notify();
  }

  /**
   * Closes the value: every pending and later get of every watcher rejects with a
   * `WatcherClosedError`, and `for await` loops over them end normally.
   */
  close(): void {
    this.#closed = true;
    this.notify();
  }

  acquire(): void {
    this.#users += 1;
    if (this.#users === 1) this.#lifecycle?.start();
  }

  release(): void {
    this.#users -= 1;
    if (this.#users === 0) this.#lifecycle?.stop();
  }
}
