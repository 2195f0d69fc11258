/**
 * A catch-up larger than gRPC's default 4 MiB message limit (RELIABILITY.md, trap 10): on a
 * client with default options, etcd's one catch-up response would fail with
 * RESOURCE_EXHAUSTED and fail again on every reconnect. The library asks etcd to
 * fragment large watch responses and joins the fragments.
 */

import test from "ava";
import { withInternal } from "../../src/etcd/value-options.js";
import { EtcdValue } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { deadline } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);

const PUTS = 40;
const VALUE_BYTES = 200 * 1024; // 40 × 200 KiB = 8 MiB of events to replay

test("a watch catch-up over 4 MiB arrives whole on a client with default limits", async (t) => {
  const client = cluster().client(); // grpc.max_receive_message_length: the 4 MiB default
  const key = "/large/catch-up";
  await client.put(key).value("small");
  let last = 0;
  const value = new EtcdValue(
    client,
    key,
    withInternal(
      {},
      {
        hooks: {
          // Between the read at R and the watch from R+1: 8 MiB of puts to replay.
          afterRead: async () => {
            if (last !== 0) return;
            for (let i = 1; i <= PUTS; i++) {
              const response = await client.put(key).value(Buffer.alloc(VALUE_BYTES, i)).exec();
              last = Number(response.header.revision);
            }
          },
        },
      },
    ),
  );
  const w = value.watch();
  t.teardown(() => w.close());
  t.deepEqual(Buffer.from((await w.get()) ?? []), Buffer.from("small"), "the read's value");
  const replayed = await w.get({ signal: deadline(20_000, "the replayed puts") });
  const final =
    replayed?.[0] === PUTS
      ? replayed
      : await w.get({ filter: (v) => v?.[0] === PUTS, signal: deadline(20_000, "the last put") });
  t.is(final?.length, VALUE_BYTES);
  t.is(final?.[0], PUTS, "the last put's value");
  t.is(w.revision, last, "at the last put's revision");
});
