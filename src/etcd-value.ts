/**
 * `EtcdValue`: one etcd key as an event value.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import { DecodeCache } from "./etcd/decode-cache.js";
import { singleKey } from "./etcd/key-range.js";
import { portOf } from "./etcd/port.js";
import type { StoredKv } from "./etcd/range-read.js";
import { RangeSync } from "./etcd/range-sync.js";
import { StatusSlot } from "./etcd/status-slot.js";
import { type EtcdValueOptions, requireString, resolveOptions } from "./etcd/value-options.js";
import type { WatchStatus } from "./etcd/watch-status.js";
import type { EventValue, Watcher, WatchOptions } from "./event/contract.js";
import { LatestSlot } from "./event/latest-slot.js";

/**
 * One etcd key, decoded: `undefined` while the key is absent (never written, deleted,
 * or its lease expired). An empty value is present, not absent.
 *
 * Guarantees: see `Watcher.get`. Specific to `EtcdValue`:
 * - The first `get()` reads the key (a linearizable read at revision R) and returns its
 *   value, or `undefined` at once if it is absent; updates are watched from R+1, so no
 *   write between the read and the watch is lost.
 * - Revisions are etcd's: the key's mod revision; for a deletion, the delete's revision;
 *   for a key found absent by a read, that read's revision. A put of identical bytes is
 *   a new revision and wakes watchers.
 * - All watchers of one `EtcdValue` share one etcd watch, opened at the first `get()` of
 *   any of them and closed when the last of them closes. Separate `EtcdValue` objects
 *   for the same key do not share.
 * - Transient faults (member down, failover, stalled stream, compaction, expired auth
 *   token) are retried with `options.backoff` and never thrown: `get()` waits, and after
 *   recovery returns the newest value. Compaction or data loss: the key is read again
 *   and a difference reported as an update. `status()` shows what is happening.
 * - Permanent faults (permission denied, bad credentials, a TLS certificate refused by
 *   either side, closed client): every watcher rejects with `WatchFailedError` (`cause`:
 *   the etcd error; for TLS, etcd3's `GRPCUnavailableError` whose message names the
 *   certificate problem). A later `get()` on a new watcher, after every failed one has
 *   closed, tries again.
 * - `client.close()` while watching: etcd3 leaves open streams running; the watch notices
 *   the closed client within 3 s and fails with `WatchFailedError` (`cause`:
 *   `ClientClosedError`), releasing everything, so the process can exit even if the
 *   failed watchers are never closed.
 * - A watcher dropped without `close()` keeps the etcd watch while it has a pending
 *   `get()`; once it has none and is garbage-collected, it is released as by `close()`
 *   (when is up to the garbage collector: close watchers).
 * - Keys are strings, sent as UTF-8: any string (`\0`, tens of KiB) except one with a
 *   lone surrogate, which has no UTF-8 encoding (`TypeError`). Values are bytes up to
 *   etcd's request limit (`--max-request-bytes`, 1.5 MiB by default; larger puts are
 *   refused by etcd, so never seen by watchers).
 * - Decoded values are shared by all watchers: do not mutate them.
 */
export class EtcdValue<T = Uint8Array> implements EventValue<T | undefined> {
  readonly #slot: LatestSlot<StoredKv | undefined>;
  readonly #status = new StatusSlot();
  readonly #cache: DecodeCache<T>;
  readonly #key: string;

  /**
   * @param client an `Etcd3` client or a `Namespace` of one; keys are relative to it.
   *   `createEtcdClient()` builds one with the options the library recommends.
   * @param key the key, relative to the client's namespace; `""` on a `Namespace` is the
   *   namespace prefix itself.
   * @throws TypeError for a client that is not an etcd3 client, a non-string key, a key
   *   with a lone surrogate, an empty key outside a namespace, or malformed options.
   */
  constructor(client: Etcd3 | Namespace, key: string, options?: EtcdValueOptions<T>) {
    const resolved = resolveOptions(client, options);
    this.#key = requireString("key", key);
    if (key === "" && client.prefix.length === 0) {
      throw new TypeError("Expected `key` to be a non-empty string, got ``");
    }
    this.#cache = new DecodeCache(resolved.decoder);
    const sync = new RangeSync({
      port: portOf(client),
      range: singleKey(client.prefix, key),
      target: `key ${JSON.stringify(key)}`,
      backoff: resolved.backoff,
      tuning: resolved.tuning,
      hooks: resolved.hooks,
      listener: {
        onChanges: (changes) => {
          const last = changes.at(-1);
          if (last !== undefined) this.#slot.publish(last.kv, last.revision);
        },
        onRead: (revision) => {
          if (!this.#slot.ready) this.#slot.publish(undefined, revision); // found absent
        },
        onStatus: (status) => this.#status.set(status),
        onFailure: (error) => this.#slot.fail(error),
      },
    });
    this.#slot = new LatestSlot({
      ready: false,
      lifecycle: {
        start: () => sync.start(),
        stop: () => {
          sync.stop();
          this.#slot.reset();
        },
      },
    });
  }

  /**
   * A new watcher; cheap, no I/O until its first `get()`. Guarantees: see `Watcher.get`;
   * `options`: see `WatchOptions`.
   */
  watch(options?: WatchOptions): Watcher<T | undefined> {
    return this.#slot.watch(
      (kv, revision) =>
        kv === undefined ? undefined : this.#cache.decode(kv, this.#key, revision),
      options,
    );
  }

  /**
   * The health of this value's shared watch. Watching it starts no I/O: while no watcher
   * of the value is open, the state is `connecting`. See {@link WatchStatus}.
   */
  status(): EventValue<WatchStatus> {
    return this.#status;
  }
}
