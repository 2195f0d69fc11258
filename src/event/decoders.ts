/**
 * Decoders turn the bytes of an etcd value into a typed value.
 *
 * Failure policy: a decoder signals a bad value by throwing. A value (`EtcdValue`,
 * `EtcdRangeValue`) catches what its decoder throws, whatever it is, and rejects that
 * one `get()` with a {@link DecodeError}: a `DecodeError` thrown by the decoder is
 * completed with `key` and `revision`; anything else becomes the `cause` of a new one.
 * The update is consumed and the watcher goes on with the next one. A decoder must be
 * synchronous: one that returns a promise (or any thenable) is a decode failure. To keep
 * a `for await` loop alive through bad values, wrap the decoder in {@link decoders.safe}.
 *
 * Decoded values are shared by every watcher of a value and must not be mutated.
 *
 * @module
 */

import type { StandardSchemaV1 } from "@standard-schema/spec";
import { DecodeError } from "./errors.js";

/**
 * Marks the decoder factories `decoders.json` and `decoders.schema`, whose *results* are
 * decoders. Its value on a factory is the call to write instead, e.g. `"decoders.json()"`.
 * {@link Decoder} excludes it, so a factory given where a decoder belongs (`{ decoder:
 * decoders.json }`, without the call) is a type error; at run time it is a `TypeError`
 * naming the fix ({@link requireDecoder}).
 */
export const DECODER_FACTORY: unique symbol = Symbol("event-value decoder factory");

/**
 * Marks a decoder factory (`decoders.json`, `decoders.schema`): a function that returns a
 * decoder, and is not one. Giving it where a decoder belongs is a type error that shows
 * `Fix`, the call to write instead.
 */
export interface DecoderFactoryMark<Fix extends string> {
  /** The call to write where a decoder is expected, e.g. `"decoders.json()"`. */
  readonly [DECODER_FACTORY]: Fix;
}

/**
 * Turns the bytes of a value into a `T`; throws to reject the value. `key` is the key
 * the bytes belong to, for messages. Must be synchronous. `bytes` is the value as
 * received, shared by every watcher (`decoders.bytes` returns it as it is): do not
 * modify it. Any function of this shape is a decoder, except a decoder factory such as
 * `decoders.json` itself (call it: `decoders.json()`).
 */
export type Decoder<T> = ((bytes: Uint8Array, key: string) => T) & {
  /** Absent on every decoder: excludes the decoder factories (see `DECODER_FACTORY`). */
  readonly [DECODER_FACTORY]?: never;
};

/** The outcome of a {@link decoders.safe} decoder: never a thrown error. */
export type Decoded<T> =
  | {
      /** The decoder accepted the bytes. */
      ok: true;
      /** What it returned. */
      value: T;
    }
  | {
      /** The decoder rejected the bytes. */
      ok: false;
      /** Why: what it threw, as a `DecodeError` with `key` set. */
      error: DecodeError;
    };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function text(bytes: Uint8Array, key: string): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new DecodeError(`Value of key ${JSON.stringify(key)} is not valid UTF-8`, {
      key,
      cause: error,
    });
  }
}

function json<T = unknown>(): Decoder<T> {
  return (bytes, key) => {
    const source = text(bytes, key);
    try {
      return JSON.parse(source) as T;
    } catch (error) {
      throw new DecodeError(`Value of key ${JSON.stringify(key)} is not valid JSON`, {
        key,
        cause: error,
      });
    }
  };
}

function schema<S extends StandardSchemaV1>(
  validator: S,
): Decoder<StandardSchemaV1.InferOutput<S>> {
  const parse = json();
  return (bytes, key) => {
    const result = validator["~standard"].validate(parse(bytes, key));
    if (isThenable(result)) {
      result.then(undefined, () => {}); // nobody awaits it: keep its failure handled
      throw new DecodeError(
        `The schema for key ${JSON.stringify(key)} validated asynchronously; decoders.schema needs a synchronous schema`,
        { key },
      );
    }
    if (result.issues !== undefined) {
      const summary = result.issues.map((issue) => issue.message).join("; ");
      throw new DecodeError(`Value of key ${JSON.stringify(key)} failed the schema: ${summary}`, {
        key,
        issues: result.issues,
      });
    }
    return result.value;
  };
}

