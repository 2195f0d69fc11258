/**
 * The one implementation of the {@link Watcher} contract's mechanics (argument checks,
 * abort, the concurrent-get guard, filter, backlogOnly, close, iteration, disposal),
 * shared by every value. A value only says how to take its next newer item.
 *
 * @module
 */

import type { GetOptions, Watcher } from "./contract.js";
import { BacklogDoneError, ConcurrentGetError, WatcherClosedError } from "./errors.js";
import { type Notifier, type Wake, waitForNotify } from "./notifier.js";

/** What a watcher needs from the shared state of the value it watches. */
export interface WatchSource {
  /** Notified whenever `ready`, `failure` or the data a watcher could take changes. */
  readonly changes: Notifier;
  /** True once the initial state is available locally (an etcd value: the first read). */
  readonly ready: boolean;
  /** A permanent failure: thrown once everything that had arrived has been returned. */
  readonly failure: Error | undefined;
  /** Called at a watcher's first `get()`; starts I/O if this is the first user. */
  acquire(): void;
  /** Called at `close()` of a watcher that called `acquire()`; exactly once. */
  release(): void;
}

/** An item taken by a watcher: a value and its revision. */
export interface Taken<T> {
  value: T;
  revision: number;
}

/**
 * Base of every watcher. Subclasses implement {@link BaseWatcher.take}; guarantees:
 * see `Watcher.get`.
 */
export abstract class BaseWatcher<T> implements Watcher<T> {
  readonly #source: WatchSource;
  readonly #interrupt: { wake: Wake | undefined } = { wake: undefined };
  #revision: number | undefined;
  #acquired = false;
  #pending = false;
  #closed = false;

  constructor(source: WatchSource) {
    this.#source = source;
  }

  /**
   * Takes the next item newer than the last one taken, advancing the watcher's cursor,
   * or returns `undefined` when there is none locally. Called only when the source is
   * ready. May throw a `DecodeError`: the item is then consumed.
   */
  protected abstract take(): Taken<T> | undefined;

  /** Called once by `close()`, before the source is released. */
  protected onClose(): void {}

  get revision(): number | undefined {
    return this.#revision;
  }

  get(options?: AbortSignal | GetOptions<T>): Promise<T> {
    let normalized: GetOptions<T>;
    try {
      normalized = normalizeGetOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal, filter, backlogOnly } = normalized;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed) return Promise.reject(new WatcherClosedError());
    if (this.#pending) return Promise.reject(new ConcurrentGetError());
    return this.#get(signal, filter, backlogOnly === true);
  }

  async #get(
    signal: AbortSignal | undefined,
    filter: ((value: T) => boolean) | undefined,
    backlogOnly: boolean,
  ): Promise<T> {
    this.#pending = true;
    try {
      if (!this.#acquired) {
        this.#acquired = true;
        this.#source.acquire();
      }
      const source = this.#source;
      for (;;) {
        if (this.#closed) throw new WatcherClosedError();
        if (source.ready) {
          const taken = this.take();
          if (taken !== undefined) {
            if (filter !== undefined && !filter(taken.value)) continue;
            this.#revision = taken.revision;
            return taken.value;
          }
          if (source.failure !== undefined) throw source.failure;
          if (backlogOnly) throw new BacklogDoneError();
        } else if (source.failure !== undefined) {
          throw source.failure;
        }
        await waitForNotify(source.changes, signal, this.#interrupt);
      }
    } finally {
      this.#pending = false;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#interrupt.wake?.();
    this.onClose();
    if (this.#acquired) this.#source.release();
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        let value: T;
        try {
          value = await this.get();
        } catch (error) {
          if (error instanceof WatcherClosedError && this.#closed) return;
          throw error;
        }
        yield value;
      }
    } finally {
      this.close();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

const noOptions: GetOptions<unknown> = Object.freeze({});

function normalizeGetOptions<T>(options: AbortSignal | GetOptions<T> | undefined): GetOptions<T> {
  if (options === undefined) return noOptions as GetOptions<T>;
  if (options instanceof AbortSignal) return { signal: options };
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Expected get()'s argument to be an AbortSignal or an options object, got ${describe(options)}`,
    );
  }
  const { signal, filter, backlogOnly } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describe(signal)}`);
  }
  if (filter !== undefined && typeof filter !== "function") {
    throw new TypeError(`Expected \`filter\` to be a function, got ${describe(filter)}`);
  }
  if (backlogOnly !== undefined && typeof backlogOnly !== "boolean") {
    throw new TypeError(`Expected \`backlogOnly\` to be a boolean, got ${describe(backlogOnly)}`);
  }
  return options;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return `${typeof value} \`${String(value)}\``;
}
