/**
 * The read-only Map behind `RangeSnapshot.entries` (`src/etcd/read-only-map.ts`): reads
 * as a Map, refuses changes even through a cast, and its owner fills it.
 */

import test from "ava";
import { ReadOnlyMap } from "../../src/etcd/read-only-map.js";

function filled(): ReadOnlyMap<string, number> {
  const map = new ReadOnlyMap<string, number>();
  ReadOnlyMap.put(map, "a", 1);
  ReadOnlyMap.put(map, "b", 2);
  return map;
}

test("reads: a Map in every way that reads", (t) => {
  const map = filled();
  t.true(map instanceof Map);
  t.is(map.size, 2);
  t.is(map.get("a"), 1);
  t.true(map.has("b"));
  t.deepEqual(
    [...map],
    [
      ["a", 1],
      ["b", 2],
    ],
  );
  t.deepEqual(new Map(map).get("b"), 2, "copies like a Map");
});

test("writes: set, delete and clear throw a TypeError and change nothing", (t) => {
  const map = filled() as Map<string, number>;
  t.throws(() => map.set("a", 9), { instanceOf: TypeError, message: /read-only/ });
  t.throws(() => map.delete("a"), { instanceOf: TypeError });
  t.throws(() => map.clear(), { instanceOf: TypeError });
  t.is(map.get("a"), 1);
  t.is(map.size, 2);
});

test("owner: empty() clears it for a rebuild", (t) => {
  const map = filled();
  ReadOnlyMap.empty(map);
  t.is(map.size, 0);
});
