/**
 * Decoding etcd values once, however many watchers read them.
 *
 * @module
 */

import { type Decoder, runDecoder } from "../event/decoders.js";
import type { StoredKv } from "./range-read.js";

/** A stored value carrying decoded values, one slot per cache that decoded it. */
type Slotted = Record<symbol, unknown>;

/**
 * Decodes stored values with one decoder, caching each successful result for as long as
 * the stored value lives. Failures are not cached: each watcher that reaches a bad value
 * gets its own `DecodeError`.
 *
 * The result is kept on the stored value itself, under a symbol of this cache, not in a
 * `WeakMap`: loading a 100,000-key snapshot spent ~20 ms in `WeakMap` inserts alone, and
 * a large `WeakMap` makes every later full GC slower.
 */
export class DecodeCache<T> {
  readonly #decoder: Decoder<T>;
  readonly #slot = Symbol("decoded");

  constructor(decoder: Decoder<T>) {
    this.#decoder = decoder;
  }

  /** The decoded value of `kv`; throws a `DecodeError` with `key` and `revision`. */
  decode(kv: StoredKv, key: string, revision: number): T {
    const slotted = kv as unknown as Slotted;
    const cached = slotted[this.#slot];
    if (cached !== undefined || this.#slot in slotted) return cached as T;
    const value = runDecoder(this.#decoder, kv.value, key, revision);
    slotted[this.#slot] = value;
    return value;
  }
}
