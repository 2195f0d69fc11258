/**
 * Key ids in etcd's order (`compareKeyIds`): a range value sorts its snapshots by key id,
 * without keeping each key's bytes, and must get etcd's byte order.
 */

import test from "ava";
import { compareKeyIds, keyId, userKeyOf } from "../../src/etcd/key-range.js";

const namespace = Buffer.from("/ns/");

/** Keys whose byte order differs from JavaScript's string order, and keys that are not UTF-8. */
const keys: Buffer[] = [
  "a",
  "ab",
  "b",
  "",
  "\u00e9",
  "\u07ff",
  "\ud7ff",
  "\ue000",
  "\uffff",
  "\ufffd",
  "\u{10000}",
  "\u{1f600}",
  "\u{10ffff}",
  "a\u{1f600}",
  "a\uffff",
].map((key) => Buffer.from(key));
keys.push(Buffer.from([0xff]), Buffer.from([0x61, 0xc3]), Buffer.from([0xc3]), Buffer.from([0x80]));

test("compareKeyIds orders ids as etcd orders their keys' bytes", (t) => {
  const ids = keys.map((key) => keyId(namespace, Buffer.concat([namespace, key])));
  const byBytes = keys
    .map((key, i) => ({ key, id: ids[i] as string }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((entry) => entry.id);
  t.deepEqual([...ids].sort(compareKeyIds), byBytes);
  // JavaScript's own order differs here (U+FFFF sorts after U+1F600's surrogates).
  t.notDeepEqual([...ids].sort(), byBytes);
});

test("compareKeyIds is 0 only for the same id", (t) => {
  const ids = keys.map((key) => keyId(namespace, Buffer.concat([namespace, key])));
  for (const a of ids) {
    for (const b of ids) t.is(compareKeyIds(a, b) === 0, a === b);
  }
});

test("userKeyOf gives back a valid key starting with U+10000-U+103FF as it is, not as raw bytes", (t) => {
  for (const key of ["\u{10000}", "\u{103ff}/config", "\u{10400}"]) {
    t.is(userKeyOf(keyId(namespace, Buffer.concat([namespace, Buffer.from(key)]))), key);
  }
  const raw = Buffer.from([0xff, 0x61]);
  t.is(userKeyOf(keyId(namespace, Buffer.concat([namespace, raw]))), "\ufffda");
});
