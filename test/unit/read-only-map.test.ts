/**
 * The sealed Map behind `RangeSnapshot.entries` (`src/etcd/read-only-map.ts`): still a
 * plain Map for everything that reads (deep equality included), refuses changes even
 * through a cast.
 */

import test from "ava";
import { sealMap } from "../../src/etcd/read-only-map.js";

function sealed(): ReadonlyMap<string, number> {
  return sealMap(
    new Map([
      ["a", 1],
      ["b", 2],
    ]),
  );
}

test("reads: a plain Map in every way that reads", (t) => {
  const map = sealed();
  t.true(map instanceof Map);
  t.is(map.constructor, Map);
  t.is(map.size, 2);
  t.is(map.get("a"), 1);
  t.true(map.has("b"));
  t.deepEqual(
    map,
    new Map([
      ["a", 1],
      ["b", 2],
    ]),
    "deep-equal to a Map with the same entries",
  );
  t.is(new Map(map).get("b"), 2, "copies like a Map");
});

test("writes: set, delete and clear throw a TypeError and change nothing, even through a cast", (t) => {
  const map = sealed() as Map<string, number>;
  t.throws(() => map.set("a", 9), { instanceOf: TypeError, message: /read-only/ });
  t.throws(() => map.delete("a"), { instanceOf: TypeError });
  t.throws(() => map.clear(), { instanceOf: TypeError });
  t.throws(
    () => {
      (map as { set: unknown }).set = Map.prototype.set;
    },
    { instanceOf: TypeError },
    "the guard cannot be replaced",
  );
  t.is(map.get("a"), 1);
  t.is(map.size, 2);
});
