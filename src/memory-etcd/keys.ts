/**
 * Keys as etcd sees them: arbitrary bytes in `bytes.Compare` order. Internally a key is
 * a latin1 string (one char per byte), whose string order is exactly byte order.
 *
 * @module
 */

/** A key: one char (0–255) per byte. */
export type Key = string;

/** The key of `bytes`. */
export function keyOf(bytes: Uint8Array): Key {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** The bytes of `key`. */
export function bytesOf(key: Key): Buffer {
  return Buffer.from(key, "latin1");
}

/**
 * A set of keys: `end` undefined is the single key `start`; `end` `""` is every key
 * ≥ `start`; otherwise `[start, end)` (empty when `end` ≤ `start`).
 */
export interface KeyRange {
  readonly start: Key;
  readonly end: Key | undefined;
}

/**
 * The range of a `Range`, `DeleteRange` or `Compare` request: an absent `range_end`
 * (`null`) is the single key; `"\0"` (etcd's `mkGteRange`) and an empty one sent
 * explicitly mean "no upper bound".
 */
export function requestRange(key: Uint8Array, rangeEnd: Uint8Array | null): KeyRange {
  if (rangeEnd === null) return { start: keyOf(key), end: undefined };
  if (rangeEnd.length === 0 || (rangeEnd.length === 1 && rangeEnd[0] === 0)) {
    return { start: keyOf(key), end: "" };
  }
  return { start: keyOf(key), end: keyOf(rangeEnd) };
}

/** True when `key` is in `range`. */
export function inRange(range: KeyRange, key: Key): boolean {
  if (range.end === undefined) return key === range.start;
  if (key < range.start) return false;
  return range.end === "" || key < range.end;
}
