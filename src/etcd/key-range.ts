/**
 * Key ranges as etcd sees them: bytes with the client's namespace prefix applied.
 *
 * @module
 */

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

/** The key as the user sees it: the namespace prefix stripped, decoded as UTF-8. */
export function userKey(namespace: Buffer, key: Buffer): string {
  return key.subarray(namespace.length).toString("utf8");
}
