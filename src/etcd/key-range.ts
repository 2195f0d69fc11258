/**
 * Key ranges as etcd sees them: bytes with the client's namespace prefix applied; and
 * key ids, the library's lossless names for etcd keys.
 *
 * @module
 */

import { isUtf8 } from "node:buffer";

/** A range of etcd keys, namespace prefix included: one key when `end` is undefined. */
export interface KeyRange {
  readonly start: Buffer;
  /** Exclusive end; `\0` means every key from `start` on. Undefined: only `start`. */
  readonly end: Buffer | undefined;
}

const ALL_FOLLOWING = Buffer.from([0]);

/** The end of the range of every key that starts with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return ALL_FOLLOWING; // prefix empty or all 0xff: every following key
}

/** The range of one key inside the namespace `namespace`. */
export function singleKey(namespace: Buffer, key: string): KeyRange {
  return { start: Buffer.concat([namespace, Buffer.from(key)]), end: undefined };
}

/** The range of every key starting with `prefix` inside the namespace `namespace`. */
export function prefixRange(namespace: Buffer, prefix: string): KeyRange {
  const start = Buffer.concat([namespace, Buffer.from(prefix)]);
  if (start.length === 0) return { start: ALL_FOLLOWING, end: ALL_FOLLOWING };
  return { start, end: prefixEnd(start) };
}

/**
 * The range `[start, end)` inside the namespace `namespace`; an `end` of `"\0"` means
 * every key from `start` to the end of the namespace.
 */
export function spanRange(namespace: Buffer, start: string, end: string): KeyRange {
  const from = Buffer.concat([namespace, Buffer.from(start)]);
  const to =
    end === "\0"
      ? namespace.length === 0
        ? ALL_FOLLOWING
        : prefixEnd(namespace)
      : Buffer.concat([namespace, Buffer.from(end)]);
  return { start: from.length === 0 ? ALL_FOLLOWING : from, end: to };
}

/**
 * Marks a key id made from bytes that are not valid UTF-8. A lone high surrogate: no
 * UTF-8 decoding contains one, so such ids never equal the id of a valid key.
 */
const RAW = "\uD800";

/**
 * The library's internal name of an etcd key (namespace prefix stripped), lossless: two
 * different keys always have different ids. For a key that is valid UTF-8 (every key
 * written from a JavaScript string) the id is the key decoded, which is also the key the
 * user sees. For any other key it is a marker (a lone surrogate, which no UTF-8 decoding
 * contains) followed by the bytes as latin1. Maps of keys use ids, never
 * {@link userKeyOf} (lossy), so two such keys never collide.
 */
export function keyId(namespace: Buffer, key: Buffer): string {
  const bytes = key.subarray(namespace.length);
  const text = bytes.toString("utf8");
  // U+FFFD in the decoding means invalid bytes, or a key that really holds U+FFFD.
  if (!text.includes("\uFFFD") || isUtf8(bytes)) return text;
  return RAW + bytes.toString("latin1");
}

/**
 * The key as the user sees it, from its {@link keyId}: the key decoded as UTF-8, where
 * bytes that are not valid UTF-8 become U+FFFD (so lossy for those keys only).
 */
export function userKeyOf(id: string): string {
  if (!id.startsWith(RAW)) return id;
  return Buffer.from(id.slice(RAW.length), "latin1").toString("utf8");
}
