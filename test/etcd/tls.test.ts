/**
 * etcd over TLS with client certificates required (`--client-cert-auth`), certificates
 * generated for the run (`test/harness/tls.ts`). Values watch over TLS like over plain
 * HTTP; a certificate problem (ours refused, none sent, theirs untrusted, the wrong
 * name) is permanent: `WatchFailedError` at the first attempt, whose `cause` names it,
 * never an endless retry; a member restarting is still transient.
 */

import test, { type ExecutionContext } from "ava";
import { type Etcd3, GRPCUnavailableError, type IOptions } from "etcd3";
import {
  createEtcdClient,
  decoders,
  EtcdRangeValue,
  EtcdValue,
  WatchFailedError,
  type WatchStatus,
} from "../../src/index.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { etcdCredentials } from "../harness/tls.js";
import { deadline, StatusLog } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";
import { watcher } from "../helpers/watcher.js";

const cluster = withCluster(test, { members: 1, tls: true });
checkLeaks(test, cluster);
const etcd = lazyClient(cluster);

/**
 * A client made the way a user would (`createEtcdClient`), with `credentials`, closed
 * when the test ends. Members are named `localhost` in the handshake (their certificate
 * is for 127.0.0.1 and localhost; Node warns about an IP address as TLS server name).
 */
function tlsClient(
  t: ExecutionContext,
  credentials: IOptions["credentials"],
  serverName = "localhost",
): Etcd3 {
  const client = createEtcdClient({
    hosts: [...cluster().endpoints],
    ...(credentials === undefined ? {} : { credentials }),
    grpcOptions: { "grpc.ssl_target_name_override": serverName },
  });
  t.teardown(() => client.close());
  return client;
}

/**
 * Watches `/tls/refused` through `client` and expects the get to fail permanently:
 * `WatchFailedError` within `ms` (an endless retry would hit the deadline instead),
 * status `failed`, and a `cause` whose message matches `problem`. With `firstAttempt`,
 * no transient error comes before the failure: the first attempt already failed for
 * good. Returns the error.
 */
async function expectRefused(
  t: ExecutionContext,
  client: Etcd3,
  problem: RegExp,
  { ms = 10_000, firstAttempt = true } = {},
): Promise<WatchFailedError> {
  const value = new EtcdValue(client, "/tls/refused");
  const log = new StatusLog(value);
  t.teardown(() => log.close());
  const w = watcher(t, value);
  const error = await t.throwsAsync(w.get({ signal: deadline(ms, "the watch to fail") }), {
    instanceOf: WatchFailedError,
  });
  t.true(error.cause instanceof GRPCUnavailableError, `cause: ${String(error.cause)}`);
  t.regex((error.cause as Error).message, problem, "the cause names the certificate problem");
  t.regex(error.message, problem, "so does the WatchFailedError's own message");
  const failed = await log.next((s: WatchStatus) => s.state === "failed", 0, ms, "status failed");
  t.is(failed.status.error, error, "the status carries the same error");
  if (firstAttempt) {
    const retried = log.states.slice(0, failed.index).filter((s) => s.error !== undefined);
    t.deepEqual(retried, [], "no transient error before the failure: not retried");
  }
  await t.throwsAsync(w.get(), { is: error }, "later gets reject at once with it too");
  t.log(`status trail: ${log.trail}; cause: ${(error.cause as Error).message.split("\n")[0]}`);
  return error;
}

test("tls: EtcdValue watches over TLS with a client certificate (createEtcdClient with credentials)", async (t) => {
  const client = tlsClient(t, etcdCredentials(cluster().tls!));
  await client.put("/tls/value").value("v1");
  const w = watcher(t, new EtcdValue(client, "/tls/value", { decoder: decoders.text }));
  t.is(await w.get(), "v1", "the initial read works over TLS");
  const next = w.get({ signal: deadline(10_000, "an update over TLS") });
  next.catch(() => {}); // awaited below; handled if the put fails first
  const put = await client.put("/tls/value").value("v2");
  t.is(await next, "v2", "updates arrive through a TLS watch stream");
  t.is(w.revision, Number(put.header.revision));
});

