/** The benchmark runs (tiny sizes), so it cannot rot unnoticed. It measures nothing here. */

import test from "ava";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

test("bench: npm run bench -- --smoke prints every row and exits by itself", async (t) => {
  const result = await runNode("bench/run.ts", {}, ["--smoke"]);
  t.true(exitedByItself(result), describeChild(result));
  for (const id of [1, 2, 3]) t.regex(result.stdout, new RegExp(`^\\| ${id} \\|`, "m"));
});
