/**
 * Reading a whole key range at one revision, page by page.
 *
 * @module
 */

import type { IKeyValue } from "etcd3";
import { GRPCResourceExhastedError } from "etcd3";
import type { KeyRange } from "./key-range.js";
import type { EtcdPort } from "./port.js";
import { withSoftTimeout } from "./soft-timeout.js";

/** A key-value pair as read from etcd (keys with the namespace prefix). */
export interface StoredKv {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly modRevision: number;
}

/** The whole range at `revision`, in key order. */
export interface RangeRead {
  readonly revision: number;
  /** The id of the cluster that answered (a wiped or restored cluster has a new one). */
  readonly clusterId: string;
  readonly kvs: StoredKv[];
}

/** Tuning of {@link readRange}. */
export interface RangeReadOptions {
  /** Keys per page at first; halved when a page exceeds the gRPC message limit. */
  pageSize: number;
  /** Soft timeout of each page request, in ms. */
  timeoutMs: number;
  /**
   * Read the range as it was at this revision instead of the current one (e.g. a
   * compaction's revision, the oldest state etcd still holds). Undefined: the current.
   */
  revision?: number | undefined;
}

/**
 * Reads every key of `range` at one revision: the first page at the current revision R
 * (a linearizable read), or at `options.revision` when given, the rest at the same
 * revision, so the result is one consistent state however many pages it takes. A page
 * too large for a gRPC message is retried at half the size. Fails with what etcd fails
 * with (a revision compacted in the meantime: `GRPCOutOfRangeError`); the caller retries.
 */
export async function readRange(
  port: EtcdPort,
  range: KeyRange,
  options: RangeReadOptions,
): Promise<RangeRead> {
  const kvs: StoredKv[] = [];
  let pageSize = Math.max(1, options.pageSize);
  let revision: number | undefined = options.revision;
  let clusterId: string | undefined;
  let from = range.start;
  for (;;) {
    let response: Awaited<ReturnType<EtcdPort["range"]>>;
    try {
      response = await withSoftTimeout(
        port.range({
          key: from,
          ...(range.end === undefined ? {} : { range_end: range.end }),
          ...(range.end === undefined ? {} : { limit: pageSize }),
          ...(revision === undefined ? {} : { revision }),
        }),
        options.timeoutMs,
        "etcd range read",
      );
    } catch (error) {
      if (error instanceof GRPCResourceExhastedError && pageSize > 1) {
        pageSize = Math.ceil(pageSize / 2);
        continue;
      }
      throw error;
    }
    // A read at a given revision still answers with the current revision in its header.
    revision ??= Number(response.header.revision);
    clusterId ??= response.header.cluster_id;
    for (const kv of response.kvs) kvs.push(toStoredKv(kv));
    const last = response.kvs.at(-1);
    if (!response.more || last === undefined) return { revision, clusterId, kvs };
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
}

/** Converts etcd3's key-value (revisions as strings) to ours. */
export function toStoredKv(kv: IKeyValue): StoredKv {
  return { key: kv.key, value: kv.value, modRevision: Number(kv.mod_revision) };
}
