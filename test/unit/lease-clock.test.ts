/** The lease clock: the local deadline counts from the send time of the last acknowledged keepalive. */

import test from "ava";
import {
  keepaliveIntervalMs,
  LeaseClock,
  safetyMarginMs,
} from "../../src/coordination/lease-clock.js";

test("margin: 10 % of the TTL, at least 1 s, at most a third of the TTL", (t) => {
  t.is(safetyMarginMs(2), 2000 / 3, "a 2 s lease: a third");
  t.is(safetyMarginMs(10), 1000, "10 s: the 1 s floor");
  t.is(safetyMarginMs(60), 6000, "60 s: 10 %");
  t.is(keepaliveIntervalMs(9), 3000, "keepalives every third of the TTL");
});

test("deadline: counts from the send time of the acknowledged keepalive, not the answer", (t) => {
  let now = 0;
  const clock = new LeaseClock(0, 10, () => now);
  t.is(clock.deadline, 9000, "grant sent at 0, TTL 10 s, margin 1 s");
  now = 8000; // the answer to a keepalive sent at 3000 arrives late
  clock.acknowledged(3000, 10);
  t.is(clock.deadline, 12_000, "3000 + 10 s - 1 s, whenever the answer came");
  t.false(clock.expired());
  now = 12_000;
  t.true(clock.expired(), "expired at the deadline");
});

test("deadline: never moves backwards, and follows the TTL etcd confirms", (t) => {
  const clock = new LeaseClock(5000, 10, () => 0);
  clock.acknowledged(1000, 10);
  t.is(clock.deadline, 14_000, "an older send time does not move the deadline back");
  clock.acknowledged(6000, 30);
  t.is(clock.ttl, 30);
  t.is(clock.deadline, 6000 + 30_000 - 3000);
});
