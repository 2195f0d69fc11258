/**
 * The `Watcher.get` contract as one test suite, registered for every implementation
 * (MemoryValue, EtcdValue, EtcdRangeValue.watch() and .snapshots()). Each test names the
 * clause it pins; the rule is in the assertion message.
 *
 * `watchSignalContract` is the part that needs no writes, `watch({ signal })`: it also
 * runs for values that cannot be written at will (`status()`, `EtcdLiveness`).
 */

import { getEventListeners } from "node:events";
import type { ExecutionContext, TestFn } from "ava";
import {
  BacklogDoneError,
  ConcurrentGetError,
  type EventValue,
  WatcherClosedError,
} from "../../src/index.js";
import { isPending } from "../helpers/pending.js";

/** One value under test, with a way to change it. */
export interface ContractSubject<T> {
  /** The value under test; it already holds the token `"initial"`. */
  readonly value: EventValue<T>;
  /** Makes the value hold `token` at a new revision; resolves once written. */
  write(token: string): Promise<void>;
  /** The token a value returned by a watcher carries. */
  tokenOf(value: T): string | undefined;
  /** Releases what the subject holds. */
  dispose(): Promise<void>;
}

/** Makes a fresh subject for one test; `id` is unique per test. */
export type SubjectFactory<T> = (id: string) => Promise<ContractSubject<T>>;

