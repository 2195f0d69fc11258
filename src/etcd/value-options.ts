/**
 * Validation of the options shared by `EtcdValue` and `EtcdRangeValue` (the public
 * types: `src/etcd-types/value-options.ts`), and the internal options tests attach.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import type { BackoffOptions } from "exponential-backoff";
import type { EtcdValueOptions } from "../etcd-types/value-options.js";
import { codecs, type Encoder } from "../event/codecs.js";
import { type Decoder, decoders, requireDecoder } from "../event/decoders.js";
import { requireEtcdClient } from "./port.js";
import type { RangeSyncHooks } from "./range-sync.js";
import { DEFAULT_TUNING, type WatchTuning } from "./retry-policy.js";

/** Not public: test seams and timing, reachable only through this module's symbol. */
export const INTERNAL = Symbol("event-value internal options");

/** Internal options, keyed by {@link INTERNAL}; kept out of the public option type. */
export interface InternalOptions {
  [INTERNAL]?: { hooks?: RangeSyncHooks; tuning?: Partial<WatchTuning> };
}

/**
 * `options` with internal settings attached, for tests and benchmarks. The public
 * constructors take `EtcdValueOptions<T>` only, so their declarations name no internal
 * type; this is the one place that bridges the two.
 */
export function withInternal<T = Uint8Array>(
  options: EtcdValueOptions<T>,
  internal: NonNullable<InternalOptions[typeof INTERNAL]>,
): EtcdValueOptions<T> {
  return { ...options, [INTERNAL]: internal } as EtcdValueOptions<T>;
}

/** The backoff options of a value given none (the defaults apply): one frozen object for all. */
const NO_BACKOFF: BackoffOptions = Object.freeze({});

/** Options with defaults applied. */
export interface ResolvedOptions<T> {
  readonly decoder: Decoder<T>;
  /** Undefined when only a decoder was given: the value cannot be written. */
  readonly encoder: Encoder<T> | undefined;
  readonly backoff: BackoffOptions;
  readonly tuning: WatchTuning;
  readonly hooks: RangeSyncHooks | undefined;
}

/** Checks the client and options; throws a `TypeError` naming what is wrong. */
export function resolveOptions<T>(
  client: Etcd3 | Namespace,
  options: EtcdValueOptions<T> | undefined,
): ResolvedOptions<T> {
  requireEtcdClient(client, "an Etcd3 client or a Namespace of one", true);
  const { codec, backoff = NO_BACKOFF } = options ?? {};
  if (codec !== undefined && options?.decoder !== undefined) {
    throw new TypeError("Give `codec` or `decoder`, not both: a codec has its own decoder");
  }
  if (
    codec !== undefined &&
    (typeof codec !== "object" ||
      codec === null ||
      typeof codec.decode !== "function" ||
      typeof codec.encode !== "function")
  ) {
    throw new TypeError("Expected `codec` to be a Codec ({ decode, encode } functions)");
  }
  const decoder = codec?.decode ?? options?.decoder ?? (decoders.bytes as Decoder<T>);
  const encoder =
    codec?.encode ??
    (options?.decoder === undefined ? (codecs.bytes.encode as Encoder<T>) : undefined);
  if (typeof decoder !== "function") {
    throw new TypeError(`Expected \`decoder\` to be a function, got ${typeof decoder}`);
  }
  requireDecoder("decoder", decoder); // e.g. `decoders.json` without its call
  if (typeof backoff !== "object" || backoff === null) {
    throw new TypeError("Expected `backoff` to be exponential-backoff options");
  }
  const internal = (options as InternalOptions | undefined)?.[INTERNAL];
  return {
    decoder,
    encoder,
    backoff,
    // Shared by every value without internal tuning: no copy per value.
    tuning:
      internal?.tuning === undefined ? DEFAULT_TUNING : { ...DEFAULT_TUNING, ...internal.tuning },
    hooks: internal?.hooks,
  };
}

/**
 * Throws a `TypeError` unless `value` is a string that can name an etcd key: any string
 * (empty, `\0`, of any length) except one with a lone surrogate, which has no UTF-8
 * encoding (`Buffer.from` would silently turn it into U+FFFD, another key).
 */
export function requireString(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`Expected \`${name}\` to be a string, got ${typeof value}`);
  }
  const lone = LONE_SURROGATE.exec(value);
  if (lone !== null) {
    const code = (lone[0].codePointAt(0) as number).toString(16).toUpperCase();
    throw new TypeError(
      `Expected \`${name}\` to be well-formed Unicode (keys are sent as UTF-8), got a lone surrogate U+${code} at index ${lone.index}`,
    );
  }
  return value;
}

/** In `u` mode a surrogate pair is one code point: this matches lone surrogates only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
