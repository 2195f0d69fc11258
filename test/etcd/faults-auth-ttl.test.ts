/**
 * An auth token that expires while a watch is idle (RELIABILITY.md, trap 11): etcd3
 * refreshes tokens on unary calls only, so a watch stream that reconnects with the
 * expired token is refused. The library refreshes the token with a unary call and
 * reconnects; the consumer sees no error.
 */

import { setTimeout as delay } from "node:timers/promises";
import test from "ava";
import type { WatchStreamPort } from "../../src/etcd/port.js";
import { withInternal } from "../../src/etcd/value-options.js";
import { decoders, EtcdValue } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { enableAuth, READER, ROOT } from "../helpers/auth.js";
import { deadline, StatusLog } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";

const TOKEN_TTL_S = 2;
const cluster = withCluster(test, { members: 1, args: [`--auth-token-ttl=${TOKEN_TTL_S}`] });
checkLeaks(test, cluster);

test("an auth token that expired while the watch was idle is refreshed on reconnect", async (t) => {
  const open = cluster().client();
  await enableAuth(open, ["/app/"]);
  const admin = cluster().client({ auth: ROOT });
  const reader = cluster().client({ auth: READER });

  const calls: WatchStreamPort[] = [];
  const value = new EtcdValue(
    reader,
    "/app/token",
    withInternal(
      {
        decoder: decoders.text,
      },
      { hooks: { watchCreated: (call) => calls.push(call) } },
    ),
  );
  const log = new StatusLog(value);
  t.teardown(() => log.close());
  const w = value.watch();
  t.teardown(() => w.close());
  t.is(await w.get(), undefined);
  const { index } = await log.next((s) => s.state === "live", 0, 10_000, "the first watch");

  // The fault is time itself: the reader's token expires after TTL seconds unused.
  await delay((TOKEN_TTL_S + 1) * 1000);
  calls.at(-1)?.cancel(); // break the stream: it reconnects with the expired token
  await log.next((s) => s.state === "stale", index, 10_000, "the broken stream");
  await admin.put("/app/token").value("after expiry");
  t.is(
    await w.get({ signal: deadline(10_000, "the update after the token expired") }),
    "after expiry",
  );
  t.false(
    log.states.some((s) => s.state === "failed"),
    `never failed: ${log.trail}`,
  );
  t.log(log.states.map((s) => `${s.state} ${String(s.error ?? "")}`).join("\n"));
});
