/**
 * The watch a paged read creates after its first page (`EarlyWatch`): its responses are
 * held until it is released, then passed on in order; a dropped one passes nothing on
 * and closes its watch, also when its create is confirmed only afterwards; it drops
 * itself past `MAX_HELD_EVENTS` held events. The watch and the stream are stand-ins: the
 * run's sync is in test/suites/range-value.ts, on both backends.
 */

import test from "ava";
import type { IWatchResponse } from "etcd3";
import { EarlyWatch, MAX_HELD_EVENTS } from "../../src/etcd/early-watch.js";
import { prefixRange } from "../../src/etcd/key-range.js";
import { Run, type RunOwner } from "../../src/etcd/range-run.js";
import type { StreamEnd, StreamWatch } from "../../src/etcd/shared-stream.js";

/** A stand-in for a created watch: records its close. */
class FakeWatch {
  endedWith: StreamEnd | undefined;
  closes = 0;

  close(): void {
    this.closes += 1;
    this.endedWith ??= { reason: "closed" };
  }
}

/** A response at `revision` with `events` puts (or a progress notification: 0). */
function response(revision: number, events = 1): IWatchResponse {
  return {
    header: { revision: String(revision), cluster_id: "1" },
    events: Array.from({ length: events }, () => ({ type: "Put", kv: {} })),
  } as unknown as IWatchResponse;
}

/**
 * A run whose owner records the responses passed to it (by header revision), then calls
 * `then` with the watch.
 */
function recordingRun(then?: (watch: StreamWatch) => void): { run: Run; applied: number[] } {
  const applied: number[] = [];
  const owner: RunOwner = {
    applyResponse: (_run, r, watch) => {
      applied.push(Number(r.header.revision));
      then?.(watch);
    },
    watchEnded: () => {},
  };
  return { run: new Run(owner, prefixRange(Buffer.alloc(0), "/p/")), applied };
}

/** An early watch whose create is confirmed when `confirm()` is called. */
function early(run: Run) {
  const watch = new FakeWatch();
  let confirm!: () => void;
  const spec = new EarlyWatch(
    run,
    8,
    () =>
      new Promise<StreamWatch>((resolve) => {
        confirm = () => resolve(watch as unknown as StreamWatch);
      }),
  );
  return { spec, watch, stream: watch as unknown as StreamWatch, confirm: () => confirm() };
}

test("responses are held until release, then passed on in order, later ones at once", async (t) => {
  const { run, applied } = recordingRun();
  const { spec, stream, confirm } = early(run);
  t.is(spec.startRevision, 8);
  confirm();
  t.is(await spec.attached, stream);
  spec.onResponse(response(9), stream);
  spec.onResponse(response(10, 0), stream);
  spec.onResponse(response(11), stream);
  t.deepEqual(applied, [], "nothing reaches the run before release");
  spec.release();
  t.deepEqual(applied, [9, 10, 11], "the held responses, in order");
  spec.onResponse(response(12), stream);
  t.deepEqual(applied, [9, 10, 11, 12], "then each as it comes");
});

test("a discard before the create is confirmed closes the watch once it is; nothing is passed on", async (t) => {
  const { run, applied } = recordingRun();
  const { spec, watch, stream, confirm } = early(run);
  spec.discard();
  spec.discard();
  t.true(spec.dropped);
  t.is(watch.closes, 0, "nothing to close yet");
  confirm();
  await spec.attached;
  await Promise.resolve(); // the discard's continuation runs after the create's
  t.is(watch.closes, 1, "closed once confirmed, once");
  spec.onResponse(response(9), stream);
  spec.release();
  t.deepEqual(applied, [], "no response of a dropped watch reaches the run");
});

test("a discard after responses were held drops them", async (t) => {
  const { run, applied } = recordingRun();
  const { spec, watch, stream, confirm } = early(run);
  confirm();
  await spec.attached;
  spec.onResponse(response(9), stream);
  spec.discard();
  await Promise.resolve();
  spec.release();
  t.deepEqual(applied, []);
  t.is(watch.closes, 1);
});

test(`more than ${MAX_HELD_EVENTS} held events drop the watch`, async (t) => {
  const { run, applied } = recordingRun();
  const { spec, watch, stream, confirm } = early(run);
  confirm();
  await spec.attached;
  spec.onResponse(response(9, MAX_HELD_EVENTS), stream);
  t.false(spec.dropped, `${MAX_HELD_EVENTS} events are held`);
  spec.onResponse(response(10, 1), stream);
  t.true(spec.dropped, "one more drops the watch");
  await Promise.resolve();
  t.is(watch.closes, 1, "and closes it");
  spec.release();
  t.deepEqual(applied, [], "nothing held is passed on");
});

test("release stops at the watch's end: what the watch brought after it is not passed on", async (t) => {
  // The run closes the watch while applying the first (say, it shows another history).
  const { run, applied } = recordingRun((watch) => watch.close());
  const { spec, stream, confirm } = early(run);
  confirm();
  await spec.attached;
  spec.onResponse(response(9), stream);
  spec.onResponse(response(10), stream);
  spec.release();
  t.deepEqual(applied, [9], "the responses after the end are not passed on");
});
