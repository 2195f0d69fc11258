/**
 * The latest-wins slot: shared state holding only the newest entry and its revision.
 * Watchers keep a cursor (the revision they last took) and take the entry when it is
 * newer. Memory is O(1) per slot and per watcher, however many entries are published.
 *
 * @module
 */

import { BaseWatcher, type Taken } from "./base-watcher.js";
import type { Watcher, WatchOptions } from "./contract.js";
import { SourceState } from "./source-state.js";

/**
 * Holds the newest entry of type `E` with its revision, and wakes watchers when it
 * changes. Not a public API: values build on it.
 */
export class LatestSlot<E> extends SourceState {
  #entry: E | undefined;
  #revision = 0;

  /** Revision of the current entry; 0 when there is none. */
  get revision(): number {
    return this.#revision;
  }

  /** The current entry, if any. */
  get entry(): E | undefined {
    return this.#entry;
  }

  /**
   * Replaces the entry, marks the slot ready and wakes every waiting watcher, even when
   * the entry is equal to the previous one. Watchers take it when `revision` is higher
   * than the last revision they took; republishing at the same revision only marks the
   * slot ready. `reset()` keeps the entry, for revision ordering.
   */
  publish(entry: E, revision: number): void {
    this.#entry = entry;
    this.#revision = revision;
    if (this.ready) this.notify();
    else this.markReady();
  }

  /**
   * A new watcher whose values are `read(entry, revision)` (or `read.read(…)`: an object
   * the value keeps anyway, rather than a function made per watcher); `options` as for
   * `watch()`.
   */
  watch<T>(read: SlotReader<E, T>, options?: WatchOptions): Watcher<T> {
    return new SlotWatcher(this, read, options);
  }
}

/** How a slot's watchers turn the entry into their values: a function, or an object. */
export type SlotReader<E, T> =
  | ((entry: E, revision: number) => T)
  | { read(entry: E, revision: number): T };

class SlotWatcher<E, T> extends BaseWatcher<T> {
  readonly #slot: LatestSlot<E>;
  readonly #read: SlotReader<E, T>;
  #cursor = 0;

  constructor(slot: LatestSlot<E>, read: SlotReader<E, T>, options: WatchOptions | undefined) {
    super(slot, options);
    this.#slot = slot;
    this.#read = read;
  }

  protected take(): Taken<T> | undefined {
    const revision = this.#slot.revision;
    if (revision <= this.#cursor) return undefined;
    this.#cursor = revision;
    const entry = this.#slot.entry as E;
    const read = this.#read;
    const value = typeof read === "function" ? read(entry, revision) : read.read(entry, revision);
    return { value, revision };
  }
}
