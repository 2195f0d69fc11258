/**
 * Retry timing and tuning knobs of the etcd watch loop.
 *
 * @module
 */

import type { BackoffOptions } from "exponential-backoff";

/**
 * The library's retry defaults: first retry after a random delay of 0–50 ms, the bound
 * doubling per failed attempt to at most 1000 ms (full jitter), attempts unlimited. So a
 * watch retries within about a second of etcd becoming healthy again.
 */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  startingDelay: 50,
  timeMultiple: 2,
  maxDelay: 1000,
  jitter: "full",
  numOfAttempts: Number.POSITIVE_INFINITY,
  delayFirstAttempt: false,
});

/** Timeouts and sizes of the watch loop and of writes, in ms and keys. */
export interface WatchTuning {
  /**
   * The most keys per page of the initial read and of resyncs; pages start smaller and
   * are sized by bytes and time (see `PageSizer`).
   */
  readonly pageSize: number;
  /** Silence after which a page of a read is abandoned (bytes arriving count). */
  readonly readTimeoutMs: number;
  /** Silence on a watch stream after which a progress request checks it is alive. */
  readonly idleCheckMs: number;
  /** Time the server has to answer a watch create or a progress request. */
  readonly answerTimeoutMs: number;
  /** Soft timeout of each write request: no answer by then makes the write ambiguous. */
  readonly writeTimeoutMs: number;
}

/**
 * Defaults: pages of at most 1000 keys; a read's page silent for 5 s is abandoned; a silent stream is checked
 * every 2 s and must answer within 3 s, so a stream stuck on a frozen member is moved
 * within about 5 s, to another member (the silent one is avoided for 30 s: see
 * `EtcdPort.suspect`). A write has 10 s to answer: longer than etcd's own bound on a
 * proposal (7 s with default timing, then "request timed out"), so etcd's answer comes
 * first when there is one.
 */
export const DEFAULT_TUNING: Readonly<WatchTuning> = Object.freeze({
  pageSize: 1000,
  readTimeoutMs: 5000,
  idleCheckMs: 2000,
  answerTimeoutMs: 3000,
  writeTimeoutMs: 10_000,
});
