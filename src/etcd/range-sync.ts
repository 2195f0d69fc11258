/**
 * Keeps a local copy of an etcd key range in step with etcd: read at revision R, watch
 * from R+1 (on the client's shared watch streams), apply whole responses, and read again
 * (reporting the difference) whenever the watch cannot resume (compaction, data loss).
 * Shared by every watcher of one value. This file is the loop that connects, retries
 * and reports; the state it keeps and its arithmetic are in `range-state.ts` and
 * `resync-diff.ts`, one run's state in `range-run.ts`, the paged read in
 * `range-read.ts`, the check of a member behind in `member-behind.ts`.
 *
 * @module
 */

import { EtcdInvalidAuthTokenError, GRPCOutOfRangeError, type IWatchResponse } from "etcd3";
import type { BackoffOptions } from "exponential-backoff";
import { publishWatchEvent } from "../etcd-types/diagnostics.js";
import type { WatchStatus } from "../etcd-types/watch-status.js";
import { CompactedError, WatchFailedError } from "../event/errors.js";
import { RetryStopped, retryWithBackoff } from "./backoff.js";
import { isEtcdError, isPermanentFailure } from "./classify.js";
import { EarlyWatch } from "./early-watch.js";
import type { KeyRange } from "./key-range.js";
import { memberBehind } from "./member-behind.js";
import { PageSizer } from "./page-sizer.js";
import type { EtcdPort, WatchStreamPort } from "./port.js";
import { readRange, type StoredKv } from "./range-read.js";
import { Run, type RunOwner } from "./range-run.js";
import { RangeState } from "./range-state.js";
import type { SyncedChange } from "./resync-diff.js";
import { DEFAULT_BACKOFF, type WatchTuning } from "./retry-policy.js";
import type { StreamEnd, StreamWatch } from "./shared-stream.js";
import { withSoftTimeout } from "./soft-timeout.js";
import { type StatusReport, StatusTracker } from "./status-tracker.js";
import { watchHub } from "./watch-hub.js";

/** What a {@link RangeSync} reports to the value built on it. */
export interface RangeSyncListener {
  /**
   * Changes in revision order: the events of one revision, or the difference found by a
   * read. `revision` is the state's revision after them. Called before `onRead` after a
   * read.
   */
  onChanges(changes: readonly SyncedChange[], revision: number): void;
  /** A whole read (the first one, or a resync) is applied; the state is at `revision`. */
  onRead(revision: number): void;
  /** The watch's health changed (a new state, or a new kind of error). */
  onStatus(status: WatchStatus): void;
  /** A permanent failure: the sync has stopped. */
  onFailure(error: WatchFailedError): void;
}

/** Test seams. Not part of the public API. */
export interface RangeSyncHooks {
  /**
   * Awaited between a read at R and the watch from R+1: tests widen that window. Given,
   * the watch is created after the whole read, also when the read takes several pages.
   */
  afterRead?: () => Promise<void>;
  /**
   * Awaited after the first page of a read of several pages, once the watch from R+1 is
   * being created, before the next page is asked for: tests write while a read is under
   * way.
   */
  afterFirstPage?: () => Promise<void>;
  /**
   * Called when a watch is created, with the gRPC call of the shared stream it is on and
   * the member it runs on (see `OpenedWatchStream.member`): tests listen to the call, or
   * `cancel()` it to break it (and every other watch on that stream).
   */
  watchCreated?: (call: WatchStreamPort, member: string | undefined) => void;
}

/** Settings of a {@link RangeSync}. */
export interface RangeSyncOptions {
  readonly port: EtcdPort;
  readonly range: KeyRange;
  /** Names the range in errors, e.g. `key "/config"`. */
  readonly target: string;
  readonly backoff: BackoffOptions;
  readonly tuning: WatchTuning;
  readonly listener: RangeSyncListener;
  readonly hooks?: RangeSyncHooks | undefined;
}

