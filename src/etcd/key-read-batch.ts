/**
 * The first reads of many single-key values started together, sent as a few read-only
 * `Txn`s instead of one `Range` each: ten thousand values created in a loop make 79
 * requests, not ten thousand, so they are held sooner and etcd keeps less per request.
 * Each `Txn` is one linearizable read: every key of it is read at the same revision.
 *
 * @module
 */

import {
  GRPCResourceExhastedError,
  type IRangeRequest,
  type IRangeResponse,
  type ITxnResponse,
} from "etcd3";
import { isEtcdError } from "./classify.js";
import type { PageRequestOptions } from "./page-request.js";
import type { EtcdPort } from "./port.js";

/** etcd's default `--max-txn-ops`: the most reads in one `Txn`. */
export const MAX_TXN_OPS = 128;
/** The most key bytes in one `Txn`, well under etcd's default request limit (1.5 MiB). */
const MAX_TXN_KEY_BYTES = 256 * 1024;

/** One key's read, waiting for its batch. */
interface Queued {
  readonly request: IRangeRequest;
  readonly options: PageRequestOptions;
  readonly resolve: (response: IRangeResponse) => void;
  readonly reject: (error: unknown) => void;
}

/** The batch of each stream opener: ports of one connection pool share it (see `watchHub`). */
const batches = new WeakMap<EtcdPort["openWatchStream"], KeyReadBatch>();

/**
 * Reads one key (`request` without `range_end`, `revision` or `limit`) as
 * `port.readPage` would, but together with the other keys asked for on the same client
 * in the same turn of the event loop: one read-only `Txn` per {@link MAX_TXN_OPS} keys,
 * a key alone by `readPage` itself. The answer's header is its `Txn`'s (revision and
 * cluster id). `options.signal` rejects this read at once with its reason; the `Txn` is
 * cancelled once every read in it is. Fails as `readPage` does: a batch over the
 * receive or request limit is split until it fits, down to single keys.
 */
export function readKeyBatched(
  port: EtcdPort,
  request: IRangeRequest,
  options: PageRequestOptions,
): Promise<IRangeResponse> {
  let batch = batches.get(port.openWatchStream);
  if (batch === undefined) {
    batch = new KeyReadBatch(port);
    batches.set(port.openWatchStream, batch);
  }
  return batch.read(request, options);
}

/** The reads queued on one client in this turn of the event loop. */
class KeyReadBatch {
  readonly #port: EtcdPort;
  #queue: Queued[] = [];
  /** The most reads per `Txn`: lowered when etcd refuses one with too many operations. */
  #maxOps = MAX_TXN_OPS;

  constructor(port: EtcdPort) {
    this.#port = port;
  }

  read(request: IRangeRequest, options: PageRequestOptions): Promise<IRangeResponse> {
    if (options.signal?.aborted === true) return Promise.reject(options.signal.reason);
    return new Promise((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => this.#flush());
      this.#queue.push({ request, options, resolve, reject });
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    let group: Queued[] = [];
    let bytes = 0;
    for (const entry of queue) {
      const size = entry.request.key?.length ?? 0;
      if (group.length >= this.#maxOps || (group.length > 0 && bytes + size > MAX_TXN_KEY_BYTES)) {
        void this.#send(group);
        group = [];
        bytes = 0;
      }
      group.push(entry);
      bytes += size;
    }
    if (group.length > 0) void this.#send(group);
  }

  async #send(group: Queued[]): Promise<void> {
    const live = group.filter((entry) => entry.options.signal?.aborted !== true);
    for (const entry of group) {
      if (entry.options.signal?.aborted === true) entry.reject(entry.options.signal.reason);
    }
    if (live.length === 0) return;
    if (live.length === 1) {
      const [only] = live as [Queued];
      this.#port.readPage(only.request, only.options).then(only.resolve, only.reject);
      return;
    }
    const stop = new AbortController();
    const settled = live.map((entry) => watchAbort(entry, () => stop.abort(), live));
    let response: ITxnResponse;
    try {
      response = await this.#port.readKeys(
        live.map((entry) => entry.request),
        {
          idleTimeoutMs: Math.max(...live.map((entry) => entry.options.idleTimeoutMs)),
          signal: stop.signal,
        },
      );
    } catch (error) {
      for (const done of settled) done();
      if (tooLarge(error)) {
        if (isTooManyOps(error)) this.#maxOps = Math.max(1, Math.floor(live.length / 2));
        const half = Math.ceil(live.length / 2);
        void this.#send(live.slice(0, half));
        void this.#send(live.slice(half));
        return;
      }
      for (const entry of live) entry.reject(error);
      return;
    }
    for (const done of settled) done();
    live.forEach((entry, i) => {
      const range = response.responses[i]?.response_range;
      if (range === undefined) {
        entry.reject(new Error("etcd answered a read-only Txn without a range response"));
        return;
      }
      entry.resolve({ ...range, header: response.header });
    });
  }
}

/**
 * Rejects `entry` when its signal aborts, and calls `cancel` once every entry of `group`
 * has aborted. Returns the function that stops listening.
 */
function watchAbort(entry: Queued, cancel: () => void, group: readonly Queued[]): () => void {
  const signal = entry.options.signal;
  if (signal === undefined) return () => {};
  const aborted = (): void => {
    entry.reject(signal.reason);
    if (group.every((other) => other.options.signal?.aborted === true)) cancel();
  };
  signal.addEventListener("abort", aborted, { once: true });
  return () => signal.removeEventListener("abort", aborted);
}

/** A `Txn` refused for its size: over the receive limit, the request limit, or `--max-txn-ops`. */
function tooLarge(error: unknown): boolean {
  return (
    isEtcdError(error, GRPCResourceExhastedError) ||
    isTooManyOps(error) ||
    (error instanceof Error && error.message.includes("request is too large"))
  );
}

function isTooManyOps(error: unknown): boolean {
  return error instanceof Error && error.message.includes("too many operations in txn request");
}
