/**
 * `MemoryValue`: an event value held in process memory.
 *
 * @module
 */

import type { EventValue, Watcher, WatchOptions } from "./event/contract.js";
import { LatestSlot } from "./event/latest-slot.js";

const identity = <T>(value: T): T => value;

/**
 * A value in process memory, for in-process state and for testing code written against
 * {@link EventValue} (the same controller that watches an `EtcdValue` in production
 * watches a `MemoryValue<T | undefined>` in its unit tests).
 *
 * Guarantees: see `Watcher.get`. Specific to `MemoryValue`:
 * - Revisions number the values held: 1 for the first (the constructor's initial value,
 *   or else the first `set()`), plus 1 per `set()`.
 * - A watcher's first `get()` waits for the first `set()` when the value was never set.
 * - `get({ backlogOnly: true })` never waits: it returns the value if one newer than the
 *   last returned is held, else rejects with `BacklogDoneError`.
 * - Each watcher holds one slot: memory is O(1) per watcher however many sets happen.
 * - Values are handed to watchers as they are, not copied: do not mutate them.
 *
 * Any number of watchers may wait at once; `set()` may be called from anywhere,
 * including from a watcher's loop.
 */
export class MemoryValue<T> implements EventValue<T> {
  readonly #slot = new LatestSlot<T>();

  /** A value with nothing set yet: watchers wait for the first `set()`. */
  constructor();
  /** A value holding `initial` at revision 1 (`undefined` counts as a value). */
  constructor(initial: T);
  constructor(...initial: [] | [T]) {
    if (initial.length > 0) this.#slot.publish(initial[0] as T, 1);
  }

  /**
   * Replaces the value and wakes every watcher, even when `value` equals the current
   * one (each `set()` is a new revision). Never blocks, never throws; returns before any
   * watcher runs.
   */
  set(value: T): void {
    this.#slot.publish(value, this.#slot.revision + 1);
  }

  /**
   * Replaces the value with `fn(current)`, synchronously: `fn` runs once, with the value
   * held now (`undefined` when nothing was set). Returning `current` itself (`===`)
   * changes nothing: no new revision, no watcher woken. Anything else is a `set()`. A
   * throw from `fn` propagates and changes nothing. The `MemoryValue` counterpart of
   * `EtcdValue.update`, without conflicts (JavaScript runs `fn` to the end before any
   * other `set()`).
   */
  update(fn: (current: T | undefined) => T): void {
    if (typeof fn !== "function") {
      throw new TypeError(`Expected \`fn\` to be a function, got ${typeof fn}`);
    }
    const current = this.current;
    const next = fn(current);
    if (next === current) return;
    this.set(next);
  }

  /** The value held now; `undefined` when nothing was set (or `undefined` was). */
  get current(): T | undefined {
    return this.#slot.entry;
  }

  /** The revision of the value held now; 0 when nothing was set. */
  get revision(): number {
    return this.#slot.revision;
  }

  /** A new watcher; cheap. Guarantees: see `Watcher.get`; `options`: see `WatchOptions`. */
  watch(options?: WatchOptions): Watcher<T> {
    return this.#slot.watch<T>(identity, options);
  }
}
