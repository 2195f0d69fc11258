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
  return new SingleKey(namespace, key);
}

/**
 * One key's range, keeping the key as a string: its bytes are made each time they are
 * asked for (a read, a watch's create), not kept by every value of a process (a
 * `Buffer` costs about 100 bytes).
 */
class SingleKey implements KeyRange {
  readonly #namespace: Buffer;
  readonly #key: string;
  readonly end = undefined;

  constructor(namespace: Buffer, key: string) {
    this.#namespace = namespace;
    this.#key = key;
  }

  get start(): Buffer {
    return Buffer.concat([this.#namespace, Buffer.from(this.#key)]);
  }
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
 * Whether `id` names a key that is not valid UTF-8: it starts with {@link RAW} alone, not
 * as the first half of a pair (a valid key may start with U+10000–U+103FF, whose first
 * UTF-16 unit is U+D800 too). The bytes after the marker, as latin1, are no low surrogates.
 */
function isRaw(id: string): boolean {
  if (!id.startsWith(RAW)) return false;
  const next = id.charCodeAt(RAW.length);
  return !(next >= 0xdc00 && next <= 0xdfff);
}

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
  if (!isRaw(id)) return id;
  return Buffer.from(id.slice(RAW.length), "latin1").toString("utf8");
}

/**
 * Orders key ids as etcd orders their keys: by bytes. For ids of valid UTF-8 keys that
 * is code point order, which differs from JavaScript's (UTF-16 code units) only where a
 * surrogate meets a unit from U+E000 up; other ids are compared by their bytes.
 */
export function compareKeyIds(a: string, b: string): number {
  if (isRaw(a) || isRaw(b)) return Buffer.compare(bytesOf(a), bytesOf(b));
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit's rank in code point order: surrogates (astral) above the rest. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/** The bytes of the key a {@link keyId} names (namespace prefix stripped). */
function bytesOf(id: string): Buffer {
  return isRaw(id) ? Buffer.from(id.slice(RAW.length), "latin1") : Buffer.from(id, "utf8");
}
