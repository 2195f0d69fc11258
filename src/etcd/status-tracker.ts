/**
 * Which watch statuses are news: a status is published when the state changes or the
 * kind of error changes, not on every retry, and `since` stays when the state began.
 *
 * @module
 */

import type { WatchStatus } from "../etcd-types/watch-status.js";

/** A status as the watch loop reports it, before `since` is set. */
export type StatusReport = Omit<WatchStatus, "since">;

/**
 * Turns the watch loop's reports into the statuses to publish. One per value; not
 * thread-safe (nothing in JavaScript is shared).
 */
export class StatusTracker {
  #last: WatchStatus | undefined;

  /**
   * The status to publish for `report`, or `undefined` when it is no news: same state
   * and same kind of error (class name and `code`) as the last one published, or an
   * open circuit breaker while an error is shown (see `isOpenBreaker`). A new
   * state starts a new `since` (`Date.now()`); with `force`, `report` is published
   * even in the same state (a new watching episode), with a new `since`.
   */
  next(report: StatusReport, force = false): WatchStatus | undefined {
    const last = this.#last;
    if (
      !force &&
      last !== undefined &&
      last.state === report.state &&
      (errorKind(last.error) === errorKind(report.error) ||
        (last.error !== undefined && isOpenBreaker(report.error)))
    ) {
      return undefined;
    }
    const since = !force && last?.state === report.state ? last.since : Date.now();
    // One literal per set of fields rather than a spread (spread copies, once frozen,
    // each got a hidden class of its own: about 400 bytes per value of a process) or
    // fields added one by one (which go to a property array: 40 bytes more).
    const { state, revision } = report;
    let status: WatchStatus;
    if (revision === undefined) {
      status = "error" in report ? { state, since, error: report.error } : { state, since };
    } else {
      status =
        "error" in report
          ? { state, since, revision, error: report.error }
          : { state, since, revision };
    }
    this.#last = status;
    return status;
  }
}

/**
 * cockatiel's `BrokenCircuitError`: the client's circuit breaker is open because the
 * member failed before. Not news while an error is already shown: it alternates with
 * that error (each half-open probe fails again) for as long as the outage lasts.
 */
function isOpenBreaker(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true
  );
}

/** What tells two errors apart for a status: class name, and `code` when there is one. */
function errorKind(error: unknown): string {
  if (error === undefined) return "";
  if (typeof error !== "object" || error === null) return typeof error;
  const code = (error as { code?: unknown }).code;
  const name = (error as { name?: unknown }).name;
  return `${error.constructor?.name ?? ""}:${String(name)}:${code === undefined ? "" : String(code)}`;
}