/** Registers the contract tests for one implementation. */
export function watcherContract<T>(
  test: TestFn,
  name: string,
  makeSubject: SubjectFactory<T>,
): void {
  let counter = 0;
  const run = (
    title: string,
    body: (subject: ContractSubject<T>, t: ExecutionContext) => Promise<void>,
  ): void => {
    test(`${name} contract: ${title}`, async (t) => {
      counter += 1;
      const subject = await makeSubject(`${name.replace(/\W+/g, "-")}-${counter}`);
      try {
        await body(subject, t);
      } finally {
        await subject.dispose();
      }
    });
  };
  const token = (subject: ContractSubject<T>, value: T): string | undefined =>
    subject.tokenOf(value);

  run("get: first call returns the current value at once", async (s, t) => {
    const w = s.value.watch();
    t.is(token(s, await w.get()), "initial", "first get returns the current value");
    w.close();
  });

  run("get: first call returns a value written between watch() and get()", async (s, t) => {
    const w = s.value.watch();
    await s.write("a");
    await s.write("b");
    await eventually(s, "b");
    t.is(token(s, await w.get()), "b", "first get returns the newest value");
    w.close();
  });

  run("get: a later call waits for a newer value", async (s, t) => {
    const w = s.value.watch();
    await w.get();
    const next = w.get();
    t.true(await isPending(next), "a second get with nothing newer must wait");
    await s.write("a");
    t.is(token(s, await next), "a", "the wait ends with the newer value");
    w.close();
  });

  run("get: a later call skips intermediate values and returns the newest", async (s, t) => {
    const w = s.value.watch();
    await w.get();
    for (const next of ["a", "b", "c"]) await s.write(next);
    await eventually(s, "c");
    t.is(token(s, await w.get()), "c", "intermediates are skipped");
    t.true(await isPending(w.get()), "nothing newer than the newest: get waits");
    w.close();
  });

  run("get: an equal value written again is newer and wakes the watcher", async (s, t) => {
    const w = s.value.watch();
    await w.get();
    const first = w.revision;
    const next = w.get();
    await s.write("initial");
    t.is(token(s, await next), "initial", "the same value at a new revision");
    t.true((w.revision ?? 0) > (first ?? 0), "the revision grew");
    w.close();
  });

  run("get: revisions never go backwards", async (s, t) => {
    const w = s.value.watch();
    let last = 0;
    await w.get();
    last = w.revision ?? 0;
    for (const next of ["a", "b", "c"]) {
      await s.write(next);
      await w.get();
      const revision = w.revision ?? 0;
      t.true(revision > last, `revision ${revision} must be above ${last}`);
      last = revision;
    }
    w.close();
  });

  run("abort: aborting a waiting get rejects with signal.reason", async (s, t) => {
    const w = s.value.watch();
    await w.get();
    const controller = new AbortController();
    const pending = w.get(controller.signal);
    t.true(await isPending(pending), "nothing newer: get waits");
    const reason = new Error("stop waiting");
    controller.abort(reason);
    await pending.then(
      () => t.fail("an aborted get must reject"),
      (error: unknown) => t.true(error === reason, "rejects with signal.reason itself"),
    );
    t.true(getEventListeners(controller.signal, "abort").length === 0, "no listener left");
    w.close();
  });

  run("abort: an aborted get consumes nothing; the next get returns the value", async (s, t) => {
    const w = s.value.watch();
    const controller = new AbortController();
    controller.abort();
    await w.get(controller.signal).then(
      () => t.fail("an already-aborted signal must reject"),
      (error: unknown) => t.true(error === controller.signal.reason, "rejects with reason"),
    );
    t.is(token(s, await w.get()), "initial", "the value was not consumed");
    w.close();
  });

  run("abort: an already-aborted signal rejects even when a value is ready", async (s, t) => {
    const w = s.value.watch();
    await w.get();
    await s.write("ready");
    await eventually(s, "ready");
    const reason = new Error("already");
    await w.get({ signal: AbortSignal.abort(reason) }).then(
      () => t.fail("must reject"),
      (error: unknown) => t.true(error === reason, "rejects with reason"),
    );
    t.is(token(s, await w.get()), "ready", "the ready value is still there");
    w.close();
  });

  run("abort: a settled get leaves no listener on the signal", async (s, t) => {
    const w = s.value.watch();
    const controller = new AbortController();
    await w.get({ signal: controller.signal });
    const next = w.get({ signal: controller.signal });
    await s.write("a");
    await next;
    t.true(getEventListeners(controller.signal, "abort").length === 0, "no listener left");
    w.close();
  });

  run("concurrency: a second concurrent get rejects, the first still completes", async (s, t) => {
    const w = s.value.watch();
    await w.get();
    const first = w.get();
    await w.get().then(
      () => t.fail("a concurrent get must reject"),
      (error: unknown) => t.true(error instanceof ConcurrentGetError, "ConcurrentGetError"),
    );
    await s.write("a");
    t.is(token(s, await first), "a", "the pending get is unaffected");
    w.close();
  });

  run("close: rejects a pending get with WatcherClosedError", async (s, t) => {
    const w = s.value.watch();
    await w.get();
    const pending = w.get();
    w.close();
    await pending.then(
      () => t.fail("must reject"),
      (error: unknown) => t.true(error instanceof WatcherClosedError, "WatcherClosedError"),
    );
  });

  run("close: every later get rejects; closing twice is a no-op", async (s, t) => {
    const w = s.value.watch();
    w.close();
    w.close();
    await w.get().then(
      () => t.fail("must reject"),
      (error: unknown) => t.true(error instanceof WatcherClosedError, "WatcherClosedError"),
    );
  });

  run("close: await using disposes the watcher", async (s, t) => {
    let escaped: ReturnType<EventValue<T>["watch"]> | undefined;
    {
      await using w = s.value.watch();
      escaped = w;
      await w.get();
    }
    await escaped.get().then(
      () => t.fail("must reject after dispose"),
      (error: unknown) => t.true(error instanceof WatcherClosedError, "disposed = closed"),
    );
  });

  run("filter: values that fail are skipped; the first that passes is returned", async (s, t) => {
    const w = s.value.watch();
    const pending = w.get({ filter: (v) => token(s, v) === "wanted" });
    t.true(await isPending(pending), "the initial value fails the filter: keep waiting");
    await s.write("other");
    await s.write("wanted");
    t.is(token(s, await pending), "wanted", "returns the first value that passes");
    w.close();
  });

  run("filter: a value that passes at once is returned at once", async (s, t) => {
    const w = s.value.watch();
    const value = await w.get({ filter: (v) => token(s, v) === "initial" });
    t.is(token(s, value), "initial", "the current value passes");
    w.close();
  });

  run("backlogOnly: first call returns the initial state, then BacklogDoneError", async (s, t) => {
    const w = s.value.watch();
    t.is(token(s, await w.get({ backlogOnly: true })), "initial", "initial state");
    await w.get({ backlogOnly: true }).then(
      () => t.fail("nothing more: must reject"),
      (error: unknown) => t.true(error instanceof BacklogDoneError, "BacklogDoneError"),
    );
    w.close();
  });

  run("backlogOnly: combines with filter", async (s, t) => {
    const w = s.value.watch();
    await w.get({ backlogOnly: true, filter: () => false }).then(
      () => t.fail("the only value fails the filter: must reject"),
      (error: unknown) => t.true(error instanceof BacklogDoneError, "BacklogDoneError"),
    );
    w.close();
  });

  run("iteration: break out of for await closes the watcher", async (s, t) => {
    const w = s.value.watch();
    for await (const v of w) {
      t.is(token(s, v), "initial", "the loop starts with the current value");
      break;
    }
    await w.get().then(
      () => t.fail("must reject"),
      (error: unknown) => t.true(error instanceof WatcherClosedError, "closed by break"),
    );
  });

  run("iteration: an exception in the body closes the watcher and propagates", async (s, t) => {
    const w = s.value.watch();
    const boom = new Error("body failed");
    let caught: unknown;
    try {
      for await (const _ of w) throw boom;
    } catch (error) {
      caught = error;
    }
    t.true(caught === boom, "the body's error propagates");
    await w.get().then(
      () => t.fail("must reject"),
      (error: unknown) => t.true(error instanceof WatcherClosedError, "closed by the throw"),
    );
  });

  run("iteration: close() from outside ends the loop without an error", async (s, t) => {
    const w = s.value.watch();
    const seen: (string | undefined)[] = [];
    const loop = (async () => {
      for await (const v of w) {
        seen.push(token(s, v));
        if (seen.length === 2) w.close();
        else await s.write("second");
      }
    })();
    await loop;
    t.true(seen.join() === "initial,second", `saw ${seen.join()}`);
  });

  watchSignalContract(test, name, async (id) => {
    const subject = await makeSubject(id);
    return { value: subject.value, dispose: () => subject.dispose() };
  });

  run("watch: many watchers all see the final value", async (s, t) => {
    const watchers = Array.from({ length: 100 }, () => s.value.watch());
    await Promise.all(watchers.map((w) => w.get()));
    const next = watchers.map((w) => w.get({ filter: (v) => token(s, v) === "final" }));
    await s.write("middle");
    await s.write("final");
    for (const value of await Promise.all(next)) t.is(token(s, value), "final", "final");
    for (const w of watchers) w.close();
  });

  async function eventually(s: ContractSubject<T>, wanted: string): Promise<void> {
    // Waits until a fresh watcher sees `wanted`: the write has reached the value.
    const w = s.value.watch();
    await w.get({ filter: (v) => token(s, v) === wanted });
    w.close();
  }
}

