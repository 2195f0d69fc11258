import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import test from "ava";
import { BacklogDoneError, MemoryValue, WatcherClosedError } from "../../src/index.js";
import { watcherContract } from "../contract/watcher-contract.js";
import { flush, isPending } from "../helpers/pending.js";

watcherContract(test, "MemoryValue", async () => {
  const value = new MemoryValue<string>("initial");
  return {
    value,
    write: async (token) => value.set(token),
    tokenOf: (v) => v,
    dispose: async () => {},
  };
});

test("get: first call waits for the first set() when nothing was set", async (t) => {
  const value = new MemoryValue<number>();
  const w = value.watch();
  const first = w.get();
  t.true(await isPending(first), "no value yet: the first get waits");
  value.set(7);
  t.is(await first, 7, "the first set() ends the wait");
  t.is(w.revision, 1, "the first value held has revision 1");
});

test("get: first call returns at once when the constructor was given a value", async (t) => {
  const w = new MemoryValue(3).watch();
  t.is(await w.get(), 3);
  t.is(w.revision, 1, "the initial value has revision 1");
});

test("constructor: undefined passed explicitly counts as a value", async (t) => {
  const value = new MemoryValue<string | undefined>(undefined);
  t.is(value.revision, 1, "undefined was held as revision 1");
  t.is(await value.watch().get(), undefined, "the first get returns it at once");
});

test("get: first call after several sets returns the newest", async (t) => {
  const value = new MemoryValue<number>();
  const w = value.watch();
  for (let i = 1; i <= 5; i++) value.set(i);
  t.is(await w.get(), 5, "intermediates 1..4 are skipped");
  t.is(w.revision, 5);
});

test("revision: counts the values held, one per set()", async (t) => {
  const value = new MemoryValue("a");
  value.set("b");
  value.set("b");
  t.is(value.revision, 3, "initial + two sets");
  const w = value.watch();
  await w.get();
  t.is(w.revision, 3, "the watcher's revision is that of the value it returned");
  t.is(value.current, "b");
});

test("current: undefined before the first set", (t) => {
  const value = new MemoryValue<number>();
  t.is(value.current, undefined);
  t.is(value.revision, 0);
});

test("backlogOnly: a value never set has an empty backlog", async (t) => {
  const w = new MemoryValue<number>().watch();
  await t.throwsAsync(w.get({ backlogOnly: true }), { instanceOf: BacklogDoneError });
});

test("backlogOnly: returns a value set after the last get without waiting", async (t) => {
  const value = new MemoryValue(1);
  const w = value.watch();
  await w.get();
  value.set(2);
  t.is(await w.get({ backlogOnly: true }), 2, "what has arrived is the backlog");
  await t.throwsAsync(w.get({ backlogOnly: true }), { instanceOf: BacklogDoneError });
});

test("filter: a throwing predicate rejects get() and consumes the value", async (t) => {
  const value = new MemoryValue(1);
  const w = value.watch();
  const boom = new Error("predicate failed");
  const error = await t.throwsAsync(
    w.get({
      filter: () => {
        throw boom;
      },
    }),
  );
  t.is(error, boom);
  t.true(await isPending(w.get()), "the value was consumed: the next get waits");
  w.close();
});

test("set: may be called from inside a watcher's loop", async (t) => {
  const value = new MemoryValue(0);
  const seen: number[] = [];
  for await (const n of value.watch()) {
    seen.push(n);
    if (n === 3) break;
    value.set(n + 1);
  }
  t.deepEqual(seen, [0, 1, 2, 3]);
});

test("get: rejects bad arguments with a TypeError naming them", async (t) => {
  const w = new MemoryValue(1).watch();
  // @ts-expect-error a number is not an AbortSignal or options
  await t.throwsAsync(w.get(5), { instanceOf: TypeError, message: /AbortSignal or an options/ });
  // @ts-expect-error filter must be a function
  await t.throwsAsync(w.get({ filter: 1 }), { instanceOf: TypeError, message: /`filter`/ });
  t.is(await w.get(), 1, "a rejected call consumed nothing");
});

test("fan-out: 1000 watchers all see the final value", async (t) => {
  const value = new MemoryValue(0);
  const watchers = Array.from({ length: 1000 }, () => value.watch());
  await Promise.all(watchers.map((w) => w.get()));
  const finals = watchers.map((w) => w.get({ filter: (n) => n === 100 }));
  for (let i = 1; i <= 100; i++) value.set(i);
  t.deepEqual(new Set(await Promise.all(finals)), new Set([100]));
  t.true(
    watchers.every((w) => w.revision === 101),
    "each holds the final revision",
  );
});

test("memory: a stalled watcher under 1,000,000 sets keeps O(1) memory", async (t) => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const value = new MemoryValue({ n: 0 });
  const stalled = value.watch();
  await stalled.get();
  const waiting = value.watch();
  await waiting.get();
  const pending = waiting.get(); // one watcher waits, one never asks again
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let n = 1; n <= 1_000_000; n++) value.set({ n });
  gc();
  const growth = process.memoryUsage().heapUsed - before;
  // A buffering design would hold 1,000,000 objects (tens of MiB).
  t.true(growth < 4 * 1024 * 1024, `heap grew by ${growth} bytes; must stay O(1)`);
  t.deepEqual(await pending, { n: 1_000_000 });
  t.deepEqual(await stalled.get(), { n: 1_000_000 }, "the stalled watcher skips to the newest");
});

test("close: a watcher closed while its get was pending is not kept by the value", async (t) => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const value = new MemoryValue(0);
  let ref: WeakRef<object> | undefined;
  await (async () => {
    const w = value.watch();
    await w.get();
    const pending = w.get().catch(() => {});
    w.close();
    await pending;
    ref = new WeakRef(w);
  })();
  await flush();
  gc();
  t.is(ref?.deref(), undefined, "the closed watcher was collected without a set()");
});

test("close: a filter that closes its own watcher rejects that get, nothing throws", async (t) => {
  const value = new MemoryValue(0);
  const w = value.watch();
  await w.get();
  const pending = w.get({
    filter: () => {
      w.close();
      return true;
    },
  });
  value.set(1);
  await t.throwsAsync(pending, { instanceOf: WatcherClosedError });
  const now = new MemoryValue(0).watch();
  const closing = now.get({
    filter: () => {
      now.close();
      return true;
    },
  });
  await t.throwsAsync(closing, { instanceOf: WatcherClosedError }, "also when served at once");
});

test("abort: a filter that aborts its own signal rejects that get with the reason", async (t) => {
  const value = new MemoryValue(0);
  const w = value.watch();
  const controller = new AbortController();
  const reason = new Error("aborted from the filter");
  const pending = w.get({
    signal: controller.signal,
    filter: () => {
      controller.abort(reason);
      return true;
    },
  });
  t.is(await pending.catch((error: unknown) => error), reason);
});
