/**
 * After `MemoryEtcd.close()` nothing of the twin keeps the process alive: no timer,
 * stream or pending request (twin-only; real etcd's counterpart is
 * test/etcd/process-exit.test.ts).
 */

import test from "ava";
import { runNode } from "../helpers/run-node.js";

const fixture = "test/memory-etcd/fixtures/twin-then-exit.ts";

test("close: a process that used the twin exits by itself once the twin is closed", async (t) => {
  const result = await runNode(fixture);
  t.is(result.signal, null, `killed: ${result.stderr}`);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /value v\nheld 14 UNAVAILABLE: MemoryEtcd closed\nclosed/);
});

test("close: a value watcher left open ends with the twin's clients, and the process exits", async (t) => {
  const result = await runNode(fixture, {}, ["leave-open"]);
  t.is(result.signal, null, `killed: ${result.stderr}`);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /closed/);
});
