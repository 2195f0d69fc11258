/**
 * The demo's replica (examples/replicated-controller.ts) on both backends, in the path the
 * demo does not take: the leader's lease ends (as when etcd expires it) instead of the
 * leader being stopped. The deposed leader stops acting, deregisters and campaigns again;
 * the other replica takes over and continues the status with its own guarded write.
 */

import test from "ava";
import type { AppConfig } from "../../examples/config-controller.js";
import { type ControllerStatus, runReplica } from "../../examples/replicated-controller.js";
import { codecs, EtcdElection, EtcdValue, MemoryValue } from "../../src/index.js";
import { withBackends } from "../harness/backends.js";
import { keysUnder, untilKeys } from "../helpers/coordination.js";
import { deadline } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";

/** The lines the replicas logged, and a way to wait for them. */
class Lines {
  readonly #all = new MemoryValue<readonly string[]>([]);
  readonly log = (line: string): void => this.#all.update((lines = []) => [...lines, line]);

  /** The lines of `replica` (`"a: …"`), once it has logged at least `count` (bound: 10 s). */
  async of(replica: string, count: number): Promise<string[]> {
    const mine = (all: readonly string[] = []) => all.filter((l) => l.startsWith(`${replica}: `));
    await using watcher = this.#all.watch();
    const all = await watcher.get({
      filter: (lines) => mine(lines).length >= count,
      signal: deadline(10_000, `${count} lines of ${replica}`),
    });
    return mine(all);
  }
}

withBackends(test, (test, backend) => {
  checkLeaks(test, backend);

  test("replica: a leader whose lease ends stops acting, deregisters and campaigns again; the other takes over the status", async (t) => {
    const prefix = "/replica-test/lease-lost/";
    const operator = backend().client().namespace(prefix);
    const config: AppConfig = { workers: 3, logLevel: "warn" };
    await new EtcdValue(operator, "config", { codec: codecs.json<AppConfig>() }).set(config);
    const lines = new Lines();
    const stop = new AbortController();
    const a = runReplica(backend().client().namespace(prefix), "a", stop.signal, lines.log);
    const leading = [
      "campaigning",
      "leading",
      "registered",
      "applied workers=3 logLevel=warn, status written",
    ];
    t.deepEqual(
      await lines.of("a", 4),
      leading.map((line) => `a: ${line}`),
    );
    const b = runReplica(backend().client().namespace(prefix), "b", stop.signal, lines.log);
    await untilKeys(backend().client(), `${prefix}leader/`, 2); // b waits in line

    await using leaders = new EtcdElection(operator, "leader").leader().watch();
    const leader = await leaders.get();
    const leaseHex = leader?.key.split("/").at(-1) ?? "";
    await backend().expireLease(BigInt(`0x${leaseHex}`).toString()); // a's lease ends

    const [ended, ...after] = (await lines.of("a", 7)).slice(4);
    t.regex(ended ?? "", /^a: leadership ended \((expired|deleted)\)$/, "a learns it is deposed");
    t.deepEqual(
      after,
      ["a: deregistered", "a: campaigning"],
      "then steps down and campaigns again",
    );
    t.deepEqual(
      await lines.of("b", 4),
      leading.map((line) => `b: ${line}`),
      "b takes over",
    );
    const status = new EtcdValue(operator, "status", { codec: codecs.json<ControllerStatus>() });
    await using statuses = status.watch();
    t.deepEqual(
      await statuses.get({ signal: deadline(10_000, "the status") }),
      { leader: "b", config, writes: 2 },
      "b's guarded update continued a's status",
    );

    stop.abort();
    await Promise.all([a, b]);
    t.is(
      (await lines.of("a", 7)).length,
      7,
      "a was stopped while waiting in line: it never led again",
    );
    t.deepEqual((await lines.of("b", 6)).slice(4), [
      "b: deregistered",
      "b: leadership ended (released)",
    ]);
    t.deepEqual(await keysUnder(backend().client(), `${prefix}leader/`), [], "no candidate left");
    t.deepEqual(await keysUnder(backend().client(), `${prefix}replicas/`), [], "nobody registered");
  });
});