/** A value that has a current value (its first `get()` returns without a write). */
export interface ReadOnlySubject<T> {
  readonly value: EventValue<T>;
  dispose(): Promise<void>;
}

/**
 * Registers the tests of `watch({ signal })` (`WatchOptions`; clause 9 of `Watcher.get`)
 * for one value. They need no writes: only a value whose first `get()` returns.
 */
export function watchSignalContract<T>(
  test: TestFn,
  name: string,
  makeSubject: (id: string) => Promise<ReadOnlySubject<T>>,
): void {
  let counter = 0;
  const run = (
    title: string,
    body: (value: EventValue<T>, t: ExecutionContext) => Promise<void>,
  ): void => {
    test(`${name} contract: ${title}`, async (t) => {
      counter += 1;
      const subject = await makeSubject(`${name.replace(/\W+/g, "-")}-signal-${counter}`);
      try {
        await body(subject.value, t);
      } finally {
        await subject.dispose();
      }
    });
  };

  run("watch({ signal }): an already-aborted signal gives a closed watcher", async (value, t) => {
    const signal = AbortSignal.abort();
    const w = value.watch({ signal });
    const seen: T[] = [];
    for await (const v of w) seen.push(v);
    t.is(seen.length, 0, "a for await loop over it runs zero times, without an error");
    await w.get().then(
      () => t.fail("a get of a watcher closed from the start must reject"),
      (error: unknown) => t.true(error instanceof WatcherClosedError, "WatcherClosedError"),
    );
    t.is(getEventListeners(signal, "abort").length, 0, "no listener is left on the signal");
  });

  run("watch({ signal }): an abort ends a for await loop normally", async (value, t) => {
    const controller = new AbortController();
    const w = value.watch({ signal: controller.signal });
    let seen = 0;
    let sawFirst = (): void => {};
    const first = new Promise<void>((resolve) => {
      sawFirst = resolve;
    });
    const loop = (async () => {
      for await (const _ of w) {
        seen += 1;
        sawFirst();
      }
    })();
    await first;
    t.true(await isPending(loop), "the loop waits for a newer value");
    controller.abort(new Error("shutting down"));
    await t.notThrowsAsync(loop, "the loop ends without an error, not with signal.reason");
    t.true(seen >= 1, "the loop saw the current value before the abort");
    t.is(getEventListeners(controller.signal, "abort").length, 0, "its listener is removed");
  });

  run(
    "watch({ signal }): an abort rejects a pending get with WatcherClosedError",
    async (value, t) => {
      const controller = new AbortController();
      const w = value.watch({ signal: controller.signal });
      await w.get();
      const pending = w.get();
      t.true(await isPending(pending), "nothing newer: get waits");
      controller.abort(new Error("shutting down"));
      await pending.then(
        () => t.fail("the pending get must reject"),
        (error: unknown) => t.true(error instanceof WatcherClosedError, "closed by the abort"),
      );
    },
  );

  run(
    "watch({ signal }): close() removes the watcher's listener from the signal",
    async (value, t) => {
      const controller = new AbortController();
      const w = value.watch({ signal: controller.signal });
      t.is(getEventListeners(controller.signal, "abort").length, 1, "one listener while open");
      w.close();
      t.is(getEventListeners(controller.signal, "abort").length, 0, "none after close()");
      controller.abort();
      await t.throwsAsync(w.get(), { instanceOf: WatcherClosedError });
    },
  );
}
