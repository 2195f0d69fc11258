/**
 * `EtcdLiveness` on a store (real etcd or MemoryEtcd, see test/harness/backends.ts): true
 * while the store answers, false within two probe results of a freeze (SIGSTOP on etcd,
 * `freeze()` on the twin) and true again after the thaw; every probe result wakes a
 * waiting watcher; answered requests add nothing; close() stops probing. "Within two
 * intervals" is checked by counting probe results, not by a clock (see
 * test/etcd/liveness.test.ts, which keeps the tests that need a real process: kill,
 * auth, process exit).
 */

import type { ExecutionContext, TestFn } from "ava";
import type { Etcd3 } from "etcd3";
import {
  BacklogDoneError,
  EtcdLiveness,
  type EtcdLivenessOptions,
  WatcherClosedError,
} from "../../src/index.js";
import type { Backend } from "../harness/backends.js";
import { deadline } from "../helpers/faults.js";
import { drain, resultsUntil } from "../helpers/liveness-results.js";

/** Registers the EtcdLiveness tests on `backend` (which needs `faults: true`). */
export function livenessSuite(test: TestFn, backend: () => Backend): void {
  /** A client of the store, closed after the test. */
  function client(t: ExecutionContext): Etcd3 {
    const etcd = backend().client();
    t.teardown(() => etcd.close());
    return etcd;
  }

  /** A liveness object closed after the test. */
  function liveness(t: ExecutionContext, etcd: Etcd3, options?: EtcdLivenessOptions): EtcdLiveness {
    const value = new EtcdLiveness(etcd, options);
    t.teardown(() => value.close());
    return value;
  }

  test("value: true while the member answers; the first get() waits for the first probe", async (t) => {
    const w = liveness(t, client(t), { interval: 500 }).watch();
    t.teardown(() => w.close());
    t.true(await w.get(deadline(10_000, "the first probe")), "the member answers: alive");
    t.is(w.revision, 1, "the first probe's result is revision 1");
    t.true(await w.get(deadline(10_000, "the second probe")), "still alive at the next probe");
    t.is(w.revision, 2);
  });

  test("probes: every probe result wakes a waiting watcher, equal to the previous or not", async (t) => {
    const w = liveness(t, client(t), { interval: 200 }).watch();
    t.teardown(() => w.close());
    const revisions: number[] = [];
    const signal = deadline(15_000, "six probe results");
    for (let i = 0; i < 6; i++) {
      await w.get(signal);
      revisions.push(w.revision ?? 0);
    }
    t.deepEqual(revisions, [1, 2, 3, 4, 5, 6], "one new revision per probe, none skipped");
  });

  test("other requests: answered ones while alive add no revision (only probes do)", async (t) => {
    const etcd = client(t);
    // One probe at construction, the next in a minute: any new revision would be the requests'.
    const w = liveness(t, etcd, { interval: 60_000 }).watch();
    t.teardown(() => w.close());
    t.true(await w.get(deadline(10_000, "the first probe")));
    await Promise.all(Array.from({ length: 20 }, (_, i) => etcd.get(`/liveness/other/${i}`)));
    await t.throwsAsync(
      w.get({ backlogOnly: true }),
      { instanceOf: BacklogDoneError },
      "20 answered requests published nothing: no watcher woke",
    );
    t.is(w.revision, 1);
  });

  test.serial(
    "freeze: false within two probe results of the store being frozen; true again after thaw",
    async (t) => {
      const w = liveness(t, client(t), { interval: 300 }).watch();
      t.teardown(async () => {
        await backend().thaw();
        w.close();
      });
      t.true(await w.get(deadline(10_000, "the first probe")));
      await drain(w);
      const frozenAt = performance.now();
      await backend().freeze();
      const results = await resultsUntil(w, false, 10_000, "false after the freeze");
      const falseAfter = performance.now() - frozenAt;
      t.true(
        results <= 2,
        `false at the latest at the second result after the freeze (${results})`,
      );
      await backend().thaw();
      const thawedAt = performance.now();
      await resultsUntil(w, true, 15_000, "true after the thaw");
      t.log(
        `false ${Math.round(falseAfter)} ms after the freeze (result ${results}); true ${Math.round(performance.now() - thawedAt)} ms after the thaw (interval 300 ms)`,
      );
    },
  );

  test("close: pending and later gets reject with WatcherClosedError; probing stops", async (t) => {
    const etcd = client(t);
    let probes = 0;
    const range = etcd.kv.range.bind(etcd.kv);
    etcd.kv.range = (...args) => {
      probes += 1;
      return range(...args);
    };
    const value = liveness(t, etcd, { interval: 200 });
    const w = value.watch();
    t.teardown(() => w.close());
    await w.get(deadline(10_000, "the first probe"));
    await drain(w);
    const pending = w.get();
    value.close();
    await t.throwsAsync(pending, { instanceOf: WatcherClosedError }, "the pending get");
    await t.throwsAsync(w.get(), { instanceOf: WatcherClosedError }, "a later get");
    await t.throwsAsync(value.watch().get(), { instanceOf: WatcherClosedError }, "a new watcher");
    t.notThrows(() => value.close(), "close() is idempotent");
    const probesAtClose = probes;

    // A clock made of events: another liveness with the same interval, three results.
    const clock = liveness(t, client(t), { interval: 200 }).watch();
    t.teardown(() => clock.close());
    const signal = deadline(10_000, "three results of another liveness");
    for (let i = 0; i < 3; i++) await clock.get(signal);
    t.is(probes, probesAtClose, "no probe after close(), over at least two intervals");
  });

  test("close: a for await loop over a watcher ends normally when the liveness closes", async (t) => {
    const value = liveness(t, client(t), { interval: 200 });
    let results = 0;
    const loop = (async () => {
      for await (const _ of value.watch()) {
        results += 1;
        if (results === 2) value.close();
      }
    })();
    await t.notThrowsAsync(loop, "the loop ends without an error");
    t.is(results, 2);
  });
}
