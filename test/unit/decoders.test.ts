import test from "ava";
import * as v from "valibot";
import { z } from "zod";
import { runDecoder } from "../../src/event/decoders.js";
import { DecodeError, type Decoder, decoders } from "../../src/index.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const invalidUtf8 = new Uint8Array([0x66, 0xff, 0xfe]);

test("bytes: returns the bytes as they are", (t) => {
  const input = new Uint8Array([0, 1, 255]);
  t.is(decoders.bytes(input, "k"), input);
});

test("text: decodes UTF-8, including the empty value", (t) => {
  t.is(decoders.text(bytes("héllo ✓"), "k"), "héllo ✓");
  t.is(decoders.text(new Uint8Array(), "k"), "", "an empty value is an empty string");
});

test("text: rejects invalid UTF-8 with a DecodeError naming the key", (t) => {
  const error = t.throws(() => decoders.text(invalidUtf8, "/cfg"), { instanceOf: DecodeError });
  t.is(error.key, "/cfg");
  t.is(error.revision, undefined, "a decoder called directly cannot know the revision");
  t.regex(error.message, /"\/cfg" is not valid UTF-8/);
  t.true(error.cause instanceof TypeError, "cause is TextDecoder's error");
});

test("json: parses JSON", (t) => {
  t.deepEqual(decoders.json<{ a: number }>()(bytes('{"a":1}'), "k"), { a: 1 });
});

test("json: rejects invalid JSON with a DecodeError whose cause is the SyntaxError", (t) => {
  const error = t.throws(() => decoders.json()(bytes("{nope"), "k"), { instanceOf: DecodeError });
  t.true(error.cause instanceof SyntaxError);
  t.throws(() => decoders.json()(invalidUtf8, "k"), { instanceOf: DecodeError, message: /UTF-8/ });
});

const zodConfig = z.object({ port: z.number().int(), host: z.string().default("localhost") });
const valibotConfig = v.object({ port: v.number(), host: v.optional(v.string(), "localhost") });

test("schema: validates with zod and returns the schema's output", (t) => {
  t.deepEqual(decoders.schema(zodConfig)(bytes('{"port":80}'), "k"), {
    port: 80,
    host: "localhost",
  });
});

test("schema: validates with valibot", (t) => {
  t.deepEqual(decoders.schema(valibotConfig)(bytes('{"port":80}'), "k"), {
    port: 80,
    host: "localhost",
  });
});

test("schema: a rejected value is a DecodeError holding the issues", (t) => {
  for (const schema of [zodConfig, valibotConfig]) {
    const error = t.throws(() => decoders.schema(schema)(bytes('{"port":"x"}'), "/cfg"), {
      instanceOf: DecodeError,
    });
    t.true((error.issues?.length ?? 0) > 0, "issues are attached");
    t.is(error.key, "/cfg");
  }
});

test("schema: an asynchronous schema is a DecodeError, not an unhandled promise", (t) => {
  const asyncSchema = z.string().refine(async () => true);
  t.throws(() => decoders.schema(asyncSchema)(bytes('"x"'), "k"), {
    instanceOf: DecodeError,
    message: /synchronous/,
  });
});

test("safe: never throws; failures become values with a DecodeError", (t) => {
  const safe = decoders.safe(decoders.json<number>());
  t.deepEqual(safe(bytes("5"), "k"), { ok: true, value: 5 });
  const failed = safe(bytes("{"), "/k");
  t.false(failed.ok);
  if (!failed.ok) {
    t.true(failed.error instanceof DecodeError);
    t.is(failed.error.key, "/k");
    t.is(failed.error.revision, undefined);
  }
});

test("safe: wraps what a custom decoder throws, even a non-Error", (t) => {
  const throwsString: Decoder<never> = () => {
    throw "plain string";
  };
  const result = decoders.safe(throwsString)(bytes("x"), "k");
  t.false(result.ok);
  if (!result.ok) t.is(result.error.cause, "plain string");
});

test("runDecoder: wraps a thrown non-Error into a DecodeError with key and revision", (t) => {
  const error = t.throws(
    () =>
      runDecoder(
        () => {
          throw 42;
        },
        bytes("x"),
        "/k",
        9,
      ),
    { instanceOf: DecodeError },
  );
  t.is(error.cause, 42);
  t.is(error.key, "/k");
  t.is(error.revision, 9);
});

test("runDecoder: completes a DecodeError thrown by the decoder with the revision", (t) => {
  const error = t.throws(() => runDecoder(decoders.json(), bytes("{"), "/k", 12), {
    instanceOf: DecodeError,
  });
  t.is(error.revision, 12);
  t.true(error.cause instanceof SyntaxError, "the original cause is kept");
});

test("runDecoder: a decoder returning a promise is rejected and its failure handled", (t) => {
  const asyncDecoder = (() => Promise.reject(new Error("late"))) as unknown as Decoder<string>;
  t.throws(() => runDecoder(asyncDecoder, bytes("x"), "/k", 3), {
    instanceOf: DecodeError,
    message: /returned a promise/,
  });
});
