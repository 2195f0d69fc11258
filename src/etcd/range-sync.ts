/**
 * Keeps a local copy of an etcd key range in step with etcd: read at revision R, watch
 * from R+1, apply whole responses, and read again (reporting the difference) whenever the
 * watch cannot resume (compaction, data loss). Shared by every watcher of one value.
 *
 * @module
 */

import { EtcdInvalidAuthTokenError, GRPCOutOfRangeError, type IWatchResponse } from "etcd3";
import { type BackoffOptions, backOff } from "exponential-backoff";
import { WatchFailedError } from "../event/errors.js";
import { isPermanentFailure } from "./classify.js";
import { publishWatchEvent } from "./diagnostics.js";
import { type KeyRange, keyId } from "./key-range.js";
import { PageSizer } from "./page-sizer.js";
import type { EtcdPort, WatchStreamPort } from "./port.js";
import { readRange, type StoredKv, toStoredKv } from "./range-read.js";
import { DEFAULT_BACKOFF, type WatchTuning } from "./retry-policy.js";
import { withSoftTimeout } from "./soft-timeout.js";
import { StallPatience } from "./stall-clock.js";
import type { WatchStatus } from "./watch-status.js";
import { CompactedError, type StreamEnd, WatchStream } from "./watch-stream.js";

/** One key's change as watchers see it. */
export interface SyncedChange {
  /** The key's id (namespace prefix stripped; lossless, see `keyId`): `userKeyOf` it for users. */
  readonly key: string;
  /** The new key-value; `undefined` when the key was deleted. */
  readonly kv: StoredKv | undefined;
  /** The revision of the change (see {@link RangeSync.revision} for offsets). */
  readonly revision: number;
}

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
  /** The watch's health changed. */
  onStatus(status: WatchStatus): void;
  /** A permanent failure: the sync has stopped. */
  onFailure(error: WatchFailedError): void;
}

/** Test seams. Not part of the public API. */
export interface RangeSyncHooks {
  /** Awaited between a read at R and the watch from R+1: tests widen that window. */
  afterRead?: () => Promise<void>;
  /**
   * Called when a watch is created, with its gRPC call and the member it runs on (see
   * `OpenedWatchStream.member`): tests listen to the call, or `cancel()` it to break it.
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

class Stopped extends Error {}

/**
 * etcd's history is not the one already applied: the data was wiped or restored from a
 * backup (a new cluster id, or a store revision below what was applied). Transient: the
 * range is read again.
 */
export class HistoryLostError extends Error {
  constructor(what: string) {
    super(`etcd's history was replaced (${what}), data wiped or restored; reading again`);
    this.name = "HistoryLostError";
  }
}

/**
 * The member a watch landed on is behind the revision already applied (restarting, just
 * thawed, or cut off from the leader) while the cluster is not. Transient: the member is
 * avoided (see `EtcdPort.suspect`) and the watch created again elsewhere, from the same
 * resume revision, without reading the range again.
 */
export class MemberBehindError extends Error {
  constructor(member: string | undefined, revision: number, applied: number) {
    super(
      `etcd member ${member ?? "(unknown)"} is at revision ${revision}, behind the ${applied} already applied; watching from another member`,
    );
    this.name = "MemberBehindError";
  }
}

/** A stream that ends sooner than this after its create is not a recovery. */
const SHORT_LIVED_MS = 1000;

/**
 * The state of one key range, kept current while started.
 *
 * Revisions: the library owns its resume revision (the revision after the last event it
 * applied), never etcd3's, and drops events below it, so delivery across reconnects is
 * exactly once. Revisions reported to the listener are etcd's, plus an offset that is 0
 * until etcd's history is ever seen replaced (data wiped or restored from a backup: a new
 * cluster id, or a store revision below the one applied, confirmed by a linearizable read
 * when a new watch's member reports it: a member that is merely behind is avoided
 * instead, see {@link MemberBehindError}); the range is then read again,
 * every present key reported as changed, and revisions continue above the last reported
 * one, so watchers' revisions never go backwards.
 */
export class RangeSync {
  readonly #options: RangeSyncOptions;
  #entries = new Map<string, StoredKv>();
  #resume = 0;
  #offset = 0;
  /** The cluster the state was read from; "" before the first read. */
  #clusterId = "";
  #generation = 0;
  #running = false;
  #needRead = true;
  /**
   * When the watch was compacted: the compaction's revision, the oldest state etcd still
   * holds. The resync reads there and watches from the next revision, so every change
   * still in etcd's history arrives as it was made; only what compaction discarded is
   * summed up as a difference. Undefined: read at the current revision.
   */
  #readAt: number | undefined;
  #refreshAuth = false;
  #everLive = false;
  #stream: WatchStream | undefined;
  /** Aborts the read under way when stopped (its page is cancelled). */
  #reading = new AbortController();
  /** Page sizes of this range, remembered across reads (resyncs start from them). */
  readonly #sizer: PageSizer;
  /** Shared by the successive watch streams: a stream cut for a stall is not cut alike twice. */
  readonly #patience = new StallPatience();

