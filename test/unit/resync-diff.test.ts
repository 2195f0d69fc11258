/**
 * The arithmetic of a resync (`applyRead`, `historyLost`): which keys a whole read
 * reports as changed, at which revisions, and the offset that keeps watchers' revisions
 * from going backwards after etcd's history was replaced.
 */

import test from "ava";
import type { StoredKv } from "../../src/etcd/range-read.js";
import { type AppliedState, applyRead, historyLost } from "../../src/etcd/resync-diff.js";
import { HistoryLostError } from "../../src/index.js";

const prefix = Buffer.alloc(0);

/** A stored value with its key, as a read brings them. */
type Keyed = StoredKv & { readonly key: Buffer };

/** A whole read of `kvs` at `revision` (keys and values apart, as `readRange` gives them). */
function rangeRead(revision: number, clusterId: string, kvs: Keyed[]) {
  return { revision, clusterId, kvs, keys: kvs.map((entry) => entry.key) };
}

function kv(key: string, value: string, modRevision: number): Keyed {
  return {
    key: Buffer.from(key),
    value: Buffer.from(value),
    modRevision,
    createRevision: 1,
    lease: "0",
  };
}

function state(entries: Keyed[], resume: number, offset = 0, clusterId = "c1"): AppliedState {
  return {
    entries: new Map(entries.map((e) => [e.key.toString("latin1"), e])),
    resume,
    offset,
    clusterId,
  };
}

function summary(changes: { key: string; kv: StoredKv | undefined; revision: number }[]) {
  return changes.map((c) => [c.key, c.kv?.value.toString(), c.revision]);
}

test("applyRead: the first read reports every present key at its mod revision", (t) => {
  const read = rangeRead(7, "c1", [kv("/a", "1", 3), kv("/b", "2", 5)]);
  const applied = applyRead(state([], 0, 0, ""), read, prefix);
  t.deepEqual(summary(applied.changes), [
    ["/a", "1", 3],
    ["/b", "2", 5],
  ]);
  t.is(applied.resume, 8, "watch from the read's revision + 1");
  t.is(applied.readRevision, 7);
  t.is(applied.offset, 0);
});

test("applyRead: same history: unchanged keys are not reported, vanished keys are deletions at the read's revision", (t) => {
  const before = state([kv("/a", "1", 3), kv("/b", "2", 5), kv("/c", "3", 6)], 8);
  const read = rangeRead(12, "c1", [kv("/a", "1", 3), kv("/b", "2b", 10)]);
  const applied = applyRead(before, read, prefix);
  t.deepEqual(summary(applied.changes), [
    ["/b", "2b", 10],
    ["/c", undefined, 12],
  ]);
  t.deepEqual([...applied.entries.keys()], ["/a", "/b"]);
});

test("applyRead: history replaced (revision went back): changes by bytes, dated above the last reported revision", (t) => {
  const before = state([kv("/a", "1", 3), kv("/b", "2", 90)], 101); // applied up to 100
  const read = rangeRead(4, "c1", [kv("/a", "1", 2), kv("/b", "new", 4)]);
  const applied = applyRead(before, read, prefix);
  t.is(applied.offset, 97, "4 + 97 = 101: strictly above the 100 already reported");
  t.is(applied.readRevision, 101);
  t.deepEqual(summary(applied.changes), [["/b", "new", 101]], "equal bytes are not reported");
  t.is(applied.resume, 5, "etcd's own revisions go on from the read");
});

test("applyRead: history replaced twice: the offset only grows", (t) => {
  const before = state([kv("/a", "1", 2)], 6, 97); // reported up to 5 + 97 = 102
  const read = rangeRead(2, "c2", [kv("/a", "2", 2)]);
  const applied = applyRead(before, read, prefix);
  t.is(applied.readRevision, 103, "above the 102 already reported");
  t.deepEqual(summary(applied.changes), [["/a", "2", 103]]);
  t.is(applied.clusterId, "c2");
});

test("historyLost: a new cluster id or a revision below the one applied; nothing before a read", (t) => {
  const applied = state([], 11, 0, "c1");
  t.is(historyLost(applied, "c1", 10), undefined, "at the applied revision: same history");
  t.is(historyLost(applied, "c1", 50), undefined, "ahead: same history");
  t.true(historyLost(applied, "c1", 9) instanceof HistoryLostError, "below: replaced");
  t.true(historyLost(applied, "c2", 50) instanceof HistoryLostError, "another cluster");
  t.is(historyLost(state([], 0, 0, ""), "c2", 1), undefined, "nothing read yet");
});
