/**
 * The one implementation of the {@link Watcher} contract's mechanics (argument checks,
 * abort, the concurrent-get guard, filter, backlogOnly, close, iteration, disposal),
 * shared by every value. A value only says how to take its next newer item.
 *
 * How a wait works: a `get()` that finds nothing registers the watcher's wake-up with
 * the source's notifier and returns a pending promise. When the source changes, the
 * wake-up queues one microtask that takes the newest item (running the decoder and the
 * filter there, never inside the producer's `set()`) and settles the promise directly:
 * a woken `get()` costs one promise and one microtask, and a burst of synchronous sets
 * is seen as its last value. A wake-up that finds nothing it wants registers again.
 *
 * A watcher dropped without `close()`: while a `get()` is pending, the source's notifier
 * holds the watcher, so it stays alive and keeps its value's resources (after an aborted
 * get, until the value's next change). Once it has no pending get and nothing references
 * it, the garbage collector may collect it; a
 * `FinalizationRegistry` then releases its source, as `close()` would have (for an etcd
 * value: the shared etcd watch ends with the last watcher). When that happens is up to
 * the garbage collector, possibly never: close watchers; this is only a safety net.
 *
 * @module
 */

import type { GetOptions, Watcher, WatchOptions } from "./contract.js";
import { describeValue } from "./describe.js";
import { BacklogDoneError, ConcurrentGetError, WatcherClosedError } from "./errors.js";
import { type Notifier, WAKE, type Wakeable } from "./notifier.js";

/** What a watcher needs from the shared state of the value it watches. */
export interface WatchSource {
  /** Notified whenever `ready`, `failure` or the data a watcher could take changes. */
  readonly changes: Notifier;
  /** True once the initial state is available locally (an etcd value: the first read). */
  readonly ready: boolean;
  /** A permanent failure: thrown once everything that had arrived has been returned. */
  readonly failure: Error | undefined;
  /**
   * True once the value itself is closed (e.g. `EtcdLiveness.close()`): every get then
   * rejects with `WatcherClosedError`, as if each watcher had been closed.
   */
  readonly closed?: boolean;
  /** Called at a watcher's first `get()`; starts I/O if this is the first user. */
  acquire(): void;
  /** Called at `close()` of a watcher that called `acquire()`; exactly once. */
  release(): void;
}

/**
 * Releases the source of a watcher collected without `close()`: holds the source itself,
 * or a function that also undoes more (see {@link releaser}). The held value must not
 * reference the watcher (it would never be collected).
 */
const collected = new FinalizationRegistry<WatchSource | (() => void)>((held) => {
  if (typeof held === "function") held();
  else held.release();
});

/**
 * What {@link collected} holds for a watcher: made outside the class, so it cannot
 * capture it; the source alone when there is nothing else to undo (no function to keep
 * per watcher).
 */
function releaser(
  source: WatchSource,
  cleanup: (() => void) | undefined,
): WatchSource | (() => void) {
  if (cleanup === undefined) return source;
  return () => {
    cleanup();
    source.release();
  };
}

/** An item taken by a watcher: a value and its revision. */
export interface Taken<T> {
  value: T;
  revision: number;
}

/** A pending `get()`. */
interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  filter: ((value: T) => boolean) | undefined;
  backlogOnly: boolean;
  signal: AbortSignal | undefined;
}

/** The outcome of one attempt to serve a `get()`. */
enum Outcome {
  Wait,
  Value,
  Error,
}

/**
 * Base of every watcher. Subclasses implement {@link BaseWatcher.take}; guarantees:
 * see `Watcher.get`.
 */
export abstract class BaseWatcher<T> implements Watcher<T>, Wakeable {
  readonly #source: WatchSource;
  #revision: number | undefined;
  #acquired = false;
  #closed = false;
  #waiter: Waiter<T> | undefined;
  /** True while `#wake` is in the source's notifier. */
  #registered = false;
  /** What the last `#attempt()` produced. */
  #value: T | undefined;
  #error: unknown;
  /** The signal given to `watch({ signal })`, while its listener is attached. */
  #signal: AbortSignal | undefined;
  /** The listener on {@link #signal}: closes the watcher. */
  #onWatchAbort: (() => void) | undefined;
  /** The listener on a pending get's signal, made at the first get with one. */
  #onAbort: (() => void) | undefined;

