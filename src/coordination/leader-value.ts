/**
 * The leader of an election as an event value: the key with the lowest create revision
 * under `${name}/`, followed with the etcd values' machinery (one range sync per value,
 * shared by its watchers, started by the first and stopped by the last).
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import { DecodeCache } from "../etcd/decode-cache.js";
import { prefixRange, userKeyOf } from "../etcd/key-range.js";
import type { StoredKv } from "../etcd/range-read.js";
import type { Leader } from "../etcd-types/leader.js";
import type { EventValue, Watcher, WatchOptions } from "../event/contract.js";
import type { Decoder } from "../event/decoders.js";
import { LatestSlot } from "../event/latest-slot.js";
import { followRange, type KeyFollower } from "./key-watch.js";

/** The leader's key: its id and stored value. */
interface LeaderEntry {
  readonly id: string;
  readonly kv: StoredKv;
}

/**
 * Guarantees: see `Watcher.get`. Specific to the leader: `undefined` while nobody
 * campaigns; a new value whenever the leader changes (a new key or term, even with an
 * equal value) or proclaims (even an equal value); revisions are etcd's, the revision
 * at which the leader became what is returned.
 */
export class LeaderValue<T> implements EventValue<Leader<T> | undefined> {
  readonly #slot: LatestSlot<LeaderEntry | undefined>;
  readonly #cache: DecodeCache<T>;

  constructor(client: Etcd3 | Namespace, name: string, decoder: Decoder<T>) {
    this.#cache = new DecodeCache(decoder);
    let follower: KeyFollower | undefined;
    const range = prefixRange(client.prefix, `${name}/`);
    const onState = (entries: ReadonlyMap<string, StoredKv>, revision: number): void => {
      let first: LeaderEntry | undefined;
      for (const [id, kv] of entries) {
        if (first === undefined || kv.createRevision < first.kv.createRevision) first = { id, kv };
      }
      const current = this.#slot.entry;
      const same =
        current?.id === first?.id &&
        current?.kv.createRevision === first?.kv.createRevision &&
        current?.kv.modRevision === first?.kv.modRevision;
      if (!same || !this.#slot.ready)
        this.#slot.publish(first, Math.max(revision, this.#slot.revision));
    };
    this.#slot = new LatestSlot({
      ready: false,
      lifecycle: {
        start: () => {
          follower = followRange(
            client,
            range,
            `election ${JSON.stringify(name)}`,
            onState,
            (error) => this.#slot.fail(error),
          );
        },
        stop: () => {
          follower?.stop();
          follower = undefined;
          this.#slot.reset();
        },
      },
    });
  }

  /** A new watcher; cheap, no I/O until its first `get()`. Guarantees: see `Watcher.get`. */
  watch(options?: WatchOptions): Watcher<Leader<T> | undefined> {
    return this.#slot.watch((entry, revision) => {
      if (entry === undefined) return undefined;
      const key = userKeyOf(entry.id);
      return {
        key,
        value: this.#cache.decode(entry.kv, key, revision),
        createRevision: entry.kv.createRevision,
        revision: entry.kv.modRevision,
      };
    }, options);
  }
}
