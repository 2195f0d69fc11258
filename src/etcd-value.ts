/**
 * `EtcdValue`: one etcd key as an event value.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import type { BackoffOptions } from "exponential-backoff";
import type { KvDecoding } from "./etcd/decode-cache.js";
import { type KeyRange, singleKey } from "./etcd/key-range.js";
import { KeyWriter } from "./etcd/key-writer.js";
import { type EtcdPort, portOf } from "./etcd/port.js";
import type { StoredKv } from "./etcd/range-read.js";
import {
  RangeSync,
  type RangeSyncHooks,
  type RangeSyncListener,
  type RangeSyncOptions,
} from "./etcd/range-sync.js";
import type { SyncedChange } from "./etcd/resync-diff.js";
import type { WatchTuning } from "./etcd/retry-policy.js";
import { StatusSlot } from "./etcd/status-slot.js";
import { type ResolvedOptions, requireString, resolveOptions } from "./etcd/value-options.js";
import type { DecodingOptions, EtcdValueOptions, OptionsFor } from "./etcd-types/value-options.js";
import type { WatchStatus } from "./etcd-types/watch-status.js";
import type { WriteResult } from "./etcd-types/write-options.js";
import type { EventValue, Watcher, WatchOptions } from "./event/contract.js";
import { runDecoder } from "./event/decoders.js";
import type { WatchFailedError } from "./event/errors.js";
import { LatestSlot } from "./event/latest-slot.js";
import type { SourceLifecycle } from "./event/source-state.js";
import type { WriteOptions } from "./write-options.js";

/**
 * One etcd key, decoded: `undefined` while the key is absent (never written, deleted,
 * or its lease expired). An empty value is present, not absent.
 *
 * Guarantees: see `Watcher.get`. Specific to `EtcdValue`:
 * - The first `get()` reads the key (a linearizable read at revision R) and returns its
 *   value, or `undefined` at once if it is absent; updates are watched from R+1, so no
 *   write between the read and the watch is lost. When the value's shared watch is
 *   already running, a new watcher's first `get()` returns the last known value at once,
 *   even while the watch is reconnecting (then it can be older than etcd's value at
 *   `watch()`): `status()` tells, `stale` until the watch is live again.
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
  readonly #core: KeyCore<T>;
  /** Made at the first write: most values are only watched. */
  #writer: KeyWriter<T> | undefined;

  /**
   * @param client an `Etcd3` client or a `Namespace` of one; keys are relative to it.
   *   `createEtcdClient()` builds one with the options the library recommends.
   * @param key the key, relative to the client's namespace; `""` on a `Namespace` is the
   *   namespace prefix itself.
   * @throws TypeError for a client that is not an etcd3 client, a non-string key, a key
   *   with a lone surrogate, an empty key outside a namespace, or malformed options.
   */
  constructor(client: Etcd3 | Namespace, key: string, options: DecodingOptions<T>);
  constructor(client: Etcd3 | Namespace, key: string, ...options: OptionsFor<T>);
  constructor(client: Etcd3 | Namespace, key: string, options?: EtcdValueOptions<T>) {
    const resolved = resolveOptions(client, options);
    requireString("key", key);
    if (key === "" && client.prefix.length === 0) {
      throw new TypeError("Expected `key` to be a non-empty string, got ``");
    }
    this.#core = new KeyCore(portOf(client), singleKey(client.prefix, key), key, resolved);
  }

  /**
   * A new watcher; cheap, no I/O until its first `get()`. Guarantees: see `Watcher.get`;
   * `options`: see `WatchOptions`.
   */
  watch(options?: WatchOptions): Watcher<T | undefined> {
    return this.#core.slot.watch(this.#core, options);
  }

  /**
   * Writes `value` (encoded with the codec), or deletes the key when `value` is
   * `undefined`, and resolves with the outcome: `{ ok: true, revision }` once etcd has
   * applied it (watchers of this and every other value of the key then see it, as any
   * change), or `{ ok: false, … }` when a condition of `options` did not hold (nothing
   * written). See {@link WriteOptions} and {@link WriteResult}.
   *
   * - **At most once**: the request is sent once, outside the client's retry policy. If
   *   it may have been applied without an answer (sent, then the connection failed, no
   *   answer within 10 s, or etcd's "request timed out" or "leader changed"), `set`
   *   rejects with `AmbiguousWriteError` and does not send it again: the write may still
   *   appear later. Read the key and compare its mod revision to learn the outcome.
   * - **Waits out outages**: a request that certainly was not applied (no connection, no
   *   member reachable, every circuit breaker open, etcd without a leader) is sent again
   *   with the value's `backoff`, until etcd answers or `options.signal` aborts (rejects
   *   with `signal.reason`; nothing written). For a bound: `AbortSignal.timeout(ms)`.
   * - **Refused for good**: permission denied, an unknown or revoked lease, a value over
   *   etcd's request size limit (`--max-request-bytes`, 1.5 MiB by default), a full
   *   database, a closed client: rejects with `WriteFailedError` (`cause`: etcd's error).
   * - **Encoding first**: an encoder that throws, or a schema that rejects the value,
   *   rejects with `EncodeError` (with `issues` for a schema) before anything is sent.
   * - A value made with only a `decoder` cannot be written: rejects with a `TypeError`.
   *   Malformed options: `TypeError`.
   *
   * Concurrency: any number of writes may be in flight; etcd orders them. A `Namespace`
   * client writes under its prefix, like it reads.
   */
  set(value: T | undefined, options?: WriteOptions): Promise<WriteResult<T>> {
    return this.#write().set(value, options);
  }

  /**
   * Compare-and-set: calls `fn` with the current value (`undefined`: absent), writes what
   * it returns only if the key has not changed since (same mod revision), and on a
   * conflict calls `fn` again with the newer value, until the write applies, a guard
   * fails (`{ ok: false, reason: "guard" }`) or `options.signal` aborts.
   *
   * - `fn` may run several times and must have no side effects. Returning `current`
   *   itself (`===`) writes nothing and resolves `{ ok: true, revision }` with the key's
   *   mod revision (0: absent); returning `undefined` deletes the key. A throw rejects
   *   `update` with what was thrown.
   * - `fn` never sees a value older than one a watcher of this `EtcdValue` has already
   *   returned: while the value is watched, the first call gets the watched value (one
   *   round trip when it is current), else the key is read first.
   * - After a conflict, `update` waits a random delay before trying again: up to the
   *   last round trip (at most 100 ms), doubling per conflict in a row up to 8 round
   *   trips, so contending updaters spread out rather than collide again.
   * - Each write attempt is at most once, and waits out outages, as in {@link set}:
   *   `AmbiguousWriteError` ends the loop (the write may still apply; `fn` is not called
   *   again). A value that fails to decode rejects with `DecodeError`.
   */
  update(
    fn: (current: T | undefined) => T | undefined,
    options?: Omit<WriteOptions, "ifRevision">,
  ): Promise<WriteResult<T>> {
    return this.#write().update(fn, options);
  }

  /**
   * The health of this value's shared watch. Watching it starts no I/O: while no watcher
   * of the value is open, the state is `connecting`. See {@link WatchStatus}.
   */
  status(): EventValue<WatchStatus> {
    return this.#core.status;
  }

  #write(): KeyWriter<T> {
    this.#writer ??= this.#core.writer();
    return this.#writer;
  }
}