  /**
   * @param options the options given to `watch()`, checked here: an aborted signal gives
   *   a watcher closed from the start (it never acquires the source).
   */
  constructor(source: WatchSource, options?: WatchOptions) {
    this.#source = source;
    const signal = watchSignalOf(options);
    if (signal === undefined) return;
    if (signal.aborted) {
      this.#closed = true;
      return;
    }
    this.#signal = signal;
    this.#onWatchAbort = () => this.close();
    signal.addEventListener("abort", this.#onWatchAbort, { once: true });
  }

  /**
   * Takes the next item newer than the last one taken, advancing the watcher's cursor,
   * or returns `undefined` when there is none locally. Called only when the source is
   * ready. May throw a `DecodeError`: the item is then consumed.
   */
  protected abstract take(): Taken<T> | undefined;

  /** Called once by `close()`, before the source is released. */
  protected onClose(): void {}

  /**
   * What to undo, besides releasing the source, if this watcher is garbage-collected
   * without `close()` (called at its first `get()`). The function runs after the watcher
   * is gone: it must not reference it.
   */
  protected cleanupWhenCollected(): (() => void) | undefined {
    return undefined;
  }

  get revision(): number | undefined {
    return this.#revision;
  }

  get(options?: AbortSignal | GetOptions<T>): Promise<T> {
    let filter: ((value: T) => boolean) | undefined;
    let backlogOnly = false;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      try {
        ({ signal, filter, backlogOnly = false } = normalizeGetOptions(options));
      } catch (error) {
        return Promise.reject(error);
      }
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    if (this.#closed) return Promise.reject(new WatcherClosedError());
    if (this.#waiter !== undefined) return Promise.reject(new ConcurrentGetError());
    if (!this.#acquired) {
      this.#acquired = true;
      this.#source.acquire();
      collected.register(this, releaser(this.#source, this.cleanupWhenCollected()), this);
    }
    const outcome = this.#attempt(filter, backlogOnly);
    // The decoder or the filter may have closed the watcher or aborted the signal.
    if (this.#closed || signal?.aborted) {
      this.#takeValue();
      this.#takeError();
      return Promise.reject(this.#closed ? new WatcherClosedError() : signal?.reason);
    }
    if (outcome === Outcome.Value) return Promise.resolve(this.#takeValue());
    if (outcome === Outcome.Error) return Promise.reject(this.#takeError());
    return new Promise<T>((resolve, reject) => {
      this.#waiter = { resolve, reject, filter, backlogOnly, signal };
      if (signal !== undefined) {
        this.#onAbort ??= () => {
          const waiter = this.#waiter;
          if (waiter?.signal !== undefined) this.#settle(waiter.signal.reason, true);
        };
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
      this.#register();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#onWatchAbort !== undefined) {
      this.#signal?.removeEventListener("abort", this.#onWatchAbort);
      this.#onWatchAbort = undefined;
    }
    this.#signal = undefined;
    if (this.#waiter !== undefined) this.#settle(new WatcherClosedError(), true);
    this.onClose();
    if (this.#acquired) {
      collected.unregister(this);
      this.#source.release();
    }
  }

  /**
   * Iteration (clause 9 of `Watcher.get`): `next()` calls `get()`; the loop ends
   * normally when the watcher or its value is closed from outside; any other error of
   * `get()` rejects `next()` and closes the watcher. `return()` (break, return, an
   * exception in the loop's body, `Readable.from(watcher).destroy()`) closes the watcher
   * at once, even while a `next()` is pending: that `next()` then resolves `done`.
   * Not an async generator, whose `return()` would wait for the pending `get()`.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    let finished = false;
    return {
      next: async (): Promise<IteratorResult<T>> => {
        if (finished) return done;
        try {
          return { done: false, value: await this.get() };
        } catch (error) {
          finished = true;
          this.close();
          // Closed from outside (the watcher or its value), or by return(): ends normally.
          if (error instanceof WatcherClosedError) return done;
          throw error;
        }
      },
      return: (): Promise<IteratorResult<T>> => {
        finished = true;
        this.close();
        return Promise.resolve(done);
      },
    };
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Tries to serve a get now; the result is left in `#value` or `#error`. */
  #attempt(filter: ((value: T) => boolean) | undefined, backlogOnly: boolean): Outcome {
    const source = this.#source;
    if (source.closed === true) {
      this.#error = new WatcherClosedError();
      return Outcome.Error;
    }
    if (source.ready) {
      for (;;) {
        let taken: Taken<T> | undefined;
        try {
          taken = this.take();
          if (taken !== undefined && filter !== undefined && !filter(taken.value)) continue;
        } catch (error) {
          this.#error = error; // a decoder or the filter threw: that item is consumed
          return Outcome.Error;
        }
        if (taken === undefined) break;
        this.#revision = taken.revision;
        this.#value = taken.value;
        return Outcome.Value;
      }
      if (backlogOnly) {
        this.#error = source.failure ?? new BacklogDoneError();
        return Outcome.Error;
      }
    }
    if (source.failure !== undefined) {
      this.#error = source.failure;
      return Outcome.Error;
    }
    return Outcome.Wait;
  }

  #takeValue(): T {
    const value = this.#value as T;
    this.#value = undefined;
    return value;
  }

  #takeError(): unknown {
    const error = this.#error;
    this.#error = undefined;
    return error;
  }

  #register(): void {
    if (this.#registered) return;
    this.#registered = true;
    this.#source.changes.add(this);
  }

  /**
   * Internal: run by the source's notifier: serve the pending get once the producer is
   * done (a microtask later; the function queued is made per wake-up rather than kept
   * by every watcher).
   */
  [WAKE](): void {
    this.#registered = false;
    if (this.#waiter !== undefined) queueMicrotask(() => this.#serve());
  }

  /** Serves the pending get if there is something for it now, else waits again. */
  #serve(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const outcome = this.#attempt(waiter.filter, waiter.backlogOnly);
    if (this.#waiter !== waiter) {
      // Closed or aborted from inside the decoder or the filter: that get is settled.
      this.#takeValue();
      this.#takeError();
      return;
    }
    if (outcome === Outcome.Wait) this.#register();
    else if (outcome === Outcome.Value) this.#settle(this.#takeValue(), false);
    else this.#settle(this.#takeError(), true);
  }

  /**
   * Ends the pending get, if any, and removes what it registered (the wake-up, the
   * abort listener), so a closed or aborted watcher is not kept by the value.
   */
  #settle(result: unknown, failed: boolean): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    if (this.#registered) {
      this.#registered = false;
      this.#source.changes.delete(this);
    }
    if (this.#onAbort !== undefined) waiter.signal?.removeEventListener("abort", this.#onAbort);
    if (failed) waiter.reject(result);
    else waiter.resolve(result as T);
  }
}

/** The signal of `watch()`'s options, checked. */
function watchSignalOf(options: WatchOptions | undefined): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Expected watch()'s argument to be an options object, got ${describeValue(options)}`,
    );
  }
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describeValue(signal)}`);
  }
  return signal;
}

function normalizeGetOptions<T>(options: AbortSignal | GetOptions<T>): GetOptions<T> {
  if (options instanceof AbortSignal) return { signal: options };
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Expected get()'s argument to be an AbortSignal or an options object, got ${describeValue(options)}`,
    );
  }
  const { signal, filter, backlogOnly } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describeValue(signal)}`);
  }
  if (filter !== undefined && typeof filter !== "function") {
    throw new TypeError(`Expected \`filter\` to be a function, got ${describeValue(filter)}`);
  }
  if (backlogOnly !== undefined && typeof backlogOnly !== "boolean") {
    throw new TypeError(
      `Expected \`backlogOnly\` to be a boolean, got ${describeValue(backlogOnly)}`,
    );
  }
  return options;
}
