/** Checking write options (`write-options.ts`): malformed options are a TypeError naming them. */

import test from "ava";
import { parseWriteOptions } from "../../src/etcd/write-options.js";

const prefix = Buffer.from("/ns/");

test("parseWriteOptions: guard keys get the namespace prefix; one guard or a list", (t) => {
  const one = parseWriteOptions({ guard: { key: "lock", createRevision: 4 } }, prefix, true);
  t.deepEqual(one.guards, [{ key: Buffer.from("/ns/lock"), createRevision: 4 }]);
  const list = parseWriteOptions(
    {
      guard: [
        { key: "a", createRevision: 1 },
        { key: "b", createRevision: 2 },
      ],
    },
    prefix,
    true,
  );
  t.deepEqual(
    list.guards.map((g) => g.key.toString()),
    ["/ns/a", "/ns/b"],
  );
  t.deepEqual(parseWriteOptions(undefined, prefix, true), {
    ifRevision: undefined,
    guards: [],
    lease: undefined,
    signal: undefined,
  });
});

for (const [what, options, message] of [
  ["a negative ifRevision", { ifRevision: -1 }, /`ifRevision` to be an integer >= 0/],
  ["a fractional ifRevision", { ifRevision: 1.5 }, /`ifRevision`/],
  ["a string ifRevision", { ifRevision: "3" }, /`ifRevision`/],
  ["a guard without a key", { guard: { createRevision: 3 } }, /`guard.key`/],
  [
    "a guard at revision 0",
    { guard: { key: "k", createRevision: 0 } },
    /`guard.createRevision` to be an integer >= 1/,
  ],
  ["a bad guard in a list", { guard: [{ key: "k", createRevision: 1 }, null] }, /`guard\[1\]`/],
  ["a lease without a decimal id", { lease: { id: "0x1f" } }, /`lease`/],
  ["a signal that is not an AbortSignal", { signal: {} }, /`signal`/],
  ["options that are not an object", "fast", /write options/],
] as const) {
  test(`parseWriteOptions: ${what} is a TypeError naming it`, (t) => {
    t.throws(() => parseWriteOptions(options as never, prefix, true), {
      instanceOf: TypeError,
      message,
    });
  });
}

test("parseWriteOptions: update's options refuse ifRevision", (t) => {
  t.throws(() => parseWriteOptions({ ifRevision: 3 }, prefix, false), {
    instanceOf: TypeError,
    message: /update\(\) takes no `ifRevision`/,
  });
});
