/**
 * Waiting on etcd keys with the machinery of the etcd values (`RangeSync`): a read at R,
 * a watch from R+1, reconnects from the library's own resume revision, compaction and
 * data loss mended by reading again. A waiter sees the keys' current state after every
 * change, never an error for a transient fault.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import { type KeyRange, singleKey } from "../etcd/key-range.js";
import { portOf } from "../etcd/port.js";
import type { StoredKv } from "../etcd/range-read.js";
import { RangeSync } from "../etcd/range-sync.js";
import { DEFAULT_BACKOFF, DEFAULT_TUNING } from "../etcd/retry-policy.js";

/** Follows one key until stopped; see {@link followKey}. */
export interface KeyFollower {
  /** Stops watching; idempotent. */
  stop(): void;
}

/**
 * Calls `onState` with `key`'s stored value (undefined: absent) after the first read and
 * after every change, until `stop()`; `onFailure` once on a permanent failure (then it
 * has stopped). A change and its reversal between two looks may be seen as one state:
 * compare create revisions to tell a re-created key from the same one.
 */
export function followKey(
  client: Etcd3 | Namespace,
  key: string,
  onState: (kv: StoredKv | undefined) => void,
  onFailure: (error: Error) => void,
): KeyFollower {
  return followRange(
    client,
    singleKey(client.prefix, key),
    `key ${JSON.stringify(key)}`,
    (entries) => {
      const [kv] = entries.values();
      onState(kv);
    },
    onFailure,
  );
}

/**
 * Calls `onState` with every present key of `range` (by key id) after the first read and
 * after every applied change, until `stop()`. The map is the sync's own: do not keep it.
 */
export function followRange(
  client: Etcd3 | Namespace,
  range: KeyRange,
  target: string,
  onState: (entries: ReadonlyMap<string, StoredKv>, revision: number) => void,
  onFailure: (error: Error) => void,
): KeyFollower {
  let stopped = false;
  let ready = false;
  const sync: RangeSync = new RangeSync({
    port: portOf(client),
    range,
    target,
    backoff: DEFAULT_BACKOFF,
    tuning: DEFAULT_TUNING,
    listener: {
      onChanges: (_changes, revision) => {
        if (ready && !stopped) onState(sync.entries, revision);
      },
      onRead: (revision) => {
        ready = true;
        if (!stopped) onState(sync.entries, revision);
      },
      onStatus: () => {},
      onFailure: (error) => {
        if (!stopped) onFailure(error);
      },
    },
  });
  sync.start();
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      sync.stop();
    },
  };
}
