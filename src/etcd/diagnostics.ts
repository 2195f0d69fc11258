/**
 * What etcd values report on `node:diagnostics_channel`, for monitoring and tests.
 *
 * Subscribe with `diagnostics_channel.subscribe("event-value:etcd-watch", listener)`.
 * Messages are {@link EtcdWatchMessage} objects; publishing costs nothing while nobody
 * subscribes.
 *
 * @module
 */

import { channel } from "node:diagnostics_channel";

/** The channel's name. */
export const ETCD_WATCH_CHANNEL = "event-value:etcd-watch";

/** One message on {@link ETCD_WATCH_CHANNEL}. */
export type EtcdWatchMessage =
  /** An etcd watch was created on the server, from `startRevision`. */
  | { type: "watch-created"; target: string; startRevision: number }
  /** That watch ended; `reason` says why (`closed` when we ended it). */
  | { type: "watch-ended"; target: string; reason: WatchEndReason }
  /** The range was read whole at `revision` (initial read or resync). */
  | { type: "read"; target: string; revision: number; keys: number };

/**
 * Why a watch ended: `broken` (the connection failed or the server ended the stream),
 * `stalled` (no answer to a progress request), `compacted`, `cancelled` (by etcd, e.g.
 * permission denied), `closed` (by the library: the last watcher closed, or a resync).
 */
export type WatchEndReason = "broken" | "stalled" | "compacted" | "cancelled" | "closed";

const watchChannel = channel(ETCD_WATCH_CHANNEL);

/** Publishes `message` if anyone listens. */
export function publishWatchEvent(message: EtcdWatchMessage): void {
  if (watchChannel.hasSubscribers) watchChannel.publish(message);
}
