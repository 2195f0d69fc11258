/**
 * The benchmark runs (tiny sizes), so it cannot rot unnoticed. It measures nothing here.
 * Rows 4–10 start their own etcd member through the harness, hence this suite's place.
 */

import test from "ava";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

test("bench: npm run bench -- --smoke prints every row 1–10 and exits by itself", async (t) => {
  const result = await runNode("bench/run.ts", {}, ["--smoke"]);
  t.true(exitedByItself(result), describeChild(result));
  for (let id = 1; id <= 10; id++) {
    t.regex(result.stdout, new RegExp(`^\\| ${id} \\|`, "m"), `row ${id} is printed`);
  }
});
