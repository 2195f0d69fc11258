/**
 * The benchmark runs (tiny sizes), so it cannot rot unnoticed. It measures nothing here.
 * Rows 4–12 start their own etcd member through the harness, hence this suite's place.
 */

import test from "ava";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

test("bench: npm run bench -- --smoke prints every row 1–13 and exits by itself", async (t) => {
  // The etcd rows take about a minute on 2 busy cores (row 8 alone 20 s): allow two.
  const result = await runNode("bench/run.ts", {}, ["--smoke"], 120_000);
  t.true(exitedByItself(result), describeChild(result));
  for (let id = 1; id <= 13; id++) {
    t.regex(result.stdout, new RegExp(`^\\| ${id} \\|`, "m"), `row ${id} is printed`);
  }
});