/** The sizer of every single-key range (see `readRange`: one key is never paged). */
const SINGLE_KEY_SIZER = new PageSizer(1);

/**
 * A connect's result: the watch, and when it was created during the read, its early
 * spec, whose held responses are released once the watch is adopted.
 */
interface Connected {
  readonly watch: StreamWatch;
  readonly early: EarlyWatch | undefined;
}

/** A stream that ends sooner than this (ms) after its create is not a recovery. */
const SHORT_LIVED_MS = 1000;

/**
 * The state of one key range ({@link RangeState}), kept current while started: each run
 * ({@link Run}) reads, watches on the client's shared streams, retries transient faults
 * with backoff, and resyncs when the watch cannot resume. Revisions are the state's:
 * exactly once across reconnects, never going backwards for watchers, even after etcd's
 * history was replaced (a new cluster id, or a store revision below the one applied,
 * confirmed by a linearizable read when a new watch's member reports it: a member that
 * is merely behind is avoided instead, see `memberBehind`).
 */
export class RangeSync implements RunOwner {
  readonly #options: RangeSyncOptions;
  readonly #status = new StatusTracker();
  readonly #state: RangeState;
  #run: Run | undefined;
  /** Page sizes of this range, remembered across reads (resyncs start from them). */
  readonly #sizer: PageSizer;

  constructor(options: RangeSyncOptions) {
    this.#options = options;
    this.#state = new RangeState(options.port.prefix, options.range.end === undefined);
    // A single key's reads are not paged: every such range shares one (unused) sizer.
    this.#sizer =
      options.range.end === undefined ? SINGLE_KEY_SIZER : new PageSizer(options.tuning.pageSize);
  }

  /** The present keys and their values, by key id. Replaced on each read: don't keep. */
  get entries(): ReadonlyMap<string, StoredKv> {
    return this.#state.entries;
  }

  /** The state's revision as reported to watchers; 0 before the first read. */
  get revision(): number {
    return this.#state.revision;
  }

  /** Added to etcd's revisions for watchers (see `RangeState`). */
  get offset(): number {
    return this.#state.offset;
  }

  /** A stored value's revision as reported to watchers (etcd's plus the offset). */
  revisionOf(kv: StoredKv): number {
    return this.#state.revisionOf(kv);
  }

