/**
 * README example: decoders. Run: `node --import tsx examples/decoders.ts`.
 *
 * The parts between `// #region NAME` and `// #endregion` are copied into README.md
 * (with `../src/index.js` written as `event-value`); test/unit/examples.test.ts checks
 * that they match and runs this file.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { fileURLToPath } from "node:url";
// #region imports
import { z } from "zod";
import { DecodeError, decoders } from "../src/index.js";
// #endregion

export function main(): void {
  // #region decoders
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

  // A decoder turns the bytes of a key into a value: (bytes, key) => T; it throws to reject.
  assert.deepEqual(decoders.bytes(utf8("hi"), "/motd"), utf8("hi")); // the default
  assert.equal(decoders.text(utf8("héllo"), "/motd"), "héllo"); // UTF-8, strict
  const port = decoders.json<{ port: number }>(); // JSON.parse, no validation
  assert.deepEqual(port(utf8('{"port":80}'), "/cfg"), { port: 80 });

  // schema: JSON, then any synchronous Standard Schema validator (zod, valibot, arktype)
  const appConfig = decoders.schema(
    z.object({ workers: z.number().int().min(1), logLevel: z.string().default("info") }),
  );
  assert.deepEqual(appConfig(utf8('{"workers":4}'), "/cfg"), { workers: 4, logLevel: "info" });
  assert.throws(
    () => appConfig(utf8('{"workers":0}'), "/cfg"),
    (error) => error instanceof DecodeError && error.key === "/cfg" && error.issues?.length === 1,
  ); // a DecodeError naming the key, with the validator's issues

  // safe: never throws; a failure becomes a value, so a `for await` loop goes on
  const safeConfig = decoders.safe(appConfig);
  const good = safeConfig(utf8('{"workers":2}'), "/cfg");
  if (good.ok) assert.equal(good.value.workers, 2); // ok: the decoded value is `.value`
  const bad = safeConfig(utf8("{not json"), "/cfg");
  assert.equal(bad.ok, false); // not ok: `.error` is the DecodeError
  if (!bad.ok) console.log(`decoders: rejected as expected: ${bad.error.message}`);
  // #endregion
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
