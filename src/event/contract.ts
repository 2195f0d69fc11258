/**
 * The event-value contract: a value that changes over time, watched by any number of
 * independent consumers.
 *
 * Why not an EventEmitter or an RxJS subject: an emitter pushes every event to every
 * listener, so a slow listener either blocks the producer or buffers without bound, and
 * a listener that attaches late has missed the state. A watcher pulls instead: it asks
 * for "the current value, then something newer", so it always starts from the state,
 * never sees an older value after a newer one, and skips what it was too slow to see.
 * Memory per watcher is one slot (or one entry per key for a range), whatever the rate
 * of change.
 *
 * Vocabulary used throughout the docs: every value a watcher can return has a
 * *revision*, a number that grows with each change. A value is *newer* than another
 * when its revision is higher, even when the two are equal as values or as bytes.
 *
 * @module
 */

/**
 * Something that changes over time and can be watched.
 *
 * Implementations: `MemoryValue` (in process), `EtcdValue` (one etcd key),
 * `EtcdRangeValue` (a key range, per key) and its `snapshots()` (the whole range).
 */
export interface EventValue<T> {
  /**
   * Returns a new, independent watcher of this value.
   *
   * Cheap: performs no I/O and takes no resources until the watcher's first `get()`.
   * Watchers do not affect each other: each has its own position, and a slow one never
   * delays a fast one.
   *
   * With `options.signal`, the watcher closes when the signal aborts (at once, before
   * any I/O, if it already has): see {@link WatchOptions}.
   */
  watch(options?: WatchOptions): Watcher<T>;
}

/** Options of {@link EventValue.watch}. */
export interface WatchOptions {
  /**
   * Closes the watcher when it aborts, as `close()` would: a pending `get()` rejects with
   * `WatcherClosedError` and a `for await` loop over the watcher ends normally, without
   * an error (clause 9 of {@link Watcher.get}). A signal that is already aborted gives a
   * watcher that is closed from the start: it never starts I/O, and a loop over it runs
   * zero times. The watcher holds one listener on the signal until it is closed.
   */
  signal?: AbortSignal;
}

/** Options of {@link Watcher.get}. */
export interface GetOptions<T> {
  /** Aborts the wait. `get()` then rejects with `signal.reason` and consumes nothing. */
  signal?: AbortSignal;
  /**
   * Returns only a value that passes. Values that fail are consumed silently and the
   * wait goes on (like waiting for a condition). If the predicate throws, `get()`
   * rejects with what it threw and the value is consumed.
   */
  filter?: (value: T) => boolean;
  /** Never wait for a change: see clause 8 of {@link Watcher.get}. */
  backlogOnly?: boolean;
}

/**
 * One consumer's view of an {@link EventValue}: a cursor that remembers the newest
 * revision it has returned.
 *
 * A watcher is meant for one consumer. It is safe to call `close()` from anywhere at any
 * time; `get()` may only be pending once at a time (clause 4).
 */
export interface Watcher<T> extends AsyncIterable<T> {
  /**
   * Returns the current value on the first call, then waits for a newer one.
   *
   * 1. **First call** returns the value current at or after `watch()`; if a newer value
   *    arrived since, the newer one. A `MemoryValue` with no value yet waits for the
   *    first `set()`. An etcd value reads the key first and returns `undefined` at once
   *    if the key is absent. A new watcher of an etcd value whose shared watch is already
   *    running gets the value known locally at once, without a read: while that watch is
   *    reconnecting, this last known value can be older than etcd's at `watch()` (what a
   *    controller restarting during an outage wants); the value's `status()` says so
   *    (`stale`, with the revision everything is applied up to).
   * 2. **Later calls** wait for a value newer than the last one returned, then return
   *    the newest available. Intermediate values may be skipped. A watcher never
   *    returns a value older than one it already returned: revisions never go backwards.
   * 3. **Abort**: if `signal` aborts before a value is returned, the promise rejects with
   *    `signal.reason`, nothing is consumed, and the watcher stays usable. A signal that
   *    is already aborted rejects at once, even when a value is ready. A settled `get()`
   *    leaves no listener on the signal.
   * 4. **Concurrency**: a call made while another `get()` of the same watcher is pending
   *    rejects at once with `ConcurrentGetError`; the pending one is unaffected.
   * 5. **Close**: after `close()`, the pending call and every later one reject with
   *    `WatcherClosedError`.
   * 6. **Decode errors**: if the value's decoder throws for an update, the call rejects
   *    with a `DecodeError` carrying `cause`, `key` and `revision`. That update is
   *    consumed; the next call goes on with the next update.
   * 7. **filter**: values that fail `options.filter` are consumed silently; the call
   *    returns the first value that passes. Combines with `backlogOnly`.
   * 8. **backlogOnly**: never waits for a change. The first call performs the initial
   *    read if it has not happened (an etcd value may wait on the network for it) and
   *    returns the initial state (for an absent etcd key: `undefined`). Later calls
   *    return what has already arrived locally, if anything, and otherwise reject with
   *    `BacklogDoneError`. For a range watcher, call repeatedly to read the initial
   *    snapshot key by key until `BacklogDoneError`. Whether changes that arrived after
   *    the initial read count as backlog is not specified. A `MemoryValue` that has
   *    never been set has an empty backlog.
   * 9. **Iteration**: `for await (const v of watcher)` calls `get()` in a loop. Leaving
   *    the loop for any reason (`break`, `return`, an exception in the body, or an error
   *    from `get()`, which the loop rethrows) closes the watcher. A `close()` from
   *    outside, or the abort of the signal given to `watch({ signal })`, ends the loop
   *    normally, without an error.
   * 10. **revision**: after a call resolves, {@link Watcher.revision} is the revision of
   *    the value it returned.
   *
   * Permanent failures (an etcd value whose watch cannot be mended by retrying) reject
   * with `WatchFailedError` once everything that had already arrived has been returned.
   * Transient faults are never thrown: the call simply waits.
   */
  get(signal?: AbortSignal): Promise<T>;
  /** The same, with options: `signal`, `filter` (clause 7), `backlogOnly` (clause 8). */
  get(options: GetOptions<T>): Promise<T>;

  /**
   * The revision of the value last returned by `get()`; `undefined` before the first
   * value. Values skipped by a filter or rejected by the decoder do not change it.
   */
  readonly revision: number | undefined;

  /**
   * Closes the watcher: the pending `get()` and every later one reject with
   * `WatcherClosedError`, and every resource the watcher holds (an etcd watch, timers,
   * listeners) is released, so the process can exit. Idempotent; never throws.
   */
  close(): void;

  /** Same as {@link Watcher.close}, for `await using w = value.watch()`. */
  [Symbol.asyncDispose](): Promise<void>;
}
