/**
 * The health of an etcd value's shared watch, as an event value of its own.
 *
 * @module
 */

/**
 * Whether what an etcd value's watchers hold is current.
 *
 * - `connecting`: no watcher of the value is open yet (or none is any more), or the
 *   initial read and watch are under way.
 * - `live`: the last read is applied and the watch is attached: updates arrive as etcd
 *   makes them.
 * - `stale`: disconnected, retrying or resyncing; watchers keep what they have and wait.
 * - `failed`: a permanent error; watchers reject with `WatchFailedError`.
 */
export interface WatchStatus {
  /** One of the states above. */
  state: "connecting" | "live" | "stale" | "failed";
  /** `Date.now()` when this state began. */
  since: number;
  /** The resume revision when this state began: every revision below it is applied. */
  revision?: number;
  /** The last transient error (`stale`) or the permanent one (`failed`). */
  error?: unknown;
}
