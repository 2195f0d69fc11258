/**
 * The narrow slice of the `etcd3` client that etcd values use, behind an interface of
 * our own: paged range reads and raw watch streams, both through the user's client
 * (its connection pool, credentials and auth token). Fault-injection tests and a later
 * in-memory etcd twin plug in here.
 *
 * Why raw watch streams instead of etcd3's `Watcher`: etcd3's watcher moves its resume
 * point past undelivered events during catch-up, ends for good on compaction, serialises
 * attaches, swallows or rethrows errors depending on listeners, and cannot ask the server
 * for progress, so a stream stuck on a frozen member goes unnoticed. Owning the stream
 * makes each of those our decision (see ETCD-NOTES.md, traps 1–8, 19).
 *
 * @module
 */

import type {
  Etcd3,
  IDuplexStream,
  IRangeRequest,
  IRangeResponse,
  IWatchRequest,
  IWatchResponse,
  Namespace,
} from "etcd3";

/**
 * A bidirectional etcd watch stream (one gRPC `Watch` call). `cancel()` ends the call;
 * the server then drops every watch on it.
 */
export type WatchStreamPort = IDuplexStream<IWatchRequest, IWatchResponse>;

/** What etcd values need from a client. */
export interface EtcdPort {
  /** The client's namespace prefix (empty for a plain `Etcd3`). */
  readonly prefix: Buffer;
  /** One `Range` request, keys given with the prefix applied. */
  range(request: IRangeRequest): Promise<IRangeResponse>;
  /** Opens a new watch stream on a member chosen by the client. */
  openWatchStream(): Promise<WatchStreamPort>;
}

/** The port of an `etcd3` client or namespace. */
export function portOf(client: Etcd3 | Namespace): EtcdPort {
  return {
    prefix: client.prefix,
    range: (request) => client.kv.range(request),
    openWatchStream: () => client.watchClient.watch(),
  };
}
