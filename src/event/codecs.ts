/**
 * Codecs pair a decoder with an encoder, so that a value can be written with the same
 * format it is read with.
 *
 * Failure policy: an encoder refuses a value by throwing; the write then rejects with an
 * {@link EncodeError} and sends nothing. An `EncodeError` thrown by the encoder is
 * completed with `key`; anything else becomes the `cause` of a new one (see
 * {@link runEncoder}).
 *
 * @module
 */

import type { StandardSchemaV1 } from "@standard-schema/spec";
import { type Decoder, decoders, isThenable } from "./decoders.js";
import { EncodeError } from "./errors.js";

/**
 * Turns a `T` into the bytes (or UTF-8 text) to store; throws to refuse the value.
 * `key` is the key being written, for messages. Must be synchronous.
 */
export type Encoder<T> = (value: T, key: string) => Uint8Array | string;

/** A decoder and the encoder that writes what it reads. */
export interface Codec<T> {
  /** Reads stored bytes; see {@link Decoder}. */
  readonly decode: Decoder<T>;
  /** Writes a value; see {@link Encoder}. */
  readonly encode: Encoder<T>;
}

function encodeBytes(value: Uint8Array, key: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new EncodeError(
      `codecs.bytes writes a Uint8Array; got ${describe(value)} for key ${JSON.stringify(key)}`,
      { key },
    );
  }
  return value;
}

function encodeText(value: string, key: string): string {
  if (typeof value !== "string") {
    throw new EncodeError(
      `codecs.text writes a string; got ${describe(value)} for key ${JSON.stringify(key)}`,
      { key },
    );
  }
  return value;
}

function encodeJson(value: unknown, key: string): string {
  let source: string | undefined;
  try {
    source = JSON.stringify(value);
  } catch (error) {
    throw new EncodeError(`Value for key ${JSON.stringify(key)} cannot be written as JSON`, {
      key,
      cause: error,
    });
  }
  if (source === undefined) {
    throw new EncodeError(
      `Value for key ${JSON.stringify(key)} has no JSON form (${describe(value)}); to delete the key, write undefined through set()`,
      { key },
    );
  }
  return source;
}

function json<T = unknown>(): Codec<T> {
  return Object.freeze({ decode: decoders.json<T>(), encode: encodeJson });
}

function schema<S extends StandardSchemaV1>(validator: S): Codec<StandardSchemaV1.InferOutput<S>> {
  const encode: Encoder<StandardSchemaV1.InferOutput<S>> = (value, key) => {
    const result = validator["~standard"].validate(value);
    if (isThenable(result)) {
      result.then(undefined, () => {}); // nobody awaits it: keep its failure handled
      throw new EncodeError(
        `The schema for key ${JSON.stringify(key)} validated asynchronously; codecs.schema needs a synchronous schema`,
        { key },
      );
    }
    if (result.issues !== undefined) {
      const summary = result.issues.map((issue) => issue.message).join("; ");
      throw new EncodeError(`Value for key ${JSON.stringify(key)} failed the schema: ${summary}`, {
        key,
        issues: result.issues,
      });
    }
    // The value as given, not the schema's output: reading runs the schema again.
    return encodeJson(value, key);
  };
  return Object.freeze({ decode: decoders.schema(validator), encode });
}

/** The codecs shipped with the library. */
export const codecs: {
  /** The bytes as they are. Writes only a `Uint8Array`. The default of every etcd value. */
  readonly bytes: Codec<Uint8Array>;
  /** UTF-8 text. Reads reject invalid UTF-8; writes only a string. */
  readonly text: Codec<string>;
  /**
   * UTF-8 JSON: `JSON.parse` to read, `JSON.stringify` to write. Refuses a value with no
   * JSON form (a function, a symbol, `undefined` itself) and one that cannot be
   * serialized (a cycle, a BigInt).
   */
  json<T = unknown>(): Codec<T>;
  /**
   * UTF-8 JSON validated by any synchronous Standard Schema validator (zod, valibot,
   * arktype, …), both ways: a read that fails the schema is a `DecodeError`, a write that
   * fails it is an `EncodeError` with the validator's `issues`, and nothing is sent.
   */
  schema<S extends StandardSchemaV1>(schema: S): Codec<StandardSchemaV1.InferOutput<S>>;
} = Object.freeze({
  bytes: Object.freeze({ decode: decoders.bytes, encode: encodeBytes }),
  text: Object.freeze({ decode: decoders.text, encode: encodeText }),
  json,
  schema,
});

/**
 * Calls `encoder` under the failure policy of this module: returns the bytes to write,
 * or throws an `EncodeError` with `key` filled in.
 */
export function runEncoder<T>(encoder: Encoder<T>, value: T, key: string): Uint8Array | string {
  let encoded: Uint8Array | string;
  try {
    encoded = encoder(value, key);
  } catch (error) {
    if (error instanceof EncodeError) {
      error.key ??= key;
      throw error;
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new EncodeError(`Value for key ${JSON.stringify(key)} was refused: ${reason}`, {
      key,
      cause: error,
    });
  }
  if (typeof encoded !== "string" && !(encoded instanceof Uint8Array)) {
    const returned: unknown = encoded;
    if (isThenable(returned)) returned.then(undefined, () => {}); // keep its failure handled
    throw new EncodeError(
      `The encoder for key ${JSON.stringify(key)} returned ${describe(encoded)}; an encoder returns a Uint8Array or a string`,
      { key },
    );
  }
  return encoded;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object"
    ? `an object (${value.constructor?.name ?? "Object"})`
    : `a ${typeof value}`;
}
