/**
 * Proves the real-etcd harness (`test/harness/`) against etcd itself: clusters of one
 * and three members, kill -9 and restart, SIGSTOP of the leader, compaction, a wiped
 * data dir, and members dying with a SIGKILLed worker. Disruptive tests are serial.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import test from "ava";
import { GRPCOutOfRangeError } from "etcd3";
import { withCluster } from "../harness/ava.js";
import { pollUntil } from "../harness/poll.js";

const single = withCluster(test, { members: 1, memberControl: true });
const trio = withCluster(test, { members: 3, memberControl: true });

/** True while `pid` is a live process (a zombie counts as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true; // No /proc: trust kill(pid, 0).
  }
}

test.serial("one member: a put is read back", async (t) => {
  const client = single().client();
  t.teardown(() => client.close());
  await client.put("one/key").value("v1");
  t.is(await client.get("one/key").string(), "v1", "a put on a single member must be readable");
});

test.serial("three members: a put through all endpoints is read through each member", async (t) => {
  const cluster = trio();
  t.is(cluster.members.length, 3);
  t.is(new Set(cluster.members.map((member) => member.pid)).size, 3, "three distinct processes");
  const client = cluster.client();
  t.teardown(() => client.close());
  await client.put("three/key").value("v3");
  for (const member of cluster.members) {
    const onMember = cluster.client({ member });
    t.teardown(() => onMember.close());
    t.is(
      await onMember.get("three/key").string(),
      "v3",
      `member ${member.name} must serve the write`,
    );
  }
});

test.serial(
  "kill -9 of a member: writes go on, and the restarted member serves them",
  async (t) => {
    const cluster = trio();
    const leader = await cluster.leader();
    const victim = cluster.members.find((member) => member !== leader)!;
    const oldPid = victim.pid!;
    await victim.kill();
    t.false(victim.running, "kill() resolves once the process has exited");
    t.false(isAlive(oldPid), "the etcd pid is gone after kill()");

    const client = cluster.client({ member: leader });
    t.teardown(() => client.close());
    await client.put("kill/while-down").value("written");
    t.is(
      await client.get("kill/while-down").string(),
      "written",
      "two of three members keep serving writes",
    );

    await victim.restart();
    t.true(victim.running);
    t.not(victim.pid, oldPid);
    const onVictim = cluster.client({ member: victim });
    t.teardown(() => onVictim.close());
    t.is(
      await onVictim.get("kill/while-down").string(),
      "written",
      "the restarted member rejoined and caught up",
    );
    await cluster.waitHealthy();
  },
);

test.serial("SIGSTOP of the leader: another member is elected; thaw rejoins it", async (t) => {
  const cluster = trio();
  const old = await cluster.leader();
  old.freeze();
  t.teardown(() => old.thaw());
  t.true(old.frozen && old.running);

  const next = await cluster.leader();
  t.not(next.name, old.name, "a live member took over while the leader was frozen");
  const client = cluster.client({ member: next });
  t.teardown(() => client.close());
  await client.put("freeze/after").value("elected");

  old.thaw();
  t.false(old.frozen);
  await cluster.waitHealthy();
  const onOld = cluster.client({ member: old });
  t.teardown(() => onOld.close());
  t.is(
    await onOld.get("freeze/after").string(),
    "elected",
    "the thawed member serves the write made without it",
  );
});

test.serial("compact: a read below the compacted revision fails, a read at it works", async (t) => {
  const cluster = single();
  const client = cluster.client();
  t.teardown(() => client.close());
  const first = Number((await client.put("compact/key").value("old")).header.revision);
  await client.put("compact/key").value("new");
  const compacted = await cluster.compact();
  t.true(compacted > first, "compact() defaults to the current revision");
  await t.throwsAsync(client.get("compact/key").revision(first).string(), {
    instanceOf: GRPCOutOfRangeError,
    message: /compacted/,
  });
  t.is(await client.get("compact/key").revision(compacted).string(), "new");
});

test.serial(
  "wipeAndRestart: a new cluster at a lower revision, without the old keys",
  async (t) => {
    const cluster = single();
    const before = cluster.client();
    await before.put("wipe/a").value("1");
    await before.put("wipe/b").value("2");
    before.close();
    const oldRevision = await cluster.revision();
    t.true(oldRevision >= 3);

    await cluster.wipeAndRestart();
    const newRevision = await cluster.revision();
    t.true(newRevision < oldRevision, `revision went back: ${oldRevision} -> ${newRevision}`);
    const after = cluster.client();
    t.teardown(() => after.close());
    t.is(await after.get("wipe/a").string(), null, "the wiped data is gone");
  },
);

test("a member dies with its worker process, even when that process is SIGKILLed", async (t) => {
  const fixture = fileURLToPath(new URL("../harness/fixtures/member-in-child.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", fixture], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.teardown(() => child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const end = stdout.indexOf("\n");
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    child.once("exit", (code) =>
      reject(new Error(`child exited (${code}) before starting a member:\n${stderr}`)),
    );
  });
  const { pid, dataDir } = JSON.parse(line) as { pid: number; dataDir: string };
  t.true(isAlive(pid), "the member runs while its parent does");
  t.true(existsSync(dataDir));

  child.kill("SIGKILL");
  await pollUntil(
    async () =>
      isAlive(pid) ? { done: false, why: `etcd pid ${pid} alive` } : { done: true, value: 0 },
    {
      what: "the orphaned etcd to die",
      timeoutMs: 10000,
    },
  );
  await pollUntil(
    async () =>
      existsSync(dataDir) ? { done: false, why: `${dataDir} exists` } : { done: true, value: 0 },
    { what: "the orphan's data dir to be deleted", timeoutMs: 10000 },
  );
  t.pass();
});