  constructor(options: RangeSyncOptions) {
    this.#options = options;
    this.#sizer = new PageSizer(options.tuning.pageSize);
  }

  /** The present keys and their values, by key id. Replaced on each read: don't keep. */
  get entries(): ReadonlyMap<string, StoredKv> {
    return this.#entries;
  }

  /** The state's revision as reported to watchers; 0 before the first read. */
  get revision(): number {
    return this.#resume === 0 ? 0 : this.#resume - 1 + this.#offset;
  }

  /** A stored value's revision as reported to watchers (etcd's plus the offset). */
  revisionOf(kv: StoredKv): number {
    return kv.modRevision + this.#offset;
  }

  /** Starts reading and watching (no-op when running). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#generation += 1;
    this.#needRead = true;
    this.#readAt = undefined;
    this.#everLive = false;
    this.#reading = new AbortController();
    this.#status({ state: "connecting" });
    void this.#run(this.#generation);
  }

  /** Stops: closes the stream, drops the state, forgets pending retries. */
  stop(): void {
    // Also after a failure (which stopped the loop itself): the state is dropped, so a
    // later start() reads afresh, and the status says nobody is watching.
    this.#running = false;
    this.#generation += 1;
    this.#reading.abort(new Stopped());
    this.#stream?.close();
    this.#stream = undefined;
    this.#entries = new Map();
    this.#status({ state: "connecting" });
  }

  async #run(generation: number): Promise<void> {
    const current = (): boolean => this.#generation === generation;
    const userRetry = this.#options.backoff.retry;
    let delayFirstAttempt = false;
    while (current()) {
      let stream: WatchStream;
      try {
        stream = await backOff(() => this.#connect(current), {
          ...DEFAULT_BACKOFF,
          ...this.#options.backoff,
          ...(delayFirstAttempt ? { delayFirstAttempt } : {}),
          retry: async (error: unknown, attempt: number) => {
            if (!current() || isPermanentFailure(error)) return false;
            this.#transientError(error);
            return userRetry === undefined ? true : await userRetry(error, attempt);
          },
        });
      } catch (error) {
        if (current()) this.#fail(error);
        return;
      }
      if (!current()) {
        stream.close(); // stopped while the create was being confirmed
        return;
      }
      this.#stream = stream;
      const { target } = this.#options;
      publishWatchEvent({ type: "watch-created", target, startRevision: this.#resume });
      const createdAt = Date.now();
      this.#everLive = true;
      this.#status({ state: "live", revision: this.#resume + this.#offset });
      const end = await stream.ended;
      publishWatchEvent({ type: "watch-ended", target, reason: end.reason });
      if (!current()) return;
      this.#stream = undefined;
      delayFirstAttempt = Date.now() - createdAt < SHORT_LIVED_MS;
      if (!this.#onStreamEnd(end)) return;
    }
  }

  /** Reacts to a stream's end; returns false when the sync must stop (failed). */
  #onStreamEnd(end: StreamEnd): boolean {
    switch (end.reason) {
      case "compacted":
        this.#compacted(end.compactRevision);
        this.#transientError(new CompactedError(end.compactRevision));
        return true;
      case "cancelled":
        if (isPermanentFailure(end.error)) {
          this.#fail(end.error);
          return false;
        }
        this.#transientError(end.error);
        return true;
      case "broken":
      case "stalled":
        this.#transientError(end.error);
        return true;
      case "closed":
        return true; // ended by us to resync
    }
  }

