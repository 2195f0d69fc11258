/**
 * EtcdElection on both backends: `leader()` under the whole watcher contract, one leader
 * at a time with increasing terms over candidates that campaign, resign and lose leases,
 * `undefined` when nobody is left, proclaim seen by every observer, proclaim after loss.
 */

import { once } from "node:events";
import test from "ava";
import {
  codecs,
  EtcdElection,
  EtcdValue,
  type Leader,
  type Leadership,
  LostError,
} from "../../src/index.js";
import { watcherContract } from "../contract/watcher-contract.js";
import { withBackends } from "../harness/backends.js";
import { untilKeys } from "../helpers/coordination.js";
import { deadline } from "../helpers/faults.js";
import { isPending } from "../helpers/pending.js";
import { watcher } from "../helpers/watcher.js";

/**
 * TTL of the tests' leases, in s: long enough that a loaded machine (2 cores shared by
 * many processes) never starves a keepalive past the deadline in a test about something
 * else; tests about loss end leases on purpose.
 */
const TTL = 30;

withBackends(test, (test, backend) => {
  watcherContract<Leader<string> | undefined>(test, "EtcdElection.leader()", async (id) => {
    const client = backend().client();
    const election = new EtcdElection(client, `/election/contract/${id}`, {
      codec: codecs.text,
      ttl: TTL,
    });
    const leadership = await election.campaign("initial");
    return {
      value: election.leader(),
      write: (token) => leadership.proclaim(token),
      tokenOf: (leader) => leader?.value,
      dispose: () => leadership.resign(),
    };
  });

  test("campaign: the first candidate leads at once; leader() names it with its term", async (t) => {
    const client = backend().client();
    const election = new EtcdElection(client, "/election/first", { codec: codecs.text, ttl: TTL });
    const leadership = await election.campaign("one");
    t.is(leadership.key, `/election/first/${BigInt(leadership.lease.id).toString(16)}`);
    const w = watcher(t, election.leader());
    const leader = await w.get();
    t.like(leader, {
      key: leadership.key,
      value: "one",
      createRevision: leadership.createRevision,
    });
    await leadership.resign();
    t.is(await w.get(), undefined, "no candidate left: undefined");
    t.is((leadership.signal.reason as LostError).reason, "released");
  });

  test("leader: one leader at a time over 3 candidates campaigning, resigning and losing leases; terms increase", async (t) => {
    const client = backend().client();
    const name = "/election/history";
    const election = new EtcdElection(client, name, { codec: codecs.text, ttl: TTL });
    const w = watcher(t, election.leader());
    t.is(await w.get(), undefined, "nobody campaigns yet");
    const seen: Leader<string>[] = [];
    const observe = async (value: string): Promise<Leader<string>> => {
      const leader = await w.get({
        signal: deadline(10_000, `leader ${value}`),
        filter: (l) => l?.value === value,
      });
      seen.push(leader as Leader<string>);
      return leader as Leader<string>;
    };
    // Join one at a time, so that terms follow a, b, c.
    const candidates: Promise<Leadership<string>>[] = [];
    for (const value of ["a", "b", "c"]) {
      candidates.push(
        new EtcdElection(backend().client(), name, { codec: codecs.text, ttl: TTL }).campaign(
          value,
        ),
      );
      await untilKeys(client, `${name}/`, candidates.length);
    }
    const a = await candidates[0];
    await observe("a");
    t.true(await isPending(candidates[1] as Promise<unknown>), "b waits while a leads");
    await a?.resign(); // a resigns
    const b = await candidates[1];
    await observe("b");
    t.true(a?.signal.aborted, "a's signal aborted on resign");
    await backend().expireLease((b as NonNullable<typeof b>).lease.id); // b loses its lease
    const c = await candidates[2];
    await observe("c");
    // b learns of its lease's end on its own stream, which may trail the observer's.
    if (b !== undefined && !b.signal.aborted) {
      await once(b.signal, "abort", { signal: deadline(10_000, "b's signal to abort") });
    }
    t.true(b?.signal.aborted, "b's signal aborted when its lease ended");
    for (let i = 1; i < seen.length; i++) {
      t.true(
        (seen[i] as Leader<string>).createRevision > (seen[i - 1] as Leader<string>).createRevision,
        "terms increase",
      );
    }
    t.is(c?.createRevision, seen.at(-1)?.createRevision);
    await c?.resign();
    t.is(
      await w.get({ filter: (l) => l === undefined }),
      undefined,
      "undefined when the last candidate is gone",
    );
  });

  test("leader: a change of leader with an equal value is a new value", async (t) => {
    const client = backend().client();
    const name = "/election/equal";
    const first = await new EtcdElection(client, name, { codec: codecs.text, ttl: TTL }).campaign(
      "same",
    );
    const election = new EtcdElection(client, name, { codec: codecs.text, ttl: TTL });
    const w = watcher(t, election.leader());
    const before = await w.get();
    const second = election.campaign("same");
    await untilKeys(client, `${name}/`, 2);
    await first.resign();
    const after = await w.get({ filter: (l) => l !== undefined });
    t.is(after?.value, "same");
    t.not(after?.key, before?.key, "another leader, same value");
    t.true((after?.createRevision ?? 0) > (before?.createRevision ?? 0));
    await (await second).resign();
  });

  test("proclaim: every observer sees the new value; revision changes, term does not", async (t) => {
    const client = backend().client();
    const name = "/election/proclaim";
    const leadership = await new EtcdElection(client, name, {
      codec: codecs.text,
      ttl: TTL,
    }).campaign("v1");
    const observers = [backend().client(), backend().client()].map((c) =>
      watcher(t, new EtcdElection(c, name, { codec: codecs.text, ttl: TTL }).leader()),
    );
    for (const o of observers) t.is((await o.get())?.value, "v1");
    await leadership.proclaim("v2");
    for (const o of observers) {
      const leader = await o.get();
      t.is(leader?.value, "v2");
      t.is(leader?.createRevision, leadership.createRevision, "same term");
    }
    await leadership.resign();
  });

  test("proclaim: after the key is lost, rejects with LostError and changes nothing", async (t) => {
    const client = backend().client();
    const name = "/election/proclaim-lost";
    const leadership = await new EtcdElection(client, name, {
      codec: codecs.text,
      ttl: TTL,
    }).campaign("v1");
    await client.delete().key(leadership.key).exec();
    await client.put(leadership.key).value("someone else's").exec(); // a new key, new create revision
    const error = await t.throwsAsync(leadership.proclaim("v2"), { instanceOf: LostError });
    t.is(error?.reason, "deleted");
    t.is(await client.get(leadership.key).string(), "someone else's", "proclaim changed nothing");
    await client.delete().key(leadership.key).exec();
    await leadership.resign();
  });

  test("proclaim: after the lease is lost, rejects with LostError", async (t) => {
    const client = backend().client();
    const leadership = await new EtcdElection(client, "/election/lease-lost", {
      codec: codecs.text,
    }).campaign("v1");
    const aborted = new Promise((resolve) => leadership.signal.addEventListener("abort", resolve));
    await backend().expireLease(leadership.lease.id);
    await aborted;
    await t.throwsAsync(leadership.proclaim("v2"), { instanceOf: LostError });
    t.is(await client.get(leadership.key).string(), null, "nothing written");
  });

  test("guard: a status write guarded by the leadership applies while leading, fails with reason guard after resign", async (t) => {
    const client = backend().client();
    const status = new EtcdValue(client, "/election/guarded-status", { codec: codecs.text });
    const leadership = await new EtcdElection(client, "/election/guarded", { ttl: TTL }).campaign(
      Buffer.from("me"),
    );
    t.like(await status.update(() => "leading", { guard: leadership }), { ok: true });
    await leadership.resign();
    t.deepEqual(await status.update(() => "still?", { guard: leadership }), {
      ok: false,
      reason: "guard",
    });
    t.is(await client.get("/election/guarded-status").string(), "leading");
  });

  test("campaign: aborting removes the candidate's key", async (t) => {
    const client = backend().client();
    const name = "/election/abort";
    const leader = await new EtcdElection(client, name, { ttl: TTL }).campaign(Buffer.from("l"));
    const stop = new AbortController();
    const waiting = new EtcdElection(client, name, { ttl: TTL }).campaign(Buffer.from("w"), {
      signal: stop.signal,
    });
    await untilKeys(client, `${name}/`, 2);
    stop.abort(new Error("stop"));
    await t.throwsAsync(waiting, { message: "stop" });
    await untilKeys(client, `${name}/`, 1);
    await leader.resign();
  });
});
