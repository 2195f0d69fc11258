/**
 * The health of an etcd value's shared watch, as an event value of its own.
 *
 * @module
 */

/**
 * Whether what an etcd value's watchers hold is current.
 *
 * - `connecting`: no watcher of the value is open yet (or none is any more), or the
 *   initial read and watch are under way. With an `error`: an attempt failed before the
 *   value was ever live in this episode (e.g. etcd unreachable from the start); the
 *   watch keeps retrying.
 * - `live`: the last read is applied and the watch is attached: updates arrive as etcd
 *   makes them.
 * - `stale`: was live, now disconnected, retrying or resyncing; watchers keep what they
 *   have and wait. `error` is the last transient error.
 * - `failed`: a permanent error (`error`); watchers reject with `WatchFailedError`.
 *
 * A new status is published when the state changes or the kind of error changes (its
 * class name and `code`), never once per retry attempt: a 30 s outage is one `stale`
 * status (two if, say, "unavailable" turns into "request timed out"). An open circuit
 * breaker of the client (cockatiel's `BrokenCircuitError`) shown after another error is
 * no news. A watcher of `status()` therefore wakes rarely; to know how long a state has
 * lasted, compare `since` with the clock.
 *
 * What a controller should alert on: the state is not `live` for longer than N seconds,
 * i.e. `state !== "live" && Date.now() - since > N * 1000`, checked on a timer of its own
 * (no status is published while an outage merely goes on), and `failed` at once. N should
 * exceed a normal failover: a few seconds to detect a frozen member (about 5 s by
 * default) plus etcd's leader election (1–3 s); 30 s is a reasonable start. `connecting`
 * counts as not live only while the value is watched.
 *
 * The transient errors the library itself makes are exported, all `EventValueError`s:
 * `RequestTimeoutError`, `CompactedError`, `HistoryLostError`, `MemberBehindError`,
 * `WatchCancelledError`; others come from etcd3 (`GRPCUnavailableError`, …).
 */
export interface WatchStatus {
  /** One of the states above. */
  state: "connecting" | "live" | "stale" | "failed";
  /**
   * `Date.now()` (wall clock, ms) when this state began: kept while the state lasts,
   * whatever the retries or errors in between.
   */
  since: number;
  /** The resume revision when this state began: every revision below it is applied. */
  revision?: number;
  /**
   * The last transient error (`connecting`, `stale`; the first of its kind: see above),
   * or the permanent one (`failed`).
   */
  error?: unknown;
}