  /** Starts reading and watching (no-op when running). */
  start(): void {
    if (this.#run !== undefined) return;
    const run = new Run(this, this.#options.range);
    this.#run = run;
    this.#report({ state: "connecting" }, true);
    void this.#watch(run, false);
  }

  /**
   * Stops: ends the run (its watch, its pending retry delay), drops the state. Also after
   * a failure: a later start() reads afresh, and the status says nobody is watching.
   */
  stop(): void {
    this.#run?.end();
    this.#run = undefined;
    this.#state.clearEntries();
    this.#report({ state: "connecting" });
  }

  /**
   * Connects (reading first when the run must), retrying transient faults, until a watch
   * is live; then returns: nothing waits while the watch runs, its end calls
   * {@link watchEnded}, which starts this again.
   */
  async #watch(run: Run, delayFirstAttempt: boolean): Promise<void> {
    const userRetry = this.#options.backoff.retry;
    let connected: Connected;
    try {
      connected = await retryWithBackoff(
        () => this.#connect(run),
        {
          ...DEFAULT_BACKOFF,
          ...this.#options.backoff,
          ...(delayFirstAttempt ? { delayFirstAttempt } : {}),
          retry: async (error: unknown, attempt: number) => {
            if (!run.current || isPermanentFailure(error)) return false;
            this.#transientError(run, error);
            return userRetry === undefined ? true : await userRetry(error, attempt);
          },
        },
        run.signal,
      );
    } catch (error) {
      if (run.current) this.#fail(run, error);
      return;
    }
    const { watch, early } = connected;
    if (!run.current) {
      early?.discard();
      watch.close(); // stopped while the create was being confirmed
      return;
    }
    run.watch = watch;
    publishWatchEvent({
      type: "watch-created",
      target: this.#options.target,
      startRevision: watch.spec.startRevision,
    });
    run.liveSince = Math.round(performance.now()); // a small integer: no heap number per run
    run.everLive = true;
    run.idle();
    this.#report({ state: "live", revision: this.#state.resumeRevision });
    early?.release(); // what the watch brought during the read, in order
    const end = watch.endedWith;
    if (end !== undefined) this.watchEnded(run, watch, end); // ended before it was adopted
  }

  /** Internal (see `RunOwner`): the run's live watch ended; watches again, or fails. */
  watchEnded(run: Run, watch: StreamWatch, end: StreamEnd): void {
    if (run.watch !== watch) return; // reported already
    run.watch = undefined;
    publishWatchEvent({ type: "watch-ended", target: this.#options.target, reason: end.reason });
    if (!run.current) return;
    const delayFirstAttempt = performance.now() - run.liveSince < SHORT_LIVED_MS;
    if (this.#onWatchEnd(run, end)) void this.#watch(run, delayFirstAttempt);
  }

  /** Reacts to a watch's end; returns false when the sync must stop (failed). */
  #onWatchEnd(run: Run, end: StreamEnd): boolean {
    switch (end.reason) {
      case "compacted":
        run.needRead = true;
        run.readAt = end.compactRevision;
        this.#transientError(run, new CompactedError(end.compactRevision));
        return true;
      case "cancelled":
        if (isPermanentFailure(end.error)) {
          this.#fail(run, end.error);
          return false;
        }
        this.#transientError(run, end.error);
        return true;
      case "broken":
      case "stalled":
        this.#transientError(run, end.error);
        return true;
      case "closed":
        return true; // ended by us to resync
    }
  }

  async #connect(run: Run): Promise<Connected> {
    if (!run.current) throw new RetryStopped();
    const { port, range, tuning } = this.#options;
    if (run.refreshAuth && !run.needRead) {
      // etcd3 refreshes an expired token on unary calls only (trap 11).
      await withSoftTimeout(
        port.range({ key: range.start, count_only: true }),
        tuning.readTimeoutMs,
        "etcd auth token refresh read",
      );
      run.refreshAuth = false;
    }
    let early: EarlyWatch | undefined;
    try {
      if (run.needRead) {
        early = await this.#read(run);
        run.refreshAuth = false;
        await this.#options.hooks?.afterRead?.();
        if (!run.current) throw new RetryStopped();
      }
      if (early?.dropped) early = undefined; // too many events held: etcd keeps them
      let watch = await this.#attach(run, early);
      if (early !== undefined) {
        const end = watch.endedWith;
        // Its stream failed during the read: a watch from the resume revision, later.
        if (end?.reason === "broken" || end?.reason === "stalled") throw end.error;
        if (early.dropped) {
          early = undefined;
          watch = await this.#attach(run, undefined);
        }
      }
      return { watch, early };
    } catch (error) {
      early?.discard();
      throw error;
    }
  }

  /**
   * Creates the run's watch from the resume revision (or adopts the one created during
   * the read, `early`), and checks that it watches the state's history.
   */
  async #attach(run: Run, early: EarlyWatch | undefined): Promise<StreamWatch> {
    const { port, range, tuning } = this.#options;
    let watch: StreamWatch;
    try {
      if (early === undefined) run.startRevision = this.#state.resume; // the run is its spec
      watch = await (early?.attached ?? watchHub(port).attach(run, tuning));
    } catch (error) {
      if (error instanceof CompactedError && run.current) {
        run.needRead = true;
        run.readAt = error.compactRevision;
      }
      throw error;
    }
    if (!run.current) {
      watch.close();
      throw new RetryStopped();
    }
    const lost = this.#state.historyLost(watch.clusterId, watch.createdRevision);
    if (lost !== undefined) {
      // The watch would wait for revisions long gone, or deliver another history.
      watch.close();
      // A member merely behind: avoid it and watch again from the resume revision (a
      // resync would sum up changes etcd still holds).
      const behind = await memberBehind(
        port,
        range,
        tuning.readTimeoutMs,
        this.#state,
        watch,
        run.signal,
      );
      if (behind !== undefined) throw behind;
      run.needRead = true;
      run.readAt = undefined;
      throw lost;
    }
    this.#options.hooks?.watchCreated?.(watch.call, watch.member);
    return watch;
  }

  /**
   * Reads the range and applies the read. A read of more than one page creates the run's
   * next watch after its first page (from the revision after the read's, the state's
   * resume revision once the read is applied), unless a test widens the gap between the
   * read and the watch (`afterRead`): returns it, its responses held.
   */
  async #read(run: Run): Promise<EarlyWatch | undefined> {
    const { port, range, tuning, hooks } = this.#options;
    let early: EarlyWatch | undefined;
    let read: Awaited<ReturnType<typeof readRange>>;
    try {
      read = await readRange(port, range, {
        sizer: this.#sizer,
        timeoutMs: tuning.readTimeoutMs,
        revision: run.readAt,
        signal: run.signal, // a stop cancels the page under way
        onMorePages:
          hooks?.afterRead === undefined
            ? async (revision) => {
                early = new EarlyWatch(run, revision + 1, (spec) =>
                  watchHub(port).attach(spec, tuning),
                );
                await hooks?.afterFirstPage?.();
              }
            : undefined,
      });
    } catch (error) {
      early?.discard();
      if (isEtcdError(error, GRPCOutOfRangeError) && run.readAt !== undefined) {
        // Compacted again since: watch from the resume revision once more, which fails
        // with the newest compaction's revision, and read there.
        run.needRead = false;
        run.readAt = undefined;
      }
      throw error;
    }
    if (!run.current) {
      early?.discard();
      throw new RetryStopped();
    }
    const applied = this.#state.applyRead(read);
    run.needRead = false;
    run.readAt = undefined;
    const { listener, target } = this.#options;
    const revision = applied.readRevision;
    publishWatchEvent({ type: "read", target, revision, keys: applied.entries.size });
    if (applied.changes.length > 0) listener.onChanges(applied.changes, revision);
    listener.onRead(revision);
    return early;
  }

