/**
 * Options of `EtcdValue` and `EtcdRangeValue` (validated by `src/etcd/value-options.ts`).
 *
 * @module
 */

import type { BackoffOptions } from "exponential-backoff";
import type { Codec } from "../event/codecs.js";
import type { Decoder } from "../event/decoders.js";

/** Options of `EtcdValue` and `EtcdRangeValue`. */
export interface EtcdValueOptions<T> {
  /**
   * Turns each value's bytes into a `T`; default `decoders.bytes`. See the decoders
   * module for the failure policy: a rejected value is a `DecodeError` for that update.
   * A value given only a decoder cannot be written: give `codec` instead.
   */
  decoder?: Decoder<T>;
  /**
   * Reads and writes the value: `codec.decode` as the decoder, `codec.encode` for
   * `set` and `update`; default `codecs.bytes`. Give `codec` or `decoder`, not both
   * (`TypeError`).
   */
  codec?: Codec<T>;
  /**
   * Retry timing after transient faults, as `exponential-backoff` options, merged over
   * the defaults: first retry after a random 0–50 ms, the bound doubling up to 1000 ms
   * (`jitter: "full"`), attempts unlimited. A finite `numOfAttempts`, or a `retry`
   * callback that returns false, turns the fault that exhausted it into a permanent
   * `WatchFailedError`. A stream that fails within 1 s of connecting waits before its
   * next attempt too, so a flapping member is not hammered. A retry delay under way when
   * the last watcher closes is cancelled: the process can exit at once.
   */
  backoff?: BackoffOptions;
}

/**
 * Options that say how to decode values into `T`: a `decoder`, or a `codec` (whose
 * `decode` reads and whose `encode` writes), not both.
 */
export type DecodingOptions<T> = EtcdValueOptions<T> &
  (
    | {
        /** How to read the value: required when no `codec` is given. */
        decoder: Decoder<T>;
        /** Not with `decoder`: give one or the other. */
        codec?: undefined;
      }
    | {
        /** How to read and write the value: required when no `decoder` is given. */
        codec: Codec<T>;
        /** Not with `codec`: give one or the other. */
        decoder?: undefined;
      }
  );

/**
 * The options argument of a value constructor for `T`: optional when `T` may be bytes,
 * else required, so that `new EtcdValue<AppConfig>(client, key)` (no decoder, no codec:
 * it would return bytes) does not compile. Options held in a variable typed
 * `EtcdValueOptions<T>` are taken as they are: their decoder or codec is checked at run
 * time.
 */
export type OptionsFor<T> = Uint8Array extends T
  ? [options?: EtcdValueOptions<T>]
  : [options: EtcdValueOptions<T>];
