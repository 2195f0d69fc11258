/**
 * The stall rule of a watch stream (`src/etcd/stall-clock.ts`), on a clock of our own: a
 * silent stream is asked for progress, and is stalled only when the answer is late and
 * no byte came from the member meanwhile; after a stall the next stream is more patient.
 */

import test from "ava";
import { MAX_PATIENCE, StallClock, StallPatience } from "../../src/etcd/stall-clock.js";

const OPTIONS = { idleCheckMs: 2000, answerTimeoutMs: 3000 };

/** A progress check that reports what the test says. */
function bytes(): { check: () => boolean | undefined; arrive: () => void; unknown: () => void } {
  let arrived = false;
  let known = true;
  return {
    check: () => {
      if (!known) return undefined;
      const result = arrived;
      arrived = false;
      return result;
    },
    arrive: () => {
      arrived = true;
    },
    unknown: () => {
      known = false;
    },
  };
}

test("check: a stream heard from within idleCheckMs waits", (t) => {
  const clock = new StallClock({ ...OPTIONS, progress: undefined }, 0);
  t.deepEqual(clock.check(1500), { action: "wait", nextCheckMs: 500 });
});

test("check: silence for idleCheckMs asks for progress", (t) => {
  const clock = new StallClock({ ...OPTIONS, progress: undefined }, 0);
  t.deepEqual(clock.check(2000), { action: "ask", nextCheckMs: 3000 });
});

test("check: an answer in time keeps the stream", (t) => {
  const clock = new StallClock({ ...OPTIONS, progress: undefined }, 0);
  clock.check(2000);
  clock.heard(4000);
  t.is(clock.check(5000).action, "wait", "no stall after the answer");
});

test("check: no answer and no bytes within answerTimeoutMs is a stall (frozen member)", (t) => {
  const link = bytes();
  const clock = new StallClock({ ...OPTIONS, progress: link.check }, 0);
  clock.check(2000);
  t.is(clock.check(5000).action, "stalled");
});

test("check: no answer but bytes arriving is not a stall (busy link), until the bytes stop", (t) => {
  const link = bytes();
  const clock = new StallClock({ ...OPTIONS, progress: link.check }, 0);
  t.is(clock.check(2000).action, "ask");
  link.arrive();
  t.deepEqual(clock.check(5000), { action: "wait", nextCheckMs: 3000 }, "busy: more time");
  link.arrive();
  t.is(clock.check(8000).action, "wait", "still busy");
  t.is(clock.check(11_000).action, "stalled", "the bytes stopped: stalled");
});

test("check: bytes that arrived before the progress request do not count", (t) => {
  const link = bytes();
  const clock = new StallClock({ ...OPTIONS, progress: link.check }, 0);
  link.arrive();
  t.is(clock.check(2000).action, "ask");
  t.is(clock.check(5000).action, "stalled");
});

test("check: without evidence (no connection known), time alone decides", (t) => {
  const link = bytes();
  link.unknown();
  const clock = new StallClock({ ...OPTIONS, progress: link.check }, 0);
  clock.check(2000);
  t.is(clock.check(5000).action, "stalled");
});

test("patience: doubles after each stall, up to MAX_PATIENCE, and resets once heard", (t) => {
  const patience = new StallPatience();
  t.is(patience.scale(3000), 3000);
  patience.stalled();
  t.is(patience.scale(3000), 6000, "the next stream is not cut the same way");
  for (let i = 0; i < 10; i++) patience.stalled();
  t.is(patience.scale(3000), 3000 * MAX_PATIENCE, "bounded");
  patience.heard();
  t.is(patience.scale(3000), 3000, "back to the base once a stream is heard");
});
