/**
 * Decoding etcd values once, however many watchers read them.
 *
 * @module
 */

import { type Decoder, decoders, runDecoder } from "../event/decoders.js";
import type { StoredKv } from "./range-read.js";

/**
 * The decoded value of a stored value, kept on the stored value itself under these two
 * symbols (the same for every cache, so every decoded stored value keeps one shape), not
 * in a `WeakMap`: loading a 100,000-key snapshot spent ~20 ms in `WeakMap` inserts alone,
 * and a large `WeakMap` makes every later full GC slower. A symbol per cache gave each
 * stored value a hidden class of its own (about 300 bytes per value).
 */
const DECODED_BY = Symbol("decodedBy");
const DECODED = Symbol("decoded");

/** A stored value carrying the value decoded by one cache. */
interface Slotted {
  [DECODED_BY]?: object;
  [DECODED]?: unknown;
}

/** What decodes stored values for a value's watchers and writer (see {@link DecodeCache}). */
export interface KvDecoding<T> {
  /** The decoded value of `kv`; throws a `DecodeError` with `key` and `revision`. */
  decode(kv: StoredKv, key: string, revision: number): T;
}

/**
 * Decodes stored values with one decoder, caching each successful result for as long as
 * the stored value lives. Failures are not cached: each watcher that reaches a bad value
 * gets its own `DecodeError`. A stored value is usually decoded by one cache (its value's):
 * a second cache keeps its results in a `WeakMap` of its own.
 */
export class DecodeCache<T> implements KvDecoding<T> {
  readonly #decoder: Decoder<T>;
  #others: WeakMap<StoredKv, T> | undefined;

  constructor(decoder: Decoder<T>) {
    this.#decoder = decoder;
  }

  /** The decoded value of `kv`; throws a `DecodeError` with `key` and `revision`. */
  decode(kv: StoredKv, key: string, revision: number): T {
    // The bytes as they are, a `Buffer` made for this call when the value was read in a
    // page: nothing to keep (a range without a decoder keeps no `Buffer`, and no property
    // array, per key; a snapshot's map or a watcher's update holds the one it was given).
    if (this.#decoder === decoders.bytes) return kv.value as T;
    const slotted = kv as Slotted;
    const by = slotted[DECODED_BY];
    if (by === this) return slotted[DECODED] as T;
    if (by !== undefined && this.#others?.has(kv) === true) return this.#others.get(kv) as T;
    const value = runDecoder(this.#decoder, kv.value, key, revision);
    if (by === undefined) {
      slotted[DECODED_BY] = this;
      slotted[DECODED] = value;
    } else {
      this.#others ??= new WeakMap();
      this.#others.set(kv, value);
    }
    return value;
  }
}
