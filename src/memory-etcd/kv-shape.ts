/**
 * Stored key-values and events in the proto's field names, ready for the encoder.
 *
 * @module
 */

import { bytesOf } from "./keys.js";
import type { KeyValue, StoredEvent } from "./mvcc.js";
import type { Plain } from "./wire-types.js";

/** `mvccpb.KeyValue` of `kv`. */
export function plainKv(kv: KeyValue): Plain {
  return {
    key: bytesOf(kv.key),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease.toString(),
  };
}

/** `mvccpb.Event` of `event`, with `prevKv` when given. */
export function plainEvent(event: StoredEvent, prevKv: KeyValue | undefined): Plain {
  const kv =
    event.type === "put"
      ? plainKv(event.kv)
      : { key: bytesOf(event.kv.key), mod_revision: event.kv.modRevision };
  return {
    type: event.type === "put" ? "Put" : "Delete",
    kv,
    ...(prevKv === undefined ? {} : { prev_kv: plainKv(prevKv) }),
  };
}

/** A response header carrying only a revision (sub-responses of a txn). */
export function revisionHeader(revision: number): Plain {
  return { revision };
}
