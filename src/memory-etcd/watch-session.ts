/**
 * The watchers of one gRPC watch stream, as etcd 3.4.23 serves them
 * (`v3rpc/watch.go`, `mvcc/watchable_store.go`):
 *
 * - create: answered first with `created` at the current revision; an empty range or a
 *   duplicate ID gets `created` + `canceled` with `watch_id` -1 and etcd's reason. IDs
 *   are assigned from 0 per stream, never reused.
 * - synced watchers (start 0 or in the future) get one response per revision, header =
 *   that revision; others catch up from the log in batches of ≤ 1000 revisions with
 *   header = the store's revision, then become synced. A start below the compact
 *   revision: a response with `compact_revision`, header revision 0, and the watcher is
 *   gone.
 * - filters drop events; a response left empty is not sent. `prev_kv` comes from
 *   history at `mod_revision - 1`, absent for creations or when compacted.
 * - cancel: acknowledged with `canceled`; an unknown ID gets no answer.
 * - progress request: answered at once with `watch_id` -1 at the current revision
 *   (3.4.23, even while watchers catch up); `progress_notify` ticks send an empty
 *   response to each synced watcher that had no event since the last tick.
 *
 * @module
 */

import { inRange, type Key, type KeyRange, keyOf } from "./keys.js";
import { plainEvent } from "./kv-shape.js";
import type { KeyValue, LogEntry, MvccStore, StoredEvent } from "./mvcc.js";
import type { Plain, WatchCreateRequest, WatchRequest } from "./wire-types.js";

/** etcd's `watchBatchMaxRevs`. */
export const MAX_CATCH_UP_REVISIONS = 1000;

/** What a session needs from the server. */
export interface WatchHost {
  readonly store: MvccStore;
  /** A full response header at `revision`. */
  header(revision: number): Plain;
  /** Runs `fn` later, in order, not while frozen (used for catch-up passes). */
  later(fn: () => void): void;
  /** Interval of `progress_notify` ticks, in ms. */
  readonly progressNotifyIntervalMs: number;
}

interface Watcher {
  readonly id: number;
  readonly range: KeyRange;
  minRev: number;
  synced: boolean;
  /**
   * Compacted away while `compact_revision` was 0 (a compaction at revision 0): etcd then
   * sends the compaction response with `canceled` false and drops the watcher, but the
   * stream keeps its ID (a cancel request is still answered).
   */
  dropped?: true;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  readonly fragment: boolean;
  /** `progress_notify` was asked: due for a tick when true (etcd's `progress[id]`). */
  progressDue: boolean | undefined;
}

/** One watch stream's watchers. */
export class WatchSession {
  readonly #host: WatchHost;
  readonly #send: (response: Plain, fragment?: boolean) => void;
  readonly #watchers = new Map<number, Watcher>();
  #nextId = 0;
  #syncScheduled = false;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * @param send queues one response on the stream, in order; `fragment`: the watcher
   *   asked for large responses to be split
   */
  constructor(host: WatchHost, send: (response: Plain, fragment?: boolean) => void) {
    this.#host = host;
    this.#send = send;
  }