  async #connect(current: () => boolean): Promise<WatchStream> {
    if (!current()) throw new Stopped();
    const { port, range, tuning } = this.#options;
    if (this.#refreshAuth && !this.#needRead) {
      // etcd3 refreshes an expired token on unary calls only (trap 11).
      await port.range({ key: range.start, count_only: true });
      this.#refreshAuth = false;
    }
    if (this.#needRead) {
      await this.#read(current);
      this.#refreshAuth = false;
      await this.#options.hooks?.afterRead?.();
      if (!current()) throw new Stopped();
    }
    try {
      const stream = await WatchStream.open(port, {
        range,
        startRevision: this.#resume,
        idleCheckMs: tuning.idleCheckMs,
        answerTimeoutMs: tuning.answerTimeoutMs,
        patience: this.#patience,
        onResponse: (response, from) => {
          if (current()) this.#applyResponse(response, from);
        },
      });
      if (!current()) {
        stream.close();
        throw new Stopped();
      }
      const lost = this.#historyLost(stream.clusterId, stream.createdRevision);
      if (lost !== undefined) {
        // The watch would wait for revisions long gone, or deliver another history.
        stream.close();
        if (stream.clusterId === this.#clusterId && (await this.#clusterHasApplied(current))) {
          // Only this member is behind (restarting, just thawed, or cut off from the
          // leader): the history is intact, and a resync would sum up changes etcd still
          // holds. Avoid the member and watch again from the resume revision.
          if (stream.member !== undefined) port.suspect(stream.member);
          throw new MemberBehindError(stream.member, stream.createdRevision, this.#resume - 1);
        }
        this.#historyReplaced();
        throw lost;
      }
      this.#options.hooks?.watchCreated?.(stream.call, stream.member);
      return stream;
    } catch (error) {
      if (error instanceof CompactedError) this.#compacted(error.compactRevision);
      throw error;
    }
  }

  /**
   * Whether the cluster, asked by a linearizable read, is at or past the revision already
   * applied, in the same history: then a member answering below it is merely behind.
   */
  async #clusterHasApplied(current: () => boolean): Promise<boolean> {
    const { port, range, tuning } = this.#options;
    const response = await withSoftTimeout(
      port.range({ key: range.start, count_only: true }),
      tuning.readTimeoutMs,
      "etcd revision read",
    );
    if (!current()) throw new Stopped();
    const { cluster_id: clusterId, revision } = response.header;
    return clusterId === this.#clusterId && Number(revision) >= this.#resume - 1;
  }

