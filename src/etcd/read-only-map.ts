/**
 * Maps that refuse changes: the entries of a range snapshot are one object shared by
 * every watcher of the value, so a consumer that casts `ReadonlyMap` away and changes it
 * would change what every other watcher sees.
 *
 * @module
 */

/**
 * Makes `map` refuse changes and returns it: `set`, `delete` and `clear` throw a
 * `TypeError` (own, non-enumerable properties shadowing `Map.prototype`'s, and the map
 * frozen so they stay), while it stays a plain `Map` for everything that reads:
 * `instanceof Map`, its constructor, iteration, deep equality. Copy it (`new Map(map)`)
 * to get one you can change.
 */
export function sealMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  for (const method of ["set", "delete", "clear"] as const) {
    Object.defineProperty(map, method, {
      value: (key?: unknown) => {
        throw readOnly(method === "clear" ? "clear()" : `${method}(${String(key)})`);
      },
      enumerable: false,
      writable: false,
      configurable: false,
    });
  }
  return Object.freeze(map);
}

function readOnly(call: string): TypeError {
  return new TypeError(
    `Cannot ${call}: a snapshot's entries are shared by every watcher and read-only; copy them with new Map(snapshot.entries) to change a copy`,
  );
}