  /** Handles one request from the client. */
  handle(request: WatchRequest): void {
    if (this.#closed) return;
    switch (request.request_union) {
      case "create_request":
        this.#create(request.create_request as WatchCreateRequest);
        break;
      case "cancel_request":
        this.#cancel(Number(request.cancel_request?.watch_id));
        break;
      case "progress_request":
        this.#send({ header: this.#host.header(this.#host.store.revision), watch_id: -1 });
        break;
    }
  }

  /** Delivers a new revision to synced watchers. */
  notify(entry: LogEntry): void {
    for (const watcher of this.#watchers.values()) {
      if (!watcher.synced || entry.revision < watcher.minRev) continue;
      const events = entry.events.filter((event) => inRange(watcher.range, event.kv.key));
      if (events.length > 0) this.#deliver(watcher, events, entry.revision);
    }
  }

  /** Ends every watcher and the ticker. */
  close(): void {
    this.#closed = true;
    this.#watchers.clear();
    if (this.#ticker !== undefined) globalThis.clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #create(request: WatchCreateRequest): void {
    const store = this.#host.store;
    const current = store.revision;
    const key: Key = request.key.length === 0 ? "\0" : keyOf(request.key);
    const end = request.range_end ?? Buffer.alloc(0);
    const range: KeyRange = {
      start: key,
      end: end.length === 0 ? undefined : end.length === 1 && end[0] === 0 ? "" : keyOf(end),
    };
    let requested = Number(request.watch_id);
    let reason: string | undefined;
    if (range.end !== undefined && range.end !== "" && key >= range.end) {
      reason = "mvcc: watcher range is empty";
    } else if (requested === 0) {
      while (this.#watchers.has(this.#nextId)) this.#nextId++;
      requested = this.#nextId++;
    } else if (this.#watchers.has(requested)) {
      reason = "mvcc: duplicate watch ID provided on the WatchStream";
    }
    if (reason !== undefined) {
      this.#send({
        header: this.#host.header(current),
        watch_id: -1,
        created: true,
        canceled: true,
        cancel_reason: reason,
      });
      return;
    }
    const start = Number(request.start_revision);
    const minRev = start === 0 ? current + 1 : start;
    const watcher: Watcher = {
      id: requested,
      range,
      minRev,
      synced: start === 0 || start > current,
      noPut: request.filters.includes("Noput"),
      noDelete: request.filters.includes("Nodelete"),
      prevKv: request.prev_kv,
      fragment: request.fragment,
      progressDue: request.progress_notify ? true : undefined,
    };
    this.#watchers.set(watcher.id, watcher);
    this.#send({ header: this.#host.header(current), watch_id: watcher.id, created: true });
    if (watcher.progressDue !== undefined) this.#startTicker();
    if (!watcher.synced) this.#scheduleSync();
  }

  #cancel(id: number): void {
    if (!this.#watchers.delete(id)) return;
    this.#send({
      header: this.#host.header(this.#host.store.revision),
      watch_id: id,
      canceled: true,
    });
  }

  #deliver(watcher: Watcher, events: StoredEvent[], headerRevision: number): void {
    const kept = events.filter(
      (event) => !(event.type === "put" ? watcher.noPut : watcher.noDelete),
    );
    if (kept.length === 0) return;
    this.#send(
      {
        header: this.#host.header(headerRevision),
        watch_id: watcher.id,
        events: kept.map((event) =>
          plainEvent(event, watcher.prevKv ? this.#previous(event) : undefined),
        ),
      },
      watcher.fragment,
    );
    if (watcher.progressDue !== undefined) watcher.progressDue = false;
  }

  #previous(event: StoredEvent): KeyValue | undefined {
    const kv = event.kv;
    if (event.type === "put" && kv.createRevision === kv.modRevision) return undefined;
    const store = this.#host.store;
    const revision = kv.modRevision - 1;
    if (revision < store.compactRevision) return undefined;
    return store.get(kv.key, revision);
  }

  #scheduleSync(): void {
    if (this.#syncScheduled) return;
    this.#syncScheduled = true;
    this.#host.later(() => {
      this.#syncScheduled = false;
      if (!this.#closed) this.#syncPass();
    });
  }

  /** etcd's `syncWatchers` for this stream's unsynced watchers. */
  #syncPass(): void {
    const store = this.#host.store;
    const current = store.revision;
    let more = false;
    for (const watcher of [...this.#watchers.values()]) {
      if (watcher.synced || watcher.dropped) continue;
      if (watcher.minRev < store.compactRevision) {
        // etcd's sendLoop derives `canceled` from `compact_revision != 0`.
        const canceled = store.compactRevision !== 0;
        if (canceled) this.#watchers.delete(watcher.id);
        else watcher.dropped = true;
        this.#send({
          header: this.#host.header(0),
          watch_id: watcher.id,
          canceled,
          compact_revision: store.compactRevision,
        });
        continue;
      }
      const events: StoredEvent[] = [];
      let revisions = 0;
      let moreRev = 0;
      // etcd 3.4.23 reads history from `minRev` as revision bytes: a negative start
      // revision encodes above every stored one, so it replays nothing, then goes live.
      for (const entry of watcher.minRev < 0 ? [] : store.logFrom(watcher.minRev)) {
        if (entry.revision > current) break;
        const matching = entry.events.filter((event) => inRange(watcher.range, event.kv.key));
        if (matching.length === 0) continue;
        if (++revisions > MAX_CATCH_UP_REVISIONS) {
          moreRev = entry.revision;
          break;
        }
        events.push(...matching);
      }
      watcher.minRev = moreRev !== 0 ? moreRev : current + 1;
      if (events.length > 0) this.#deliver(watcher, events, current);
      if (moreRev !== 0) more = true;
      else watcher.synced = true;
    }
    if (more) this.#scheduleSync();
  }

  #startTicker(): void {
    if (this.#ticker !== undefined) return;
    this.#ticker = globalThis.setInterval(() => {
      this.#host.later(() => this.#tick());
    }, this.#host.progressNotifyIntervalMs);
    (this.#ticker as { unref?: () => void }).unref?.();
  }

  #tick(): void {
    if (this.#closed) return;
    const revision = this.#host.store.revision;
    for (const watcher of this.#watchers.values()) {
      if (watcher.progressDue === undefined) continue;
      if (watcher.progressDue && watcher.synced) {
        this.#send({ header: this.#host.header(revision), watch_id: watcher.id });
      }
      watcher.progressDue = true;
    }
  }
}
