/** `MemoryValue.update`: the synchronous counterpart of `EtcdValue.update`. */

import test from "ava";
import { MemoryValue } from "../../src/index.js";
import { isPending } from "../helpers/pending.js";

test("update: fn gets the current value and its result is set, a new revision that wakes watchers", async (t) => {
  const value = new MemoryValue(1);
  const w = value.watch();
  t.is(await w.get(), 1);
  const next = w.get();
  value.update((n) => (n ?? 0) + 1);
  t.is(value.current, 2);
  t.is(value.revision, 2);
  t.is(await next, 2);
});

test("update: fn gets undefined when nothing was set", (t) => {
  const value = new MemoryValue<number>();
  const seen: (number | undefined)[] = [];
  value.update((n) => {
    seen.push(n);
    return 5;
  });
  t.deepEqual(seen, [undefined]);
  t.is(value.current, 5);
  t.is(value.revision, 1);
});

test("update: returning current itself changes nothing and wakes no watcher", async (t) => {
  const state = { items: [1] };
  const value = new MemoryValue(state);
  const w = value.watch();
  await w.get();
  const next = w.get();
  value.update((current) => current as typeof state);
  t.is(value.revision, 1, "no new revision");
  t.true(await isPending(next), "no watcher woken");
  value.update((current) => ({ items: [...(current?.items ?? []), 2] }));
  t.deepEqual(await next, { items: [1, 2] }, "an equal-looking new object is a change");
});

test("update: a throw from fn propagates and changes nothing", (t) => {
  const value = new MemoryValue("a");
  const boom = new Error("no");
  t.is(
    t.throws(() =>
      value.update(() => {
        throw boom;
      }),
    ),
    boom,
  );
  t.is(value.current, "a");
  t.is(value.revision, 1);
});

test("update: runs fn exactly once per call", (t) => {
  const value = new MemoryValue(0);
  let calls = 0;
  value.update((n) => {
    calls += 1;
    return (n ?? 0) + 1;
  });
  t.is(calls, 1);
  t.is(value.current, 1);
});