function safe<T>(decoder: Decoder<T>): Decoder<Decoded<T>> {
  requireDecoder("decoder", decoder);
  return (bytes, key) => {
    try {
      return { ok: true, value: runDecoder(decoder, bytes, key, undefined) };
    } catch (error) {
      return { ok: false, error: error as DecodeError };
    }
  };
}

/** The decoders shipped with the library. */
export const decoders: {
  /** The bytes as they are. Never fails. The default of every etcd value. */
  readonly bytes: Decoder<Uint8Array>;
  /** UTF-8 text. Rejects invalid UTF-8 (no replacement characters). A BOM is kept. */
  readonly text: Decoder<string>;
  /** UTF-8 JSON, parsed with `JSON.parse`. Rejects invalid UTF-8 and invalid JSON. */
  readonly json: (<T = unknown>() => Decoder<T>) & DecoderFactoryMark<"decoders.json()">;
  /**
   * UTF-8 JSON validated by any Standard Schema validator (zod, valibot, arktype, …);
   * returns the schema's output. The schema must validate synchronously. Rejects with a
   * `DecodeError` whose `issues` holds the validator's issues.
   */
  readonly schema: (<S extends StandardSchemaV1>(
    schema: S,
  ) => Decoder<StandardSchemaV1.InferOutput<S>>) &
    DecoderFactoryMark<"decoders.schema(yourSchema)">;
  /**
   * Never throws: a value the inner decoder rejects becomes `{ ok: false, error }`, a
   * `DecodeError` with `key` set and `revision` undefined.
   */
  safe<T>(decoder: Decoder<T>): Decoder<Decoded<T>>;
} = Object.freeze({
  bytes: (bytes: Uint8Array) => bytes,
  text,
  json: markFactory(json, "decoders.json()"),
  schema: markFactory(schema, "decoders.schema(yourSchema)"),
  safe,
});

function markFactory<F extends object, Fix extends string>(
  factory: F,
  fix: Fix,
): F & DecoderFactoryMark<Fix> {
  return Object.defineProperty(factory, DECODER_FACTORY, { value: fix }) as F &
    DecoderFactoryMark<Fix>;
}

/**
 * Throws a `TypeError` unless `decoder` is a decoder: a function, and not a decoder
 * factory such as `decoders.json` (the message names the call to write instead).
 * `name` is the option's name, for the message.
 */
export function requireDecoder(name: string, decoder: unknown): void {
  if (typeof decoder !== "function") {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${typeof decoder}`);
  }
  const fix = (decoder as Partial<DecoderFactoryMark<string>>)[DECODER_FACTORY];
  if (fix !== undefined) {
    throw new TypeError(
      `Expected \`${name}\` to be a decoder, got a decoder factory: call it, as \`${name}: ${fix}\``,
    );
  }
}

/**
 * Calls `decoder` under the failure policy of this module: returns its value, or throws
 * a `DecodeError` with `key` and `revision` filled in.
 */
export function runDecoder<T>(
  decoder: Decoder<T>,
  bytes: Uint8Array,
  key: string,
  revision: number | undefined,
): T {
  let value: T;
  try {
    value = decoder(bytes, key);
  } catch (error) {
    throw asDecodeError(error, key, revision);
  }
  if (isThenable(value)) {
    value.then(undefined, () => {}); // nobody awaits it: keep its failure handled
    throw new DecodeError(
      `The decoder for key ${JSON.stringify(key)} returned a promise; decoders must be synchronous`,
      { key, revision },
    );
  }
  return value;
}

function asDecodeError(error: unknown, key: string, revision: number | undefined): DecodeError {
  if (error instanceof DecodeError) {
    error.key ??= key;
    error.revision ??= revision;
    return error;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new DecodeError(`Value of key ${JSON.stringify(key)} was rejected: ${reason}`, {
    key,
    revision,
    cause: error,
  });
}

/** Whether `value` is a promise or any other thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
