/**
 * Writes refused by etcd's auth: a user whose role may read `/readable/` and write
 * nothing gets `WriteFailedError` (cause: etcd's permission error), at once, never
 * retried, and nothing is written.
 */

import test from "ava";
import { type Etcd3, EtcdPermissionDeniedError } from "etcd3";
import { codecs, EtcdValue, WriteFailedError } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { enableAuth, READER, ROOT } from "../helpers/auth.js";

const cluster = withCluster(test, { members: 1, memberControl: true });

let clients: { admin: Etcd3; reader: Etcd3 } | undefined;

/** Enables auth once: `root`, and `reader` with read access to `/readable/` only. */
async function setup(): Promise<{ admin: Etcd3; reader: Etcd3 }> {
  if (clients !== undefined) return clients;
  const open = cluster().client();
  await open.put("/readable/x").value("1");
  await enableAuth(open, ["/readable/"]);
  clients = { admin: cluster().client({ auth: ROOT }), reader: cluster().client({ auth: READER }) };
  return clients;
}

/** A value of `reader` that records every retry its writes would make. */
function readerValue(reader: Etcd3, key: string): { value: EtcdValue<string>; retried: unknown[] } {
  const retried: unknown[] = [];
  const value = new EtcdValue(reader, key, {
    codec: codecs.text,
    backoff: { retry: (error) => retried.push(error) > 0 },
  });
  return { value, retried };
}

test.serial(
  "permission denied: set on a key the role may not write rejects with WriteFailedError (cause: etcd's error), not retried",
  async (t) => {
    const { admin, reader } = await setup();
    const { value, retried } = readerValue(reader, "/readable/x");
    for (const write of [() => value.set("2"), () => value.set(undefined)]) {
      const error = await t.throwsAsync(write(), { instanceOf: WriteFailedError });
      t.true(error?.cause instanceof EtcdPermissionDeniedError, String(error?.cause));
      t.is(error?.key, "/readable/x");
    }
    t.deepEqual(retried, [], "permanent: never retried");
    t.is(await admin.get("/readable/x").string(), "1", "nothing written");
  },
);

test.serial(
  "permission denied: update rejects with WriteFailedError, whether the role may read the key or not",
  async (t) => {
    const { admin, reader } = await setup();
    for (const key of ["/readable/x", "/secret/y"]) {
      const { value, retried } = readerValue(reader, key);
      const error = await t.throwsAsync(
        value.update((n) => `${n ?? ""}+`),
        { instanceOf: WriteFailedError },
      );
      t.true(error?.cause instanceof EtcdPermissionDeniedError, `${key}: ${String(error?.cause)}`);
      t.deepEqual(retried, [], "never retried");
    }
    t.is(await admin.get("/readable/x").string(), "1", "nothing written");
    t.is(await admin.get("/secret/y").string(), null);
  },
);
