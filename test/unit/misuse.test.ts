/**
 * Bad input caught before any I/O: keys and ranges etcd values refuse with a `TypeError`
 * naming the problem, and the key ids that keep keys which are not valid UTF-8 apart.
 * (What etcd itself does with odd keys and values: test/etcd/misuse.test.ts.)
 */

import test from "ava";
import { Etcd3 } from "etcd3";
import { keyId, prefixRange, spanRange, userKeyOf } from "../../src/etcd/key-range.js";
import { EtcdRangeValue, EtcdValue } from "../../src/index.js";

/** A client that is never used: nothing listens there, and no call is made. */
const client = new Etcd3({ hosts: "127.0.0.1:1" });
test.after.always(() => client.close());

test("key: an empty key outside a Namespace is a TypeError; inside one it names the namespace's own key", (t) => {
  t.throws(() => new EtcdValue(client, ""), {
    instanceOf: TypeError,
    message: "Expected `key` to be a non-empty string, got ``",
  });
  t.notThrows(() => new EtcdValue(client.namespace("/ns/"), ""), "the key `/ns/` itself");
});

test("key: a non-string key is a TypeError naming its type", (t) => {
  t.throws(() => new EtcdValue(client, 42 as unknown as string), {
    instanceOf: TypeError,
    message: "Expected `key` to be a string, got number",
  });
  t.throws(() => new EtcdRangeValue(client, { prefix: undefined as unknown as string }), {
    instanceOf: TypeError,
    message: "Expected `range.prefix` to be a string, got undefined",
  });
});

test("key: a lone surrogate (no UTF-8 encoding) is a TypeError, not silently another key", (t) => {
  t.throws(() => new EtcdValue(client, "/k\uD800"), {
    instanceOf: TypeError,
    message: /`key` to be well-formed Unicode.*U\+D800 at index 2/,
  });
  t.throws(() => new EtcdRangeValue(client, { prefix: "\uDC00/" }), {
    instanceOf: TypeError,
    message: /`range.prefix` to be well-formed Unicode.*U\+DC00 at index 0/,
  });
  t.throws(() => new EtcdRangeValue(client, { start: "a", end: "b\uD83D" }), {
    instanceOf: TypeError,
    message: /`range.end`/,
  });
  t.notThrows(() => new EtcdValue(client, "/emoji/\u{1F600}"), "a surrogate pair is fine");
  t.notThrows(() => new EtcdValue(client, "/nul/\0/x"), "\\0 is an ordinary byte of a key");
  t.notThrows(() => new EtcdValue(client, `/long/${"k".repeat(32 * 1024)}`), "no length limit");
});

test("range: start >= end is a TypeError naming both; an end of \\0 means to the end", (t) => {
  for (const [start, end] of [
    ["b", "a"],
    ["a", "a"],
    ["a", ""],
    ["\u00e9", "z"], // é is C3 A9 in UTF-8: after z (7A) in etcd's byte order
  ] as const) {
    t.throws(() => new EtcdRangeValue(client, { start, end }), {
      instanceOf: TypeError,
      message: `Expected \`range.start\` to sort before \`range.end\`, got ${JSON.stringify(start)} >= ${JSON.stringify(end)}`,
    });
  }
  t.notThrows(() => new EtcdRangeValue(client, { start: "z", end: "\u00e9" }), "byte order");
  t.notThrows(() => new EtcdRangeValue(client, { start: "a", end: "\0" }));
  t.notThrows(() => new EtcdRangeValue(client, { start: "", end: "a" }), "from the first key");
});

test("range: malformed ranges are TypeErrors", (t) => {
  t.throws(() => new EtcdRangeValue(client, null as unknown as { prefix: string }), {
    instanceOf: TypeError,
    message: "Expected `range` to be { prefix } or { start, end }",
  });
  t.throws(() => new EtcdRangeValue(client, { start: "a" } as unknown as { prefix: string }), {
    instanceOf: TypeError,
    message: "Expected `range.end` to be a string, got undefined",
  });
});

test("key ranges: prefix \\0 and empty prefixes map to the right byte ranges", (t) => {
  const none = Buffer.alloc(0);
  t.deepEqual(prefixRange(none, "a\0"), {
    start: Buffer.from("a\0"),
    end: Buffer.from("a\u0001"),
  });
  t.deepEqual(prefixRange(none, ""), { start: Buffer.from([0]), end: Buffer.from([0]) });
  t.deepEqual(prefixRange(Buffer.from("/ns/"), ""), {
    start: Buffer.from("/ns/"),
    end: Buffer.from("/ns0"),
  });
  t.deepEqual(spanRange(Buffer.from("/ns/"), "", "\0"), {
    start: Buffer.from("/ns/"),
    end: Buffer.from("/ns0"),
  });
});

const ns = Buffer.from("/ns/");
const raw = (...bytes: number[]): Buffer => Buffer.concat([ns, Buffer.from(bytes)]);

test("key ids: a valid UTF-8 key's id is the key itself (no cost, no change)", (t) => {
  for (const key of ["", "a", "\0", "h\u00e9llo", "\u{1F600}", "x\uFFFDy"]) {
    const id = keyId(ns, Buffer.concat([ns, Buffer.from(key)]));
    t.is(id, key);
    t.is(userKeyOf(id), key);
  }
});

test("key ids: keys that are not valid UTF-8 get distinct ids; their user keys are the lossy decoding", (t) => {
  const ff = keyId(ns, raw(0x61, 0xff));
  const fe = keyId(ns, raw(0x61, 0xfe));
  const replacement = keyId(ns, Buffer.concat([ns, Buffer.from("a\uFFFD")])); // valid: EF BF BD
  const surrogate = keyId(ns, raw(0x61, 0xed, 0xa0, 0x80)); // an encoded surrogate: invalid
  const ids = [ff, fe, replacement, surrogate];
  t.is(new Set(ids).size, 4, "four different keys, four different ids");
  for (const id of [ff, fe]) t.is(userKeyOf(id), "a\uFFFD", "users see U+FFFD for the bad byte");
  t.is(userKeyOf(surrogate), "a\uFFFD\uFFFD\uFFFD");
  t.is(replacement, "a\uFFFD", "a key really holding U+FFFD is valid: its id is itself");
});
