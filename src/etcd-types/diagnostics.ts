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
  | {
      /**
       * An etcd watch was created on the server, from `startRevision`, and taken into
       * use. (A watch made during a paged read and dropped before use, because the read
       * failed, is reported neither as created nor as ended.)
       */
      type: "watch-created";
      /** The value's key or range, as error messages name it. */
      target: string;
      /** The revision the watch starts from. */
      startRevision: number;
    }
  | {
      /** That watch ended; `reason` says why (`closed` when the library ended it). */
      type: "watch-ended";
      /** The value's key or range, as error messages name it. */
      target: string;
      /** Why the watch ended. */
      reason: WatchEndReason;
    }
  | {
      /** The range was read whole at `revision` (initial read or resync). */
      type: "read";
      /** The value's key or range, as error messages name it. */
      target: string;
      /** The revision of the read. */
      revision: number;
      /** How many keys the read returned. */
      keys: number;
    };

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
