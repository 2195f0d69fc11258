/**
 * Close, clause 5 of `Watcher.get`: `close()` releases every resource, the retry delay
 * included. A watch waiting out a long backoff delay when its last watcher closes must
 * not keep the process alive until the delay ends.
 */

import test from "ava";
import { pickFreePorts } from "../harness/ports.js";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

test("close: a retry delay under way is cancelled, the process exits at once", async (t) => {
  const [deadPort] = await pickFreePorts(1);
  const started = performance.now();
  const result = await runNode("test/unit/fixtures/close-during-backoff.ts", {}, [
    `http://127.0.0.1:${deadPort}`,
  ]);
  const took = performance.now() - started;
  t.true(result.stdout.includes("closed"), `the child closed everything: ${describeChild(result)}`);
  t.true(exitedByItself(result), `exited by itself: ${describeChild(result)}`);
  t.log(`child ran ${Math.round(took)} ms`);
  t.true(took < 45_000, `not held by the 60 s retry delay (ran ${Math.round(took)} ms)`);
});