  /** The watch from the resume revision was compacted at `revision`: read there. */
  #compacted(revision: number): void {
    this.#needRead = true;
    this.#readAt = revision;
  }

  /** etcd's history is not the one applied: read the current state. */
  #historyReplaced(): void {
    this.#needRead = true;
    this.#readAt = undefined;
  }

  async #read(current: () => boolean): Promise<void> {
    const { port, range, tuning } = this.#options;
    let read: Awaited<ReturnType<typeof readRange>>;
    try {
      read = await readRange(port, range, {
        sizer: this.#sizer,
        timeoutMs: tuning.readTimeoutMs,
        revision: this.#readAt,
        signal: this.#reading.signal,
      });
    } catch (error) {
      if (error instanceof GRPCOutOfRangeError && this.#readAt !== undefined) {
        // Compacted again since: watch from the resume revision once more, which fails
        // with the newest compaction's revision, and read there.
        this.#needRead = false;
        this.#readAt = undefined;
      }
      throw error;
    }
    if (!current()) throw new Stopped();
    const previous = this.#resume - 1;
    const dataLost = this.#historyLost(read.clusterId, read.revision) !== undefined;
    // Continue strictly above the last reported revision (see the class's doc).
    if (dataLost)
      this.#offset = Math.max(this.#offset, previous + this.#offset + 1 - read.revision);
    this.#clusterId = read.clusterId;
    const offset = this.#offset;
    const readRevision = read.revision + offset;
    const next = new Map<string, StoredKv>();
    const changes: SyncedChange[] = [];
    for (const kv of read.kvs) {
      const key = keyId(port.prefix, kv.key);
      next.set(key, kv);
      const old = this.#entries.get(key);
      // After data loss revisions mean nothing across the gap: compare the bytes.
      const changed = dataLost
        ? old === undefined || !old.value.equals(kv.value)
        : old === undefined || old.modRevision !== kv.modRevision;
      if (changed) {
        changes.push({ key, kv, revision: dataLost ? readRevision : kv.modRevision + offset });
      }
    }
    for (const key of this.#entries.keys()) {
      if (!next.has(key)) changes.push({ key, kv: undefined, revision: readRevision });
    }
    changes.sort((a, b) => a.revision - b.revision || (a.key < b.key ? -1 : 1));
    this.#entries = next;
    this.#resume = read.revision + 1;
    this.#needRead = false;
    this.#readAt = undefined;
    const { listener, target } = this.#options;
    publishWatchEvent({ type: "read", target, revision: readRevision, keys: next.size });
    if (changes.length > 0) listener.onChanges(changes, readRevision);
    listener.onRead(readRevision);
  }

  #applyResponse(response: IWatchResponse, stream: WatchStream): void {
    const header = Number(response.header.revision);
    const lost = this.#historyLost(response.header.cluster_id, header);
    if (lost !== undefined) {
      this.#historyReplaced();
      this.#transientError(lost);
      stream.close();
      return;
    }
    if (response.events.length === 0) {
      // A progress notification of this watch means every revision up to `header` was
      // delivered. One answering a progress request (watch id -1) is only a sign of life:
      // etcd 3.4 stamps it with the store's revision, not the watch's.
      if (response.watch_id !== "-1" && header + 1 > this.#resume) this.#resume = header + 1;
      return;
    }
    const { prefix } = this.#options.port;
    const offset = this.#offset;
    const changes: SyncedChange[] = [];
    let last = 0;
    for (const event of response.events) {
      const revision = Number(event.kv.mod_revision);
      if (revision < this.#resume) continue; // delivered before a reconnect
      const key = keyId(prefix, event.kv.key);
      if (event.type === "Delete") {
        this.#entries.delete(key);
        changes.push({ key, kv: undefined, revision: revision + offset });
      } else {
        const kv = toStoredKv(event.kv);
        this.#entries.set(key, kv);
        changes.push({ key, kv, revision: revision + offset });
      }
      last = revision;
    }
    if (changes.length === 0) return;
    this.#resume = last + 1;
    this.#options.listener.onChanges(changes, last + offset);
  }

  /**
   * Whether an answer from `clusterId` at store revision `revision` belongs to another
   * history than the state's: a new cluster id, or a revision below the one applied
   * (trap 12). Undefined when it is the same history (or nothing was read yet).
   */
  #historyLost(clusterId: string, revision: number): HistoryLostError | undefined {
    if (this.#resume === 0) return undefined;
    if (this.#clusterId !== "" && clusterId !== "" && clusterId !== this.#clusterId) {
      return new HistoryLostError(`cluster id ${this.#clusterId} became ${clusterId}`);
    }
    const applied = this.#resume - 1;
    if (revision < applied) {
      return new HistoryLostError(`revision went back from ${applied} to ${revision}`);
    }
    return undefined;
  }

  #transientError(error: unknown): void {
    if (error instanceof EtcdInvalidAuthTokenError) this.#refreshAuth = true;
    this.#status({
      state: this.#everLive ? "stale" : "connecting",
      ...(this.#resume > 0 ? { revision: this.#resume + this.#offset } : {}),
      error,
    });
  }

  #fail(cause: unknown): void {
    this.#running = false;
    this.#generation += 1;
    this.#stream?.close();
    this.#stream = undefined;
    const error =
      cause instanceof WatchFailedError ? cause : new WatchFailedError(this.#options.target, cause);
    this.#status({ state: "failed", error });
    this.#options.listener.onFailure(error);
  }

  #status(status: Omit<WatchStatus, "since">): void {
    this.#options.listener.onStatus({ ...status, since: Date.now() });
  }
}
