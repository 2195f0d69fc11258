/**
 * The benchmark runs (tiny sizes), so it cannot rot unnoticed. It measures nothing here.
 * Rows 4–17 start their own etcd member through the harness, hence this suite's place.
 */

import test from "ava";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

test("bench: npm run bench -- --smoke prints every row 1–17 and exits by itself", async (t) => {
  // The etcd rows take about 90 s on 2 busy cores (row 8 alone 15 s, row 16's two
  // killed leaders 15 s), over 180 s at load average 20: allow five minutes.
  t.timeout(320_000);
  const result = await runNode("bench/run.ts", {}, ["--smoke"], 300_000);
  t.true(exitedByItself(result), describeChild(result));
  for (let id = 1; id <= 17; id++) {
    t.regex(result.stdout, new RegExp(`^\\| ${id} \\|`, "m"), `row ${id} is printed`);
  }
});
