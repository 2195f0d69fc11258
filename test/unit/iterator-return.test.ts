/**
 * Iteration, clause 9 of `Watcher.get`: the iterator's `return()` closes the watcher at
 * once, even while a `get()` is pending, so `Readable.from(watcher).destroy()` or any
 * helper that calls `return()` releases the watch without waiting for a change.
 */

import { Readable } from "node:stream";
import test from "ava";
import { MemoryValue, WatcherClosedError } from "../../src/index.js";
import { isPending } from "../helpers/pending.js";

test("iteration: return() while next() is pending closes the watcher at once", async (t) => {
  const value = new MemoryValue<number>(); // no value: next() waits
  const watcher = value.watch();
  const iterator = watcher[Symbol.asyncIterator]();
  const next = iterator.next();
  t.true(await isPending(next), "next() waits for a first value");
  const returned = iterator.return?.();
  t.false(
    await isPending(returned as Promise<unknown>),
    "return() settles without waiting for a value",
  );
  t.deepEqual(await returned, { done: true, value: undefined });
  t.deepEqual(await next, { done: true, value: undefined }, "the pending next() ends the loop");
  await t.throwsAsync(watcher.get(), { instanceOf: WatcherClosedError }, "the watcher is closed");
});

test("iteration: return() without a pending next() closes the watcher too", async (t) => {
  const value = new MemoryValue(1);
  const watcher = value.watch();
  const iterator = watcher[Symbol.asyncIterator]();
  t.deepEqual(await iterator.next(), { done: false, value: 1 });
  t.deepEqual(await iterator.return?.(), { done: true, value: undefined });
  t.deepEqual(await iterator.next(), { done: true, value: undefined }, "done after return()");
  await t.throwsAsync(watcher.get(), { instanceOf: WatcherClosedError });
});

test("iteration: Readable.from(watcher).destroy() closes a watcher whose get() is pending", async (t) => {
  const value = new MemoryValue<number>();
  const watcher = value.watch();
  const readable = Readable.from(watcher);
  readable.on("data", () => {});
  readable.on("error", () => {});
  const closed = new Promise((resolve) => readable.once("close", resolve));
  await isPending(Promise.resolve()); // the stream's first read is under way
  readable.destroy();
  await closed;
  await t.throwsAsync(watcher.get(), { instanceOf: WatcherClosedError }, "closed by destroy()");
});

test("iteration: a close() from outside while next() is pending ends the loop normally", async (t) => {
  const value = new MemoryValue(1);
  const watcher = value.watch();
  const iterator = watcher[Symbol.asyncIterator]();
  await iterator.next();
  const pending = iterator.next();
  watcher.close();
  t.deepEqual(await pending, { done: true, value: undefined });
});
