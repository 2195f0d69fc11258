/**
 * The applied state of one key range: its keys, the revision to resume watching from,
 * and the offset added to etcd's revisions for watchers. Whole reads and watch responses
 * are applied here and turned into the changes watchers see. No I/O, no clock.
 *
 * @module
 */

import type { IWatchResponse } from "etcd3";
import type { HistoryLostError } from "../event/errors.js";
import { keyId } from "./key-range.js";
import { OneKeyMap } from "./one-key-map.js";
import { type RangeRead, type StoredKv, toStoredKv } from "./range-read.js";
import {
  type AppliedState,
  applyRead,
  historyLost,
  type ReadApplied,
  type SyncedChange,
} from "./resync-diff.js";

/** Changes applied from one watch response. */
export interface EventsApplied {
  /** In revision order; at least one. */
  readonly changes: readonly SyncedChange[];
  /** The state's revision after them, as watchers see it. */
  readonly revision: number;
}

/**
 * The state of one key range as applied so far.
 *
 * Revisions: the state owns its resume revision (the revision after the last event it
 * applied), never etcd3's, and drops events below it, so delivery across reconnects is
 * exactly once. Revisions reported to watchers are etcd's, plus an offset that is 0
 * until etcd's history is ever seen replaced (see `applyRead`).
 */
export class RangeState {
  readonly #prefix: Buffer;
  /** Whether the range is a single key: its entries are then a {@link OneKeyMap}. */
  readonly #single: boolean;
  #entries: Map<string, StoredKv>;
  #resume = 0;
  #offset = 0;
  /** The cluster the state was read from; "" before the first read. */
  #clusterId = "";

  /**
   * @param prefix the namespace prefix that keys carry, stripped from key ids.
   * @param single whether the range is a single key (its state then keeps no hash table).
   */
  constructor(prefix: Buffer, single = false) {
    this.#prefix = prefix;
    this.#single = single;
    this.#entries = this.#empty();
  }

  /** The present keys and their values, by key id. Replaced on each read: don't keep. */
  get entries(): ReadonlyMap<string, StoredKv> {
    return this.#entries;
  }

  /** The etcd revision to watch from: the one after the last applied; 0 before a read. */
  get resume(): number {
    return this.#resume;
  }

  /** The cluster the state was read from; "" before the first read. */
  get clusterId(): string {
    return this.#clusterId;
  }

  /** Added to etcd's revisions for watchers; grows only after history was replaced. */
  get offset(): number {
    return this.#offset;
  }

  /** The state's revision as watchers see it; 0 before the first read. */
  get revision(): number {
    return this.#resume === 0 ? 0 : this.#resume - 1 + this.#offset;
  }

  /** The resume revision as watchers see it (what a status reports). */
  get resumeRevision(): number {
    return this.#resume + this.#offset;
  }

  /** A stored value's revision as watchers see it (etcd's plus the offset). */
  revisionOf(kv: StoredKv): number {
    return kv.modRevision + this.#offset;
  }

  /** Drops the keys; revisions, offset and cluster stay, so later reads stay ordered. */
  clearEntries(): void {
    this.#entries = this.#empty();
  }

  /** See {@link historyLost}: whether an answer belongs to another history. */
  historyLost(clusterId: string, revision: number): HistoryLostError | undefined {
    return historyLost(this.#snapshot(), clusterId, revision);
  }

  /** Replaces the state with a whole read; returns what changed (see {@link applyRead}). */
  applyRead(read: RangeRead): ReadApplied {
    const applied = applyRead(this.#snapshot(), read, this.#prefix, this.#empty());
    this.#entries = applied.entries;
    this.#resume = applied.resume;
    this.#offset = applied.offset;
    this.#clusterId = applied.clusterId;
    return applied;
  }

  /**
   * Applies one watch response of the same history (check {@link historyLost} first).
   * Events below the resume revision were delivered before a reconnect and are dropped.
   * A response without events is a progress notification: every revision up to its
   * header was delivered, and the resume revision moves past it. Returns undefined when
   * nothing changed.
   */
  applyResponse(response: IWatchResponse): EventsApplied | undefined {
    if (response.events.length === 0) {
      const header = Number(response.header.revision);
      if (header + 1 > this.#resume) this.#resume = header + 1;
      return undefined;
    }
    const offset = this.#offset;
    const changes: SyncedChange[] = [];
    let last = 0;
    for (const event of response.events) {
      const revision = Number(event.kv.mod_revision);
      if (revision < this.#resume) continue; // delivered before a reconnect
      const key = keyId(this.#prefix, event.kv.key);
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
    if (changes.length === 0) return undefined;
    this.#resume = last + 1;
    return { changes, revision: last + offset };
  }

  #empty(): Map<string, StoredKv> {
    return this.#single ? new OneKeyMap() : new Map();
  }

  #snapshot(): AppliedState {
    return {
      entries: this.#entries,
      resume: this.#resume,
      offset: this.#offset,
      clusterId: this.#clusterId,
    };
  }
}