/**
 * The parts of one {@link EtcdValue}, in one object that is also its sync's listener,
 * its slot's lifecycle and its watchers' reader: a value held by a process watching ten
 * thousand keys keeps no callback made for it.
 */
class KeyCore<T> implements KvDecoding<T>, RangeSyncListener, RangeSyncOptions, SourceLifecycle {
  readonly slot: LatestSlot<StoredKv | undefined>;
  readonly status = new StatusSlot();
  readonly port: EtcdPort;
  readonly range: KeyRange;
  readonly #key: string;
  readonly #options: ResolvedOptions<T>;
  readonly #sync: RangeSync;
  /** The newest entry decoded, and its value: decoded once for every watcher. */
  #decodedKv: StoredKv | undefined;
  #decoded: T | undefined;

  constructor(port: EtcdPort, range: KeyRange, key: string, options: ResolvedOptions<T>) {
    this.port = port;
    this.range = range;
    this.#key = key;
    this.#options = options;
    this.slot = new LatestSlot({ ready: false, lifecycle: this });
    this.#sync = new RangeSync(this); // these are its options
  }

  // The sync's options (see `RangeSyncOptions`), read from the value's.
  get target(): string {
    return `key ${JSON.stringify(this.#key)}`;
  }
  get backoff(): BackoffOptions {
    return this.#options.backoff;
  }
  get tuning(): WatchTuning {
    return this.#options.tuning;
  }
  get hooks(): RangeSyncHooks | undefined {
    return this.#options.hooks;
  }
  get listener(): RangeSyncListener {
    return this;
  }

  /** The value's writer (made once, by `EtcdValue`). */
  writer(): KeyWriter<T> {
    const { encoder, backoff, tuning } = this.#options;
    return new KeyWriter({
      port: this.port,
      key: this.#key,
      encoder,
      cache: this,
      backoff,
      tuning,
      latest: () =>
        this.slot.ready ? { kv: this.slot.entry, revision: this.slot.revision } : undefined,
    });
  }

  /** A watcher's value: the entry decoded (once for all watchers). */
  read(kv: StoredKv | undefined, revision: number): T | undefined {
    return kv === undefined ? undefined : this.decode(kv, this.#key, revision);
  }

  /**
   * `kv` decoded. The slot's entry is decoded once, for every watcher and the writer
   * (kept here, not on the entry: a property added to it would cost a property array);
   * any other (a read of the writer's own) each time. Failures are not kept: each
   * watcher that reaches a bad value gets its own `DecodeError`.
   */
  decode(kv: StoredKv, key: string, revision: number): T {
    if (kv === this.#decodedKv) return this.#decoded as T;
    const value = runDecoder(this.#options.decoder, kv.value, key, revision);
    if (kv === this.slot.entry) {
      this.#decodedKv = kv;
      this.#decoded = value;
    }
    return value;
  }

  onChanges(changes: readonly SyncedChange[]): void {
    const last = changes.at(-1);
    if (last !== undefined) this.slot.publish(last.kv, last.revision);
  }

  onRead(revision: number): void {
    if (!this.slot.ready) this.slot.publish(undefined, revision); // found absent
  }

  onStatus(status: WatchStatus): void {
    this.status.set(status);
  }

  onFailure(error: WatchFailedError): void {
    this.slot.fail(error);
  }

  start(): void {
    this.#sync.start();
  }

  stop(): void {
    this.#sync.stop();
    this.slot.reset();
  }
}
