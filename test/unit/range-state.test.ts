/**
 * The applied state of a range (`RangeState`): watch responses applied exactly once
 * across reconnects, progress notifications, deletions, the revision offset after a
 * replaced history, and a stop that drops the keys but keeps the revisions.
 */

import test from "ava";
import type { IWatchResponse } from "etcd3";
import type { StoredKv } from "../../src/etcd/range-read.js";
import { RangeState } from "../../src/etcd/range-state.js";
import { HistoryLostError } from "../../src/index.js";

const prefix = Buffer.from("/ns");

/** A stored value with its key, as a read brings them. */
type Keyed = StoredKv & { readonly key: Buffer };

/** A whole read of `kvs` at `revision` (keys and values apart, as `readRange` gives them). */
function rangeRead(revision: number, clusterId: string, kvs: Keyed[]) {
  return { revision, clusterId, kvs, keys: kvs.map((entry) => entry.key) };
}

function kv(key: string, value: string, modRevision: number): Keyed {
  return {
    key: Buffer.from(`/ns${key}`),
    value: Buffer.from(value),
    modRevision,
    createRevision: 1,
    lease: "0",
  };
}

type Event = [type: "Put" | "Delete", key: string, value: string, modRevision: number];

function response(header: number, events: Event[], clusterId = "c1"): IWatchResponse {
  return {
    header: { cluster_id: clusterId, member_id: "m1", revision: String(header), raft_term: "1" },
    watch_id: "1",
    created: false,
    canceled: false,
    compact_revision: "0",
    cancel_reason: "",
    fragment: false,
    events: events.map(([type, key, value, modRevision]) => ({
      type,
      kv: {
        key: Buffer.from(`/ns${key}`),
        value: Buffer.from(value),
        mod_revision: String(modRevision),
        create_revision: "1",
        version: "1",
        lease: "0",
      },
      prev_kv: undefined as never,
    })),
  } as IWatchResponse;
}

/** A state read at revision 10 with `/a` (rev 3) and `/b` (rev 5). */
function readAt10(): RangeState {
  const state = new RangeState(prefix);
  state.applyRead(rangeRead(10, "c1", [kv("/a", "1", 3), kv("/b", "2", 5)]));
  return state;
}

function summary(changes: readonly { key: string; kv: StoredKv | undefined; revision: number }[]) {
  return changes.map((c) => [c.key, c.kv?.value.toString(), c.revision]);
}

test("RangeState: before a read the revision is 0 and nothing is lost", (t) => {
  const state = new RangeState(prefix);
  t.is(state.revision, 0);
  t.is(state.resume, 0);
  t.is(state.historyLost("other", 1), undefined);
});

test("RangeState: a read sets the keys (ids without the prefix) and resumes after its revision", (t) => {
  const state = readAt10();
  t.deepEqual([...state.entries.keys()], ["/a", "/b"]);
  t.is(state.resume, 11);
  t.is(state.revision, 10);
  t.is(state.clusterId, "c1");
});

test("RangeState: a response's events are applied in order; puts set, deletes remove", (t) => {
  const state = readAt10();
  const applied = state.applyResponse(
    response(12, [
      ["Put", "/c", "3", 11],
      ["Delete", "/a", "", 12],
    ]),
  );
  t.deepEqual(summary(applied?.changes ?? []), [
    ["/c", "3", 11],
    ["/a", undefined, 12],
  ]);
  t.is(applied?.revision, 12);
  t.deepEqual([...state.entries.keys()].sort(), ["/b", "/c"]);
  t.is(state.resume, 13);
});

test("RangeState: events below the resume revision (sent again after a reconnect) are dropped", (t) => {
  const state = readAt10();
  state.applyResponse(response(11, [["Put", "/a", "x", 11]]));
  const again = state.applyResponse(
    response(12, [
      ["Put", "/a", "x", 11],
      ["Put", "/b", "y", 12],
    ]),
  );
  t.deepEqual(summary(again?.changes ?? []), [["/b", "y", 12]]);
  t.is(state.applyResponse(response(12, [["Put", "/b", "y", 12]])), undefined, "all seen");
  t.is(state.resume, 13);
});

test("RangeState: a progress notification moves the resume revision forward, never back", (t) => {
  const state = readAt10();
  t.is(state.applyResponse(response(20, [])), undefined);
  t.is(state.resume, 21);
  t.is(state.applyResponse(response(15, [])), undefined);
  t.is(state.resume, 21);
  t.is(state.applyResponse(response(21, [["Put", "/a", "late", 20]])), undefined);
});

test("RangeState: after a replaced history, events are reported with the offset", (t) => {
  const state = readAt10();
  t.true(state.historyLost("c1", 4) instanceof HistoryLostError);
  const read = state.applyRead(rangeRead(4, "c1", [kv("/a", "new", 2)]));
  t.is(read.readRevision, 11, "the read is dated just above the last revision reported");
  t.is(state.revision, 11);
  const applied = state.applyResponse(response(5, [["Put", "/b", "again", 5]]));
  t.deepEqual(summary(applied?.changes ?? []), [["/b", "again", 12]]);
  t.is(applied?.revision, 12);
  t.is(state.revisionOf(kv("/b", "again", 5)), 12);
});

test("RangeState: clearEntries drops the keys but keeps revisions, so the next read reports every key", (t) => {
  const state = readAt10();
  state.clearEntries();
  t.is(state.entries.size, 0);
  t.is(state.resume, 11);
  const read = state.applyRead(rangeRead(12, "c1", [kv("/a", "1", 3)]));
  t.deepEqual(summary(read.changes), [["/a", "1", 3]]);
});
