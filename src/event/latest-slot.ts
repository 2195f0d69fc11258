/**
 * The latest-wins slot: shared state holding only the newest entry and its revision.
 * Watchers keep a cursor (the revision they last took) and take the entry when it is
 * newer. Memory is O(1) per slot and per watcher, however many entries are published.
 *
 * @module
 */

import { BaseWatcher, type Taken, type WatchSource } from "./base-watcher.js";
import type { Watcher } from "./contract.js";
import { Notifier } from "./notifier.js";

/** What a slot does when its first watcher starts and its last one closes. */
export interface SlotLifecycle {
  /** The first watcher called `get()`: start producing entries. */
  start(): void;
  /** The last such watcher closed: release every resource. */
  stop(): void;
}

/**
 * Holds the newest entry of type `E` with its revision, and wakes watchers when it
 * changes. Not a public API: values build on it.
 */
export class LatestSlot<E> implements WatchSource {
  readonly changes = new Notifier();
  readonly #lifecycle: SlotLifecycle | undefined;
  #entry: E | undefined;
  #revision = 0;
  #ready: boolean;
  #failure: Error | undefined;
  #closed = false;
  #users = 0;

  /**
   * @param options.ready whether the initial state is already known (default `true`;
   *   `false` makes watchers wait for the first `publish()`).
   * @param options.lifecycle started by the first watcher's `get()`, stopped when the
   *   last of those watchers closes (and started again by a later one).
   */
  constructor(options: { ready?: boolean; lifecycle?: SlotLifecycle } = {}) {
    this.#ready = options.ready ?? true;
    this.#lifecycle = options.lifecycle;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Revision of the current entry; 0 when there is none. */
  get revision(): number {
    return this.#revision;
  }

  /** The current entry, if any. */
  get entry(): E | undefined {
    return this.#entry;
  }

  /** The number of watchers that called `get()` and have not closed. */
  get users(): number {
    return this.#users;
  }

  /**
   * Replaces the entry and wakes every waiting watcher, even when the entry is equal to
   * the previous one. Watchers take it when `revision` is higher than the last revision
   * they took; republishing at the same revision only marks the slot ready.
   */
  publish(entry: E, revision: number): void {
    this.#entry = entry;
    this.#revision = revision;
    this.#ready = true;
    this.changes.notify();
  }

  /**
   * Forgets readiness and failure (the entry stays, for revision ordering): watchers
   * wait for the next `publish()`. For a source that stopped and will
   * read its state again.
   */
  reset(): void {
    this.#ready = false;
    this.#failure = undefined;
  }

  /** True once {@link LatestSlot.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the value: every pending and later get of every watcher rejects with a
   * `WatcherClosedError`, and `for await` loops over them end normally.
   */
  close(): void {
    this.#closed = true;
    this.changes.notify();
  }

  /** Records a permanent failure; watchers throw it once they have taken the entry. */
  fail(error: Error): void {
    this.#failure = error;
    this.changes.notify();
  }

  /** A new watcher whose values are `read(entry, revision)`. */
  watch<T>(read: (entry: E, revision: number) => T): Watcher<T> {
    return new SlotWatcher(this, read);
  }

  acquire(): void {
    this.#users += 1;
    if (this.#users === 1) this.#lifecycle?.start();
  }

  release(): void {
    this.#users -= 1;
    if (this.#users === 0) this.#lifecycle?.stop();
  }
}

class SlotWatcher<E, T> extends BaseWatcher<T> {
  readonly #slot: LatestSlot<E>;
  readonly #read: (entry: E, revision: number) => T;
  #cursor = 0;

  constructor(slot: LatestSlot<E>, read: (entry: E, revision: number) => T) {
    super(slot);
    this.#slot = slot;
    this.#read = read;
  }

  protected take(): Taken<T> | undefined {
    const revision = this.#slot.revision;
    if (revision <= this.#cursor) return undefined;
    this.#cursor = revision;
    return { value: this.#read(this.#slot.entry as E, revision), revision };
  }
}
