/**
 * A decoder factory given where a decoder belongs (`{ decoder: decoders.json }`, without
 * its call) fails loudly: a type error (test/types.ts) and, for JavaScript callers or a
 * cast, a `TypeError` at construction that names the call to write instead.
 */

import test from "ava";
import { Etcd3 } from "etcd3";
import { type Decoder, decoders, EtcdRangeValue, EtcdValue } from "../../src/index.js";

/** A client that is never used: nothing listens there, and no call is made. */
const client = new Etcd3({ hosts: "127.0.0.1:1" });
test.after.always(() => client.close());

/** What a JavaScript caller can pass: the factory itself, as a decoder. */
const asDecoder = (factory: unknown): Decoder<unknown> => factory as Decoder<unknown>;

test("decoder: decoders.json without () is a TypeError at construction naming decoders.json()", (t) => {
  t.throws(() => new EtcdValue(client, "/k", { decoder: asDecoder(decoders.json) }), {
    instanceOf: TypeError,
    message:
      "Expected `decoder` to be a decoder, got a decoder factory: call it, as `decoder: decoders.json()`",
  });
});

test("decoder: decoders.schema without (schema) is a TypeError for a range too", (t) => {
  const range = { prefix: "/p/" };
  t.throws(() => new EtcdRangeValue(client, range, { decoder: asDecoder(decoders.schema) }), {
    instanceOf: TypeError,
    message: /call it, as `decoder: decoders\.schema\(yourSchema\)`/,
  });
});

test("decoder: decoders.safe(decoders.json) is a TypeError naming decoders.json()", (t) => {
  t.throws(() => decoders.safe(asDecoder(decoders.json)), {
    instanceOf: TypeError,
    message: /call it, as `decoder: decoders\.json\(\)`/,
  });
});

test("decoder: the factories' results and other functions are accepted", (t) => {
  t.notThrows(() => new EtcdValue(client, "/k", { decoder: decoders.json() }));
  t.notThrows(() => new EtcdValue(client, "/k", { decoder: (bytes) => bytes.length }));
  t.notThrows(() => decoders.safe(decoders.json()));
});
