/**
 * Large watch responses on both backends: a watcher created with `fragment` gets a
 * response of at least max request bytes + 512 KiB split into pieces, all but the last
 * marked `fragment`; without it, one response.
 */

import test from "ava";
import { GRPCResourceExhastedError } from "etcd3";
import { withBackends } from "../harness/backends.js";
import { openRawWatch } from "./raw-watch.js";
import { keysOf, revisionOf } from "./test-keys.js";

withBackends(test, (test, backend) => {
  test.serial(
    "fragment: a 2.4 MiB catch-up response is split in two for a watcher that asked, whole otherwise",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const start = (await revisionOf(client)) + 1;
      const big = Buffer.alloc(1.2 * 1024 * 1024, 1);
      const txnFree = [k("a"), k("b")];
      for (const key of txnFree) await client.kv.put({ key, value: big });
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({
        create_request: { key: k("a"), range_end: k("c"), start_revision: start, fragment: true },
      });
      await watch.next();
      const first = await watch.next();
      const second = await watch.next();
      t.deepEqual([first.fragment, first.events.map(k.ofEvent)], [true, ["a"]]);
      t.deepEqual([second.fragment, second.events.map(k.ofEvent)], [false, ["b"]]);
      watch.write({ create_request: { key: k("a"), range_end: k("c"), start_revision: start } });
      await watch.next();
      const whole = await watch.next();
      t.deepEqual([whole.fragment, whole.events.map(k.ofEvent)], [false, ["a", "b"]]);
    },
  );

  test.serial(
    "receive limit: a range answer over grpc-js's 4 MiB fails with RESOURCE_EXHAUSTED, as on the real client",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const big = Buffer.alloc(1.4 * 1024 * 1024, 2);
      for (const name of ["a", "b", "c"]) await client.kv.put({ key: k(name), value: big });
      const error = await t.throwsAsync(client.kv.range({ key: k("a"), range_end: k("z") }), {
        instanceOf: GRPCResourceExhastedError,
      });
      t.regex(
        error?.message ?? "",
        /^8 RESOURCE_EXHAUSTED: Received message larger than max \(\d+ vs 4194304\)$/,
      );
      // A new client: on etcd, etcd3 retried the call and opened this client's breaker.
      const fresh = backend().client();
      const keysOnly = await fresh.kv.range({ key: k("a"), range_end: k("z"), keys_only: true });
      t.is(keysOnly.count, "3", "a smaller answer of the same range is fine");
    },
  );
});
