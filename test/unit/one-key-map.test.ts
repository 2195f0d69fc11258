/**
 * The entries of a single key's range (`OneKeyMap`): a `Map` of at most one key.
 */

import test from "ava";
import { OneKeyMap } from "../../src/etcd/one-key-map.js";

test("OneKeyMap reads, iterates, replaces and deletes its one entry as a Map does", (t) => {
  const map = new OneKeyMap<number>();
  t.is(map.size, 0);
  t.deepEqual([...map], []);
  map.set("/a", 1).set("/a", 2);
  t.is(map.size, 1);
  t.is(map.get("/a"), 2);
  t.true(map.has("/a"));
  t.false(map.has("/b"));
  t.is(map.get("/b"), undefined);
  t.deepEqual([...map], [["/a", 2]]);
  t.deepEqual([...map.keys()], ["/a"]);
  t.deepEqual([...map.values()], [2]);
  t.deepEqual(new Map(map), new Map([["/a", 2]]));
  t.false(map.delete("/b"));
  t.true(map.delete("/a"));
  t.is(map.size, 0);
  t.deepEqual([...map.entries()], []);
});

test("OneKeyMap refuses a second key", (t) => {
  const map = new OneKeyMap<number>().set("/a", 1);
  t.throws(() => map.set("/b", 2), { message: /second key/ });
  t.is(map.get("/a"), 1);
});
