/**
 * Decoding etcd values once, however many watchers read them.
 *
 * @module
 */

import { type Decoder, runDecoder } from "../event/decoders.js";
import type { StoredKv } from "./range-read.js";

/**
 * Decodes stored values with one decoder, caching each successful result for as long as
 * the stored value lives. Failures are not cached: each watcher that reaches a bad value
 * gets its own `DecodeError`.
 */
export class DecodeCache<T> {
  readonly #decoder: Decoder<T>;
  readonly #decoded = new WeakMap<StoredKv, { value: T }>();

  constructor(decoder: Decoder<T>) {
    this.#decoder = decoder;
  }

  /** The decoded value of `kv`; throws a `DecodeError` with `key` and `revision`. */
  decode(kv: StoredKv, key: string, revision: number): T {
    const cached = this.#decoded.get(kv);
    if (cached !== undefined) return cached.value;
    const value = runDecoder(this.#decoder, kv.value, key, revision);
    this.#decoded.set(kv, { value });
    return value;
  }
}
