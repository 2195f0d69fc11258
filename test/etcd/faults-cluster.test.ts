/**
 * Faults of a three-member etcd cluster, against real members: the member a watch runs
 * on is killed, or frozen (SIGSTOP), while writes go on through the others. The watcher
 * sees no error and delivers the latest value. The tests find the member a watch runs on
 * through an internal hook, so each one disrupts exactly that member. All are serial.
 */

import test, { type ExecutionContext } from "ava";
import type { Etcd3 } from "etcd3";
import { portOf } from "../../src/etcd/port.js";
import { withInternal } from "../../src/etcd/value-options.js";
import { decoders, EtcdValue, type Watcher } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import type { EtcdMember } from "../harness/etcd-member.js";
import {
  deadline,
  memberAt,
  putRetrying,
  recommendedClient,
  StatusLog,
} from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";

const cluster = withCluster(test, { members: 3, memberControl: true });
checkLeaks(test, cluster);

/** An `EtcdValue` that records the member of each etcd watch it creates. */
function trackedValue(
  client: Etcd3,
  key: string,
): {
  value: EtcdValue<string>;
  members: (string | undefined)[];
} {
  const members: (string | undefined)[] = [];
  const value = new EtcdValue(
    client,
    key,
    withInternal(
      {
        decoder: decoders.text,
      },
      { hooks: { watchCreated: (_call, member) => members.push(member) } },
    ),
  );
  return { value, members };
}

/** Writes "1", "2", … to `key` until stopped, each put retried while the cluster recovers. */
class Writer {
  next = 1;
  /** When each value's put succeeded. */
  readonly writtenAt = new Map<number, number>();
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(client: Etcd3, key: string) {
    this.#done = (async () => {
      while (!this.#stopped) {
        await putRetrying(client, key, String(this.next));
        this.writtenAt.set(this.next, Date.now());
        this.next += 1;
      }
    })();
  }

  stop(): Promise<void> {
    this.#stopped = true;
    return this.#done;
  }
}

/** Waits until `w` returns a number at least `n`; resolves with it. */
async function reach(w: Watcher<string | undefined>, n: number, what: string): Promise<number> {
  return Number(await w.get({ filter: (v) => Number(v) >= n, signal: deadline(20_000, what) }));
}

async function restore(t: ExecutionContext, victim: EtcdMember): Promise<void> {
  victim.thaw();
  if (!victim.running) await victim.restart();
  await cluster().waitHealthy();
  t.log(`${victim.name} back`);
}

