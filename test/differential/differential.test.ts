/**
 * The differential test: seeded random lists of operations (puts, deletes, ranges with
 * every option, transactions with random compares and nested transactions, leases,
 * compactions, bad input, watches from random revisions with filters and prev_kv) run on
 * a fresh real etcd member and on a fresh `MemoryEtcd`, through the public etcd3 API;
 * every normalized answer and every watch's responses must be equal (normalization:
 * normalize.ts).
 *
 * `npm test` runs a few fixed seeds with small sizes. From the command line:
 *   DIFF_SEED=<n>     one seed (reproduces a failure printed by this test)
 *   DIFF_RUNS=<n>     lists per seed (default 3)
 *   DIFF_OPS=<n>      at most n operations per list (default 25)
 *   DIFF_PATH=<p>     replay one shrunk counterexample (fast-check's path, printed)
 *   DIFF_AGAINST=etcd compare two real members instead (proves the normalization:
 *                     two etcd members must agree)
 * e.g. `DIFF_SEED=7 DIFF_RUNS=50 DIFF_OPS=100 npx ava test/differential/differential.test.ts`.
 * A failure prints the seed, the shrunk list of operations (a minimal reproduction) and
 * the first differing answer.
 */

import test from "ava";
import fc from "fast-check";
import { formatOps } from "./format.js";
import { runInLockstep, type Store } from "./lockstep.js";
import { type Op, runArb } from "./ops.js";
import { MemberSupply, twinStore } from "./stores.js";

const env = process.env;
const runs = Number(env.DIFF_RUNS ?? 3);
const maxOps = Number(env.DIFF_OPS ?? 25);
const seeds = env.DIFF_SEED === undefined ? [1, 2, 3] : [Number(env.DIFF_SEED)];
const against = env.DIFF_AGAINST ?? "memory";
if (against !== "memory" && against !== "etcd") {
  throw new Error(`DIFF_AGAINST must be memory or etcd, got ${against}`);
}

const members = new MemberSupply();
test.after.always("stop the member started ahead", () => members.close());

/** Runs the property for `seed`; resolves with a failure report, or undefined. */
async function check(
  seed: number,
  second: () => Promise<Store>,
  numRuns: number,
): Promise<string | undefined> {
  const details = await fc.check(
    fc.asyncProperty(runArb(maxOps), async (ops: Op[]) => {
      await runInLockstep(ops, () => members.next(), second);
    }),
    {
      seed,
      numRuns,
      ...(env.DIFF_PATH === undefined ? {} : { path: env.DIFF_PATH }),
      // Shrinking runs the property again per step, each on two fresh stores.
      interruptAfterTimeLimit: 10 * 60_000,
      markInterruptAsFailure: false,
    },
  );
  if (!details.failed || details.counterexample === null) return undefined;
  const [ops] = details.counterexample;
  return [
    `seed ${seed}: the stores differ after ${details.numShrinks} shrinks`,
    `reproduce: DIFF_SEED=${seed} DIFF_OPS=${maxOps} DIFF_PATH=${details.counterexamplePath} DIFF_AGAINST=${against} npx ava test/differential/differential.test.ts`,
    "operations (revisions relative to the store's current one; leases and watches by order made):",
    formatOps(ops),
    String(
      details.errorInstance instanceof Error
        ? details.errorInstance.message
        : details.errorInstance,
    ),
  ].join("\n");
}

for (const seed of seeds) {
  test.serial(
    `differential: seed ${seed}, ${runs} lists of up to ${maxOps} operations: real etcd and ${against === "memory" ? "MemoryEtcd" : "a second etcd member"} answer alike`,
    async (t) => {
      t.timeout(runs * 30_000 + 10 * 60_000, "the runs, and shrinking a failure (10 min at most)");
      const second = against === "memory" ? twinStore : () => members.next();
      const failure = await check(seed, second, runs);
      if (failure !== undefined) t.fail(failure);
      else t.pass();
    },
  );
}
