/**
 * Transactions on the user's client, with keys relative to its namespace.
 *
 * @module
 */

import type { Etcd3, IKeyValue, ITxnRequest, ITxnResponse, Namespace } from "etcd3";
import { keyId, prefixEnd } from "../etcd/key-range.js";
import { retryTransient } from "./retry.js";

/** `key` with the client's namespace prefix, as etcd sees it. */
export function fullKey(client: Etcd3 | Namespace, key: string): Buffer {
  return Buffer.concat([client.prefix, Buffer.from(key)]);
}

/** The end of the range of every key starting with `prefix`, namespace applied. */
export function fullPrefixEnd(client: Etcd3 | Namespace, prefix: string): Buffer {
  return prefixEnd(fullKey(client, prefix));
}

/** A stored key as the client sees it (namespace prefix stripped). */
export function userKey(client: Etcd3 | Namespace, kv: IKeyValue): string {
  return keyId(client.prefix, kv.key);
}

/**
 * Sends `request`, retrying transient faults until `signal` aborts. Only for
 * transactions that are idempotent: every coordination transaction compares the key's
 * create revision, so a repeat of one that was applied changes nothing more. Each
 * attempt is added to `sent` (an attempt given up on may still be applied later).
 */
export function idempotentTxn(
  client: Etcd3 | Namespace,
  request: ITxnRequest,
  what: string,
  signal?: AbortSignal,
  sent?: Promise<unknown>[],
): Promise<ITxnResponse> {
  const attempt = (): Promise<ITxnResponse> => {
    const response = client.kv.txn(request);
    sent?.push(response);
    return response;
  };
  return retryTransient(attempt, { signal, what });
}

/** The first key-value of the `index`th response (a range), if any. */
export function rangeResult(response: ITxnResponse, index: number): IKeyValue | undefined {
  return response.responses[index]?.response_range?.kvs[0];
}
