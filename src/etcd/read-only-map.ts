/**
 * A `Map` that refuses changes: the entries of a range snapshot are one object shared by
 * every watcher of the value, so a consumer that casts `ReadonlyMap` away and changes it
 * would change what every other watcher sees.
 *
 * @module
 */

const mapSet = Map.prototype.set;
const mapClear = Map.prototype.clear;

/**
 * A `Map` (so `instanceof Map`, iteration, `get`, `has`, `size` work as usual) whose
 * `set`, `delete` and `clear` throw a `TypeError`. Filled by its owner through
 * {@link ReadOnlyMap.put}; copy it (`new Map(map)`) to get one you can change.
 */
export class ReadOnlyMap<K, V> extends Map<K, V> {
  /** The owner's way to add an entry while building the map. */
  static put<K, V>(map: ReadOnlyMap<K, V>, key: K, value: V): void {
    mapSet.call(map, key, value);
  }

  /** The owner's way to empty the map while building it. */
  static empty<K, V>(map: ReadOnlyMap<K, V>): void {
    mapClear.call(map);
  }

  override set(key: K, _value: V): this {
    throw readOnly(`set(${String(key)})`);
  }

  override delete(key: K): boolean {
    throw readOnly(`delete(${String(key)})`);
  }

  override clear(): void {
    throw readOnly("clear()");
  }
}

function readOnly(call: string): TypeError {
  return new TypeError(
    `Cannot ${call}: a snapshot's entries are shared by every watcher and read-only; copy them with new Map(snapshot.entries) to change a copy`,
  );
}
