/**
 * Interop with etcd's own recipes, through Debian's etcdctl 3.4: `etcdctl lock` and an
 * EtcdLock of the same name exclude each other, both ways round; `etcdctl elect` and
 * EtcdElection compete in one election; `etcdctl elect -l` prints the leader that
 * `leader()` returns.
 */

import test from "ava";
import { codecs, EtcdElection, EtcdLock } from "../../src/index.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { untilKeys } from "../helpers/coordination.js";
import { EtcdctlProcess } from "../helpers/etcdctl.js";
import { isPending } from "../helpers/pending.js";
import { watcher } from "../helpers/watcher.js";

const cluster = withCluster(test, { members: 1 });
const etcd = lazyClient(cluster);

test("lock: while etcdctl lock holds, EtcdLock waits; when it exits, EtcdLock gets the lock", async (t) => {
  const held = new EtcdctlProcess(cluster().endpoints, ["lock", "/interop/lock-a"]);
  t.teardown(() => held.stop());
  const [key] = await held.printed(1);
  t.regex(key ?? "", /^\/interop\/lock-a\/[0-9a-f]+$/, "etcdctl prints its key, name/<lease hex>");
  const lock = new EtcdLock(etcd(), "/interop/lock-a");
  t.is(await lock.tryAcquire(), undefined, "tryAcquire: held by etcdctl");
  const waiting = lock.acquire();
  await untilKeys(etcd(), "/interop/lock-a/", 2);
  t.true(await isPending(waiting), "acquire waits behind etcdctl");
  await held.stop();
  const handle = await waiting;
  t.pass("EtcdLock holds once etcdctl released");
  await handle.release();
});

test("lock: while EtcdLock holds, etcdctl lock waits; after release it holds", async (t) => {
  const lock = new EtcdLock(etcd(), "/interop/lock-b");
  const handle = await lock.acquire();
  const waiting = new EtcdctlProcess(cluster().endpoints, ["lock", "/interop/lock-b"]);
  t.teardown(() => waiting.stop());
  await untilKeys(etcd(), "/interop/lock-b/", 2);
  t.deepEqual(waiting.lines, [], "etcdctl prints nothing while EtcdLock holds");
  await handle.release();
  const [key] = await waiting.printed(1);
  t.regex(key ?? "", /^\/interop\/lock-b\//, "etcdctl holds after the release");
});

test("elect: EtcdElection and etcdctl elect compete in one election; elect -l agrees with leader()", async (t) => {
  const name = "/interop/election";
  const election = new EtcdElection(etcd(), name, { codec: codecs.text });
  const leadership = await election.campaign("ours");
  const leaders = watcher(t, election.leader());
  t.is((await leaders.get())?.value, "ours");
  // `elect -l` observes: it prints the leader's key and value at each change.
  const observer = new EtcdctlProcess(cluster().endpoints, ["elect", "-l", name]);
  t.teardown(() => observer.stop());
  t.deepEqual(
    await observer.printed(2),
    [leadership.key, "ours"],
    "elect -l prints our key and value",
  );

  const theirs = new EtcdctlProcess(cluster().endpoints, ["elect", name, "theirs"]);
  t.teardown(() => theirs.stop());
  await untilKeys(etcd(), `${name}/`, 2);
  t.deepEqual(theirs.lines, [], "etcdctl waits while we lead");
  await leadership.resign();
  const [key, proposal] = await theirs.printed(2);
  t.is(proposal, "theirs", "etcdctl leads after we resign");
  const leader = await leaders.get({ filter: (l) => l?.value === "theirs" });
  t.is(leader?.key, key, "leader() names etcdctl's key");
  t.deepEqual((await observer.printed(4)).slice(2), [leader?.key, "theirs"], "elect -l agrees");

  const ours = election.campaign("ours again");
  await untilKeys(etcd(), `${name}/`, 2);
  t.true(await isPending(ours), "we wait while etcdctl leads");
  await theirs.stop();
  const again = await ours;
  t.is((await leaders.get({ filter: (l) => l?.value === "ours again" }))?.key, again.key);
  await again.resign();
});