  /** Internal (see `RunOwner`): a response of the current run's watch. */
  applyResponse(run: Run, response: IWatchResponse, watch: StreamWatch): void {
    const header = Number(response.header.revision);
    const lost = this.#state.historyLost(response.header.cluster_id, header);
    if (lost !== undefined) {
      run.needRead = true;
      run.readAt = undefined;
      this.#transientError(run, lost);
      watch.close();
      return;
    }
    // (Answers to progress requests never reach here: see SharedStream.)
    const applied = this.#state.applyResponse(response);
    if (applied !== undefined) this.#options.listener.onChanges(applied.changes, applied.revision);
  }

  #transientError(run: Run, error: unknown): void {
    if (isEtcdError(error, EtcdInvalidAuthTokenError)) run.refreshAuth = true;
    this.#report({
      state: run.everLive ? "stale" : "connecting",
      ...(this.#state.resume > 0 ? { revision: this.#state.resumeRevision } : {}),
      error,
    });
  }

  #fail(run: Run, cause: unknown): void {
    run.end();
    if (this.#run === run) this.#run = undefined;
    const error =
      cause instanceof WatchFailedError ? cause : new WatchFailedError(this.#options.target, cause);
    this.#report({ state: "failed", error });
    this.#options.listener.onFailure(error);
  }

  #report(report: StatusReport, force = false): void {
    const status = this.#status.next(report, force);
    if (status !== undefined) this.#options.listener.onStatus(status);
  }
}
