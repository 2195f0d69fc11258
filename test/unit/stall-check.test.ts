/**
 * Stall detection measures durations on the monotonic clock: a step of the wall clock
 * (NTP, a resumed VM) neither disables it nor fires it early.
 */

import test from "ava";
import { StallCheck } from "../../src/etcd/stall-check.js";

/** Runs `body` with `Date.now()` stepped by `stepMs`, restoring it afterwards. */
async function withClockStep<T>(stepMs: number, body: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + stepMs;
  try {
    return await body();
  } finally {
    Date.now = realNow;
  }
}

function stallOf(check: { progress: number }): {
  stalled: Promise<void>;
  start: () => StallCheck;
} {
  let resolve!: () => void;
  const stalled = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    stalled,
    start: () =>
      new StallCheck(
        { idleCheckMs: 50, answerTimeoutMs: 50, progress: undefined },
        {
          requestProgress: () => {
            check.progress += 1; // never answered
          },
          stalled: resolve,
        },
      ),
  };
}

test("stall check: a wall clock stepped back an hour does not disable it", async (t) => {
  const check = { progress: 0 };
  const { stalled, start } = stallOf(check);
  const stall = start();
  t.teardown(() => stall.stop());
  await withClockStep(-3_600_000, async () => {
    // A timer that holds the process: the check's own timer does not (it is unref'd).
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      stalled,
      new Promise((_, reject) => {
        guard = setTimeout(() => reject(new Error("not stalled within 5 s")), 5000);
      }),
    ]).finally(() => clearTimeout(guard));
  });
  t.is(check.progress, 1, "one progress request, unanswered, then stalled");
});
