/**
 * Reading a whole key range at one revision, page by page.
 *
 * @module
 */

import type { IKeyValue } from "etcd3";
import { GRPCResourceExhastedError } from "etcd3";
import { RequestTimeoutError } from "../event/errors.js";
import { isEtcdError } from "./classify.js";
import type { KeyRange } from "./key-range.js";
import { readKeyBatched } from "./key-read-batch.js";
import type { PageSizer } from "./page-sizer.js";
import type { EtcdPort } from "./port.js";

/**
 * A key's value as read from etcd. Without its key, which those who keep it have as a
 * key id (a `Buffer` per key would cost about 100 bytes).
 */
export interface StoredKv {
  /**
   * The value's bytes. A value read in a page makes this `Buffer` at each access (see
   * `PagedKv`): keep the `Buffer`, not the stored value, where one object is wanted.
   */
  readonly value: Buffer;
  readonly modRevision: number;
  /** The revision that created the key (since its last deletion). */
  readonly createRevision: number;
  /** The ID of the key's lease, in decimal; `"0"` for none. */
  readonly lease: string;
}

/** The whole range at `revision`, in key order. */
export interface RangeRead {
  readonly revision: number;
  /** The id of the cluster that answered (a wiped or restored cluster has a new one). */
  readonly clusterId: string;
  readonly kvs: StoredKv[];
  /** The key of each of `kvs`, in the same order (with the namespace prefix). */
  readonly keys: Buffer[];
}

/** Tuning of {@link readRange}. */
export interface RangeReadOptions {
  /** Page sizes of this range, learned from its pages and remembered across its reads. */
  sizer: PageSizer;
  /**
   * Silence, in ms, after which a page is abandoned (cancelled, the next one asked for
   * smaller, and the read rejected with a `RequestTimeoutError`): bytes arriving from the
   * member count as progress, so a slow page is not abandoned.
   */
  timeoutMs: number;
  /**
   * Read the range as it was at this revision instead of the current one (e.g. a
   * compaction's revision, the oldest state etcd still holds). Undefined: the current.
   */
  revision?: number | undefined;
  /** Stops the read: the page under way is cancelled, the read rejects with the reason. */
  signal?: AbortSignal | undefined;
  /**
   * Called once, after the first page when more pages follow, with the revision of the
   * read; awaited before the next page is asked for.
   */
  onMorePages?: ((revision: number) => void | Promise<void>) | undefined;
}

/**
 * Reads every key of `range` at one revision: the first page at the current revision R
 * (a linearizable read), or at `options.revision` when given, the rest at the same
 * revision, so the result is one consistent state however many pages it takes. Pages
 * are sized by `options.sizer` and requested with `EtcdPort.readPage`, so no page counts
 * against the user's client; a page too large for a gRPC message is asked for again at
 * half the size, down to one key. A single key at the current revision is read together
 * with the other single keys asked for on the client at the same time (`readKeyBatched`).
 * Fails with what etcd fails with (a revision compacted in the meantime:
 * `GRPCOutOfRangeError`; one key over the client's receive limit:
 * `GRPCResourceExhastedError`); the caller retries.
 */
export async function readRange(
  port: EtcdPort,
  range: KeyRange,
  options: RangeReadOptions,
): Promise<RangeRead> {
  const { sizer, signal } = options;
  const kvs: StoredKv[] = [];
  const keys: Buffer[] = [];
  let revision: number | undefined = options.revision;
  let clusterId: string | undefined;
  let from = range.start;
  let pages = 0;
  for (;;) {
    const limit = sizer.limit;
    const started = performance.now();
    let response: Awaited<ReturnType<EtcdPort["readPage"]>>;
    try {
      const pageOptions = { idleTimeoutMs: options.timeoutMs, signal };
      response =
        range.end === undefined && revision === undefined
          ? await readKeyBatched(port, { key: from }, pageOptions) // one key, now
          : await port.readPage(
              {
                key: from,
                ...(range.end === undefined ? {} : { range_end: range.end, limit }),
                ...(revision === undefined ? {} : { revision }),
              },
              pageOptions,
            );
    } catch (error) {
      if (isEtcdError(error, GRPCResourceExhastedError) && range.end !== undefined && limit > 1) {
        sizer.shrink(limit);
        continue;
      }
      if (error instanceof RequestTimeoutError) sizer.shrink(limit);
      throw error;
    }
    // A read at a given revision still answers with the current revision in its header.
    revision ??= Number(response.header.revision);
    clusterId ??= response.header.cluster_id;
    // etcd3's values are views of their whole response (keys, revisions, framing): one
    // value kept would keep all of it. The page's values get a buffer of their own.
    let valueBytes = 0;
    for (const kv of response.kvs) valueBytes += kv.value.length;
    const store = Buffer.allocUnsafeSlow(valueBytes);
    let offset = 0;
    let bytes = 0;
    for (const kv of response.kvs) {
      const length = kv.value.length;
      kv.value.copy(store, offset);
      kvs.push(new PagedKv(kv, store, offset, offset + length));
      offset += length;
      keys.push(kv.key);
      bytes += kv.key.length + length;
    }
    sizer.fitted(limit, response.kvs.length, bytes, performance.now() - started);
    const last = response.kvs.at(-1);
    if (!response.more || last === undefined) return { revision, clusterId, kvs, keys };
    if (pages++ === 0) await options.onMorePages?.(revision);
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
}

/**
 * A stored value read in a page: its bytes are a slice of the page's own buffer, and
 * `value` makes a `Buffer` of them at each access instead of keeping one per key (a
 * `Buffer` object costs about 96 bytes, more than most values: a range of many small
 * values kept one per key). Whoever keeps the value keeps the `Buffer` it was given.
 */
class PagedKv implements StoredKv {
  readonly #page: Buffer;
  readonly #start: number;
  readonly #end: number;
  readonly modRevision: number;
  readonly createRevision: number;
  readonly lease: string;

  constructor(kv: IKeyValue, page: Buffer, start: number, end: number) {
    this.#page = page;
    this.#start = start;
    this.#end = end;
    this.modRevision = Number(kv.mod_revision);
    this.createRevision = Number(kv.create_revision);
    this.lease = String(kv.lease);
  }

  get value(): Buffer {
    return this.#page.subarray(this.#start, this.#end);
  }
}

/** Converts etcd3's key-value (revisions as strings) to ours, keeping its value `Buffer`. */
export function toStoredKv(kv: IKeyValue): StoredKv {
  return {
    value: kv.value,
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
    lease: String(kv.lease),
  };
}