test.serial(
  "kill -9 of the watch's member, twice in turn, while writes go on: no error, the latest value arrives",
  async (t) => {
    const client = cluster().client();
    const writes = recommendedClient(cluster().endpoints);
    t.teardown(() => writes.close());
    const { value, members } = trackedValue(client, "/failover/key");
    const log = new StatusLog(value);
    const w = value.watch();
    t.teardown(() => {
      w.close();
      return log.close();
    });
    await writes.put("/failover/key").value("0");
    await w.get();
    await log.next((s) => s.state === "live", 0, 10_000, "live");
    const writer = new Writer(writes, "/failover/key");
    t.teardown(() => writer.stop());

    for (const round of [1, 2]) {
      const victim = memberAt(cluster().members, members.at(-1));
      const watches = members.length;
      const wasLeader = (await cluster().leader()) === victim;
      await victim.kill();
      const killedAt = Date.now();
      const mark = writer.next + 1; // surely written after the kill
      const got = await reach(w, mark, `a value written after killing ${victim.name}`);
      const arrived = Date.now();
      const written = writer.writtenAt.get(got) ?? arrived;
      t.log(
        `round ${round}: killed ${victim.name}${wasLeader ? " (the leader)" : ""}; a later write succeeded after ${written - killedAt} ms and arrived ${arrived - written} ms after that`,
      );
      t.true(members.length > watches, "the watch was created again");
      t.not(members.at(-1), victim.clientUrl.replace(/^https?:\/\//, ""), "on another member");
      await restore(t, victim);
    }

    await writer.stop();
    const final = await putRetrying(writes, "/failover/key", "final");
    t.is(
      await w.get({ filter: (v) => v === "final", signal: deadline(10_000, "the final value") }),
      "final",
    );
    t.is(w.revision, final, "at the final put's revision");
    t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
  },
);

test.serial(
  "SIGSTOP of the watch's member, plain client: the library detects the stall and moves the watch to a healthy member",
  async (t) => {
    const client = cluster().client(); // plain new Etcd3({ hosts: allThree }): no keepalive
    const { value, members } = trackedValue(client, "/frozen/key");
    const log = new StatusLog(value);
    const w = value.watch();
    t.teardown(() => {
      w.close();
      return log.close();
    });
    const setup = recommendedClient(cluster().endpoints);
    t.teardown(() => setup.close());
    await setup.put("/frozen/key").value("before");
    t.is(await w.get(), "before");
    const live = await log.next((s) => s.state === "live", 0, 10_000, "live");

    const victim = memberAt(cluster().members, members.at(-1));
    const other = cluster().members.find((m) => m !== victim)!;
    // Writes go through a member that stays up (a recommended client: its circuit breaker
    // half-opens after 500 ms while a new leader is elected).
    const writes = recommendedClient([other.clientUrl]);
    t.teardown(() => writes.close());
    const watches = members.length;
    const wasLeader = (await cluster().leader()) === victim;
    victim.freeze();
    t.teardown(() => restore(t, victim));
    const frozenAt = Date.now();
    const revision = await putRetrying(writes, "/frozen/key", "after freeze");
    const writtenAt = Date.now();
    t.is(
      await w.get({ signal: deadline(30_000, "the write made through another member") }),
      "after freeze",
    );
    const arrived = Date.now();
    t.log(
      `froze ${victim.name}${wasLeader ? " (the leader)" : ""}; write took ${writtenAt - frozenAt} ms, arrived ${arrived - writtenAt} ms after it (${arrived - frozenAt} ms after the freeze)`,
    );
    t.true(
      arrived - writtenAt < 10_000,
      `the write reached the watcher within 10 s (${arrived - writtenAt} ms)`,
    );
    t.is(w.revision, revision);

    const stale = await log.next((s) => s.state === "stale", live.index, 1000, "stale");
    t.regex(String(stale.status.error), /progress request/, "the library's own stall detection");
    const back = await log.next((s) => s.state === "live", stale.index, 1000, "live again");
    const between = log.states.slice(stale.index, back.index);
    t.false(
      between.some((s) => /creating an etcd watch|opening/.test(String(s.error))),
      `no new stream landed on the frozen member: ${between.map((s) => String(s.error)).join("; ")}`,
    );
    t.is(members.length, watches + 1, "one new watch");
    t.not(members.at(-1), victim.clientUrl.replace(/^https?:\/\//, ""), "on a healthy member");
    t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
  },
);

test.serial(
  "port: new watch streams avoid a suspected member, unless every member is suspected",
  async (t) => {
    const client = cluster().client();
    const port = portOf(client);
    const hosts = cluster().endpoints.map((url) => url.replace(/^https?:\/\//, ""));
    const [suspected] = hosts as [string];
    port.suspect(suspected);
    const landed: (string | undefined)[] = [];
    for (let i = 0; i < 30; i++) {
      const { stream, member } = await port.openWatchStream();
      stream.end();
      stream.cancel();
      landed.push(member);
    }
    t.false(landed.includes(suspected), `30 streams, none on ${suspected}: ${landed.join(" ")}`);
    t.true(landed.every((member) => member !== undefined && hosts.includes(member)));
    t.is(new Set(landed).size, 2, "spread over the two other members");
    const other = portOf(client); // another value's port on the same client
    for (let i = 0; i < 10; i++) {
      t.not((await openOn(other)).member, suspected, "values on the same client share suspicions");
    }
    for (const host of hosts) port.suspect(host);
    const last = await openOn(port);
    t.true(hosts.includes(last.member ?? ""), "with every member suspected, one is used anyway");
  },
);

async function openOn(port: ReturnType<typeof portOf>): Promise<{ member: string | undefined }> {
  const { stream, member } = await port.openWatchStream();
  stream.end();
  stream.cancel();
  return { member };
}
