/**
 * Permanent errors against a real etcd with auth enabled: a user whose role may read
 * `/app/` only. A watch it may not make fails with `WatchFailedError` (cause: etcd's
 * permission error) and status `failed`, while `/app/` watchers on the same client keep
 * working (RELIABILITY.md, trap 6: a refused watch create must not block the others).
 */

import test from "ava";
import { type Etcd3, EtcdPermissionDeniedError, Range } from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import { decoders, EtcdValue, WatchFailedError } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { enableAuth, READER, ROOT } from "../helpers/auth.js";
import { deadline } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";

const cluster = withCluster(test, { members: 1, memberControl: true });
checkLeaks(test, cluster);

let clients: { admin: Etcd3; reader: Etcd3 } | undefined;

/** Enables auth once: `root`, and `reader` with read access to `/app/` and `/revoked/`. */
async function setup(): Promise<{ admin: Etcd3; reader: Etcd3 }> {
  if (clients !== undefined) return clients;
  const open = cluster().client();
  await open.put("/app/x").value("app 1");
  await open.put("/secret/x").value("secret");
  await open.put("/revoked/x").value("readable once");
  await enableAuth(open, ["/app/", "/revoked/"]);
  clients = { admin: cluster().client({ auth: ROOT }), reader: cluster().client({ auth: READER }) };
  return clients;
}

/** Proves `client` still watches `/app/`: an existing watcher and a new value both work. */
async function appStillWorks(
  t: import("ava").ExecutionContext,
  admin: Etcd3,
  reader: Etcd3,
  existing: import("../../src/index.js").Watcher<string | undefined>,
  token: string,
): Promise<void> {
  await admin.put("/app/x").value(token);
  t.is(
    await existing.get({ filter: (v) => v === token, signal: deadline(10_000, "an /app/ update") }),
    token,
    "a watcher of /app/ on the same client still receives updates",
  );
  const fresh = new EtcdValue(reader, "/app/x", { decoder: decoders.text }).watch();
  t.teardown(() => fresh.close());
  t.is(await fresh.get({ signal: deadline(10_000, "a new /app/ watcher") }), token);
  const next = fresh.get({ signal: deadline(10_000, "an update on a new /app/ watcher") });
  await admin.put("/app/x").value(`${token} again`);
  t.is(await next, `${token} again`, "a watch created after the failure works too");
}

test.serial(
  "permission denied on the read: get() rejects with WatchFailedError (cause: etcd's error), status failed; /app/ keeps working",
  async (t) => {
    const { admin, reader } = await setup();
    const app = new EtcdValue(reader, "/app/x", { decoder: decoders.text }).watch();
    t.teardown(() => app.close());
    t.is(await app.get(), "app 1");

    const secret = new EtcdValue(reader, "/secret/x", { decoder: decoders.text });
    const w = secret.watch();
    t.teardown(() => w.close());
    const error = await t.throwsAsync(w.get(), { instanceOf: WatchFailedError });
    t.true(error.cause instanceof EtcdPermissionDeniedError, `cause: ${String(error.cause)}`);
    const status = secret.status().watch();
    t.teardown(() => status.close());
    const failed = await status.get();
    t.is(failed.state, "failed");
    t.is(failed.error, error, "the status carries the same error");
    await t.throwsAsync(w.get(), { instanceOf: WatchFailedError }, "later gets reject too");

    await appStillWorks(t, admin, reader, app, "app 2");
  },
);

test.serial(
  "permission denied on the watch create: the watcher fails, a watch on the same client is not blocked (trap 6)",
  async (t) => {
    const { admin, reader } = await setup();
    const app = new EtcdValue(reader, "/app/x", { decoder: decoders.text }).watch();
    t.teardown(() => app.close());
    await app.get();

    const value = new EtcdValue(
      reader,
      "/revoked/x",
      withInternal(
        {
          decoder: decoders.text,
        },
        {
          hooks: {
            // Between the read and the watch, the role loses its read access.
            afterRead: async () => {
              await admin
                .role("reader")
                .revoke({ permission: "Read", range: Range.prefix("/revoked/") });
            },
          },
        },
      ),
    );
    const w = value.watch();
    t.teardown(() => w.close());
    t.is(await w.get(), "readable once", "the read was allowed");
    const error = await t.throwsAsync(w.get({ signal: deadline(10_000, "the watch's failure") }), {
      instanceOf: WatchFailedError,
    });
    t.true(error.cause instanceof EtcdPermissionDeniedError, `cause: ${String(error.cause)}`);
    const status = value.status().watch();
    t.teardown(() => status.close());
    t.is((await status.get()).state, "failed");

    await appStillWorks(t, admin, reader, app, "app 3");
  },
);
