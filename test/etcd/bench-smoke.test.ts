/**
 * The benchmark runs (tiny sizes), so it cannot rot unnoticed. It measures nothing here.
 * Rows 4–10 start their own etcd member through the harness, hence this suite's place.
 */

import test from "ava";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

test("bench: npm run bench -- --smoke prints rows 1–10 and 13 and exits by itself", async (t) => {
  const result = await runNode("bench/run.ts", {}, ["--smoke"]);
  t.true(exitedByItself(result), describeChild(result));
  for (const id of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13]) {
    t.regex(result.stdout, new RegExp(`^\\| ${id} \\|`, "m"), `row ${id} is printed`);
  }
});