test("tls: EtcdRangeValue watch() and snapshots() over TLS", async (t) => {
  const client = etcd(); // the harness's client: the same credentials
  await client.put("/tls/range/a").value("1");
  await client.put("/tls/range/b").value("2");
  const range = new EtcdRangeValue(client, { prefix: "/tls/range/" }, { decoder: decoders.text });
  const perKey = watcher(t, range);
  const snapshots = watcher(t, range.snapshots());
  t.deepEqual(
    [(await perKey.get()).key, (await perKey.get()).key],
    ["/tls/range/a", "/tls/range/b"],
  );
  t.deepEqual(
    [...(await snapshots.get()).entries],
    [
      ["/tls/range/a", "1"],
      ["/tls/range/b", "2"],
    ],
  );
  await client.put("/tls/range/c").value("3");
  const update = await perKey.get({ signal: deadline(10_000, "a range update over TLS") });
  t.deepEqual([update.key, update.value], ["/tls/range/c", "3"]);
  const latest = await snapshots.get({
    filter: (s) => s.entries.has("/tls/range/c"),
    signal: deadline(10_000, "a snapshot with c"),
  });
  t.is(latest.entries.size, 3);
});

test("tls: a client certificate from another CA is refused: WatchFailedError (bad certificate), no retry", async (t) => {
  const tls = cluster().tls!;
  const client = tlsClient(t, etcdCredentials(tls, { pair: tls.otherClient }));
  await expectRefused(t, client, /alert bad certificate/);
});

test("tls: a client without a certificate is refused by --client-cert-auth: WatchFailedError, no retry", async (t) => {
  const client = tlsClient(t, etcdCredentials(cluster().tls!, { pair: null }));
  await expectRefused(t, client, /alert bad certificate/);
});

test("tls: a client that does not trust the members' CA refuses them: WatchFailedError (unable to verify), no retry", async (t) => {
  const tls = cluster().tls!;
  const client = tlsClient(t, etcdCredentials(tls, { ca: tls.otherCa }));
  await expectRefused(t, client, /unable to verify the first certificate/);
});

test("tls: a member certificate for another name is refused: WatchFailedError (altnames), no retry", async (t) => {
  const client = tlsClient(t, etcdCredentials(cluster().tls!), "wrong.example");
  await expectRefused(t, client, /does not match certificate's altnames/);
});

test("tls: refused while the client's circuit breaker is open: the refusal still surfaces once it half-opens", async (t) => {
  // etcd3's default breaker opens after 3 failures (one call and its 2 retries) and
  // half-opens after 5 s; meanwhile calls fail with BrokenCircuitError, which is
  // transient. The watch retries through it, then meets the certificate error: permanent.
  const tls = cluster().tls!;
  const client = cluster().client({ credentials: etcdCredentials(tls, { pair: tls.otherClient }) });
  t.teardown(() => client.close());
  await t.throwsAsync(client.get("/tls/any").exec(), { instanceOf: GRPCUnavailableError });
  await expectRefused(t, client, /alert bad certificate/, { ms: 20_000, firstAttempt: false });
});

test.serial(
  "tls: a member restart is transient over TLS: the pending get returns the value written after it",
  async (t) => {
    const client = tlsClient(t, etcdCredentials(cluster().tls!));
    await client.put("/tls/restart").value("before");
    const value = new EtcdValue(client, "/tls/restart", { decoder: decoders.text });
    const log = new StatusLog(value);
    t.teardown(() => log.close());
    const w = watcher(t, value);
    t.is(await w.get(), "before");
    const live = await log.next((s) => s.state === "live", 0, 15_000, "status live");
    const next = w.get({ signal: deadline(30_000, "the value written after the restart") });
    next.catch(() => {}); // awaited below; handled if an assertion fails first
    const [member] = cluster().members;
    await member!.kill();
    const stale = await log.next((s) => s.state === "stale", live.index, 15_000, "status stale");
    await member!.start();
    await cluster().waitHealthy();
    await client.put("/tls/restart").value("after");
    t.is(await next, "after", "no error: the watch came back over TLS");
    await log.next((s) => s.state === "live", stale.index, 15_000, "status live again");
    t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
  },
);
