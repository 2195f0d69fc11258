/**
 * The entries of a single key's range: a `Map` of at most one key, without a hash table.
 *
 * @module
 */

/**
 * A `Map` from key id to value holding at most one entry, in two fields: the state of a
 * single-key range (every `EtcdValue`), where a `Map`'s table (about 180 bytes for one
 * entry) would be most of what a value keeps. Setting a second key throws: a single
 * key's range never holds two.
 */
export class OneKeyMap<V> implements Map<string, V> {
  #key: string | undefined;
  #value: V | undefined;

  get size(): number {
    return this.#key === undefined ? 0 : 1;
  }

  get [Symbol.toStringTag](): string {
    return "OneKeyMap";
  }

  get(key: string): V | undefined {
    return key === this.#key ? this.#value : undefined;
  }

  has(key: string): boolean {
    return key === this.#key;
  }

  set(key: string, value: V): this {
    if (this.#key !== undefined && key !== this.#key) {
      throw new Error(`A single key's range got a second key: ${JSON.stringify(key)}`);
    }
    this.#key = key;
    this.#value = value;
    return this;
  }

  delete(key: string): boolean {
    if (key !== this.#key) return false;
    this.clear();
    return true;
  }

  clear(): void {
    this.#key = undefined;
    this.#value = undefined;
  }

  forEach(callback: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  *entries(): MapIterator<[string, V]> {
    if (this.#key !== undefined) yield [this.#key, this.#value as V];
  }

  *keys(): MapIterator<string> {
    if (this.#key !== undefined) yield this.#key;
  }

  *values(): MapIterator<V> {
    if (this.#key !== undefined) yield this.#value as V;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}
