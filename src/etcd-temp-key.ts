/**
 * `EtcdTempKey`: an ephemeral key, kept in etcd under a lease of its own and written
 * again under a new lease whenever it is lost, until closed.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import { ClientClosedError, type Etcd3, type Namespace } from "etcd3";
import { followKey } from "./coordination/key-watch.js";
import { retryTransient } from "./coordination/retry.js";
import { fullKey } from "./coordination/txn.js";
import { requireEtcdClient } from "./etcd/port.js";
import { DEFAULT_BACKOFF } from "./etcd/retry-policy.js";
import { requireString } from "./etcd/value-options.js";
import { EtcdLease, requireTtl } from "./etcd-lease.js";
import type { EventValue, Watcher, WatchOptions } from "./event/contract.js";
import { LatestSlot } from "./event/latest-slot.js";

/** Options of {@link EtcdTempKey}. */
export interface EtcdTempKeyOptions {
  /** TTL of the key's lease, in whole seconds; default 10. */
  ttl?: number;
}

/**
 * The "ephemeral key" of the anchors (hmetcd's `TempKey`, ZooKeeper's ephemeral node):
 * from construction on, `key` holds `value` in etcd under a lease of this object's own,
 * kept alive at a third of its TTL. When the lease is lost (expired, revoked by anyone)
 * or the key is deleted or overwritten by someone else, the key is written again under a
 * new lease: at once, then, if it keeps being lost within a TTL, after a random delay
 * whose bound doubles from 50 ms to 1000 ms. Transient faults are retried the same way.
 * Keepalives never write the key: its watchers see nothing while it lives.
 *
 * `watch()`: true while the key is in etcd under this object's live lease, false while
 * it is not, or may not be (revisions count the changes, 1 for the first `false`).
 * Guarantees: see `Watcher.get`. It starts no I/O of its own.
 *
 * `close()` ends it for good: the lease is revoked, so etcd deletes the key if it is
 * still this object's (a key overwritten by someone else without our lease is left
 * alone); watchers see `false`, then their gets reject with `WatcherClosedError` and
 * their loops end. A temp key
 * keeps the process alive (its lease's keepalives) until closed. Once the client is
 * closed, it stops trying (and stays `false`).
 */
export class EtcdTempKey implements EventValue<boolean> {
  readonly #client: Etcd3 | Namespace;
  readonly #key: string;
  readonly #value: Buffer;
  readonly #ttl: number;
  readonly #slot = new LatestSlot<boolean>();
  readonly #closing = new AbortController();
  #changes = 0;
  #lease: EtcdLease | undefined;
  readonly #loop: Promise<void>;
  #closed: Promise<void> | undefined;

  /**
   * @param client an `Etcd3` client or a `Namespace`; the key is relative to it.
   * @param key the key to keep.
   * @param value its value: bytes, or a string written as UTF-8.
   * @throws TypeError for a bad client, key, value or `ttl`.
   */
  constructor(
    client: Etcd3 | Namespace,
    key: string,
    value: Uint8Array | string,
    options: EtcdTempKeyOptions = {},
  ) {
    requireEtcdClient(client, "an Etcd3 client or a Namespace of one", true);
    if (requireString("key", key) === "" && client.prefix.length === 0) {
      throw new TypeError("Expected `key` to be a non-empty string, got ``");
    }
    if (typeof value !== "string" && !(value instanceof Uint8Array)) {
      throw new TypeError("Expected `value` to be a Uint8Array or a string");
    }
    this.#client = client;
    this.#key = key;
    this.#value = Buffer.from(value);
    this.#ttl = requireTtl(options.ttl);
    this.#set(false);
    this.#loop = this.#run();
  }

  /** A new watcher of whether the key is there. Guarantees: see `Watcher.get`. */
  watch(options?: WatchOptions): Watcher<boolean> {
    return this.#slot.watch((present) => present, options);
  }

  /** Stops re-creating the key, revokes its lease (etcd deletes the key). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      await this.#loop;
      await this.#lease?.revoke().catch(() => {});
      this.#set(false);
      this.#slot.close();
    })();
    return this.#closed;
  }

  async #run(): Promise<void> {
    const signal = this.#closing.signal;
    let bound = DEFAULT_BACKOFF.startingDelay ?? 50;
    while (!signal.aborted) {
      const started = performance.now();
      try {
        await this.#hold(signal);
      } catch (error) {
        this.#set(false);
        if (error instanceof ClientClosedError) return; // nothing can be written any more
        // another permanent failure (permission denied): try again, slowly
        bound = DEFAULT_BACKOFF.maxDelay ?? 1000;
      }
      this.#set(false);
      if (signal.aborted) return;
      // Lost soon after it was written: someone keeps deleting it, or etcd is unwell.
      if (performance.now() - started > this.#ttl * 1000)
        bound = DEFAULT_BACKOFF.startingDelay ?? 50;
      await sleep(Math.random() * bound, undefined, { signal }).catch(() => {});
      bound = Math.min(bound * 2, DEFAULT_BACKOFF.maxDelay ?? 1000);
    }
  }

  /** Writes the key under a new lease and resolves once it is lost (or closing). */
  async #hold(closing: AbortSignal): Promise<void> {
    const previous = this.#lease;
    this.#lease = undefined;
    await previous?.revoke().catch(() => {});
    const lease = await EtcdLease.grant(this.#client, { ttl: this.#ttl, signal: closing });
    this.#lease = lease;
    const key = fullKey(this.#client, this.#key);
    const put = await retryTransient(
      () => this.#client.kv.put({ key, value: this.#value, lease: lease.id }),
      {
        signal: AbortSignal.any([closing, lease.signal]),
        what: `etcd put of temp key ${JSON.stringify(this.#key)}`,
      },
    );
    const written = Number(put.header.revision);
    await new Promise<void>((resolve, reject) => {
      const follower = followKey(
        this.#client,
        this.#key,
        (kv) => {
          if (kv !== undefined && kv.lease === lease.id && kv.modRevision >= written) {
            this.#set(true);
          } else if (kv === undefined || kv.lease !== lease.id || kv.modRevision > written) {
            finish(); // deleted, or overwritten by someone else
          }
        },
        (error) => finish(error),
      );
      const stop = AbortSignal.any([closing, lease.signal]);
      const finish = (error?: unknown): void => {
        follower.stop();
        stop.removeEventListener("abort", onStop);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onStop = (): void => finish();
      if (stop.aborted) finish();
      else stop.addEventListener("abort", onStop, { once: true });
    });
  }

  #set(present: boolean): void {
    if (this.#changes > 0 && this.#slot.entry === present) return;
    this.#changes += 1;
    this.#slot.publish(present, this.#changes);
  }
}
