/**
 * A sorted set of keys, for range scans in byte order.
 *
 * @module
 */

import { inRange, type Key, type KeyRange } from "./keys.js";

/** Keys in byte order; insert and delete by binary search. */
export class SortedKeys {
  readonly #keys: Key[] = [];

  /** Adds `key` (no-op when present). */
  add(key: Key): void {
    const at = this.#lowerBound(key);
    if (this.#keys[at] !== key) this.#keys.splice(at, 0, key);
  }

  /** Removes `key` (no-op when absent). */
  delete(key: Key): void {
    const at = this.#lowerBound(key);
    if (this.#keys[at] === key) this.#keys.splice(at, 1);
  }

  /** The keys in `range`, in byte order. */
  *in(range: KeyRange): Generator<Key> {
    if (range.end === undefined) {
      const at = this.#lowerBound(range.start);
      if (this.#keys[at] === range.start) yield range.start;
      return;
    }
    for (let i = this.#lowerBound(range.start); i < this.#keys.length; i++) {
      const key = this.#keys[i] as Key;
      if (!inRange(range, key)) return;
      yield key;
    }
  }

  /** Removes every key. */
  clear(): void {
    this.#keys.length = 0;
  }

  #lowerBound(key: Key): number {
    let low = 0;
    let high = this.#keys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.#keys[mid] as Key) < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
