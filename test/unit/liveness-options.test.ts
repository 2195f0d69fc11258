/**
 * `EtcdLiveness` checks its arguments before any I/O: a TypeError naming the bad one.
 * The client here is a stand-in whose requests never answer; probing is closed at once.
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { EtcdLiveness, WatcherClosedError } from "../../src/index.js";

/** A client-shaped object whose range requests never settle. */
function silentClient(): Etcd3 {
  return {
    prefix: Buffer.alloc(0),
    kv: { range: () => new Promise(() => {}) },
  } as unknown as Etcd3;
}

const bad: [string, unknown, RegExp][] = [
  ["interval 0", { interval: 0 }, /`interval` to be a positive finite number.*got number `0`/],
  ["interval -1", { interval: -1 }, /`interval`.*got number `-1`/],
  ["interval NaN", { interval: Number.NaN }, /`interval`.*got number `NaN`/],
  ["interval Infinity", { interval: Number.POSITIVE_INFINITY }, /`interval`.*Infinity/],
  ["interval beyond a timer's range", { interval: 2 ** 31 }, /`interval`.*at most 2147483647/],
  ["interval as a string", { interval: "5000" }, /`interval`.*got string `5000`/],
  ["timeout 0", { timeout: 0 }, /`timeout` to be a positive finite number.*got number `0`/],
  ["timeout null", { timeout: null }, /`timeout`.*got null/],
  [
    "timeout above interval",
    { interval: 1000, timeout: 1500 },
    /`timeout` to be at most `interval` \(1000 ms\), got 1500/,
  ],
  [
    "timeout above the default interval",
    { timeout: 6000 },
    /`timeout` to be at most `interval` \(5000 ms\)/,
  ],
  ["options as a number", 5000, /`options` to be an object or undefined, got number `5000`/],
];

for (const [what, options, message] of bad) {
  test(`constructor: ${what} is a TypeError naming the option`, (t) => {
    t.throws(() => new EtcdLiveness(silentClient(), options as never), {
      instanceOf: TypeError,
      message,
    });
  });
}

test("constructor: a client that is not an etcd3 client is a TypeError", (t) => {
  t.throws(() => new EtcdLiveness({} as Etcd3), {
    instanceOf: TypeError,
    message: /`client` to be an Etcd3 client/,
  });
  t.throws(() => new EtcdLiveness(undefined as unknown as Etcd3), { instanceOf: TypeError });
});

test("constructor: valid options are accepted; timeout may equal interval", async (t) => {
  for (const options of [undefined, {}, { interval: 200 }, { interval: 300, timeout: 300 }]) {
    const liveness = new EtcdLiveness(silentClient(), options);
    liveness.close();
    await t.throwsAsync(liveness.watch().get(), { instanceOf: WatcherClosedError });
  }
});
