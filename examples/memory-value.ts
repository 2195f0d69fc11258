/**
 * README example: `MemoryValue`. Run: `node --import tsx examples/memory-value.ts`.
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
import { BacklogDoneError, MemoryValue, WatcherClosedError } from "../src/index.js";
// #endregion

export async function main(): Promise<void> {
  // #region watch
  const port = new MemoryValue(8080); // revision 1
  const watcher = port.watch(); // cheap: one watcher per consumer
  assert.equal(await watcher.get(), 8080); // first call: the current value, at once
  assert.equal(watcher.revision, 1);

  port.set(8081);
  port.set(8082); // latest wins: this watcher never sees 8081
  assert.equal(await watcher.get(), 8082);
  assert.equal(watcher.revision, 3);

  port.set(8082); // an equal value is still newer (revision 4): it wakes the watcher
  assert.equal(await watcher.get(), 8082);

  watcher.close(); // idempotent; releases the watcher
  await assert.rejects(watcher.get(), WatcherClosedError);
  // #endregion

  // #region get-options
  await using w = port.watch(); // closed when the block ends
  await w.get(); // 8082

  // signal: cancel a wait; nothing is consumed and the watcher stays usable
  const stop = new AbortController();
  const waiting = w.get(stop.signal);
  stop.abort(new Error("shutting down"));
  await assert.rejects(waiting, /shutting down/);

  // filter: wait for a condition; values that fail it are consumed silently
  port.set(8443);
  const privileged = w.get({ filter: (p) => p < 1024 }); // 8443 fails: consumed, waits on
  port.set(443);
  assert.equal(await privileged, 443);

  // backlogOnly: never wait; BacklogDoneError when nothing newer has arrived
  port.set(80);
  assert.equal(await w.get({ backlogOnly: true }), 80);
  await assert.rejects(w.get({ backlogOnly: true }), BacklogDoneError);
  // #endregion

  // #region try-finally
  const same = port.watch(); // what `await using` does, written out
  try {
    assert.equal(await same.get(), 80);
  } finally {
    same.close();
  }
  // #endregion

  // #region for-await
  const logLevel = new MemoryValue("info");
  const seen: string[] = [];
  for await (const level of logLevel.watch()) {
    seen.push(level);
    if (level !== "info") break; // leaving the loop closes the watcher
    logLevel.set("debug"); // set() may be called from anywhere, the loop included
  }
  assert.deepEqual(seen, ["info", "debug"]);
  // #endregion

  // #region signal
  const shutdown = new AbortController(); // e.g. aborted on SIGTERM
  const levels: string[] = [];
  for await (const level of logLevel.watch({ signal: shutdown.signal })) {
    levels.push(level);
    shutdown.abort(); // the loop ends normally, without an error; the watcher is closed
  }
  assert.deepEqual(levels, ["debug"]);
  // #endregion

  console.log(`memory-value: ok (port ${port.current}, revision ${port.revision})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
