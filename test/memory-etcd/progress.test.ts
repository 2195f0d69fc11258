/**
 * `progress_notify` on both backends, with a 1 s interval (etcd:
 * `--experimental-watch-progress-notify-interval=1s`; twin: `progressNotifyIntervalMs`):
 * an idle watcher that asked gets an empty response at the current revision; one that
 * did not ask gets none.
 */

import test from "ava";
import { withBackends } from "../harness/backends.js";
import { openRawWatch } from "./raw-watch.js";
import { keysOf, revisionOf } from "./test-keys.js";

withBackends(
  test,
  (test, backend) => {
    test.serial(
      "W10 an idle watcher with progress_notify gets an empty response at the current revision",
      async (t) => {
        const client = backend().client();
        const k = keysOf(t);
        await client.kv.put({ key: k("other"), value: Buffer.from("x") });
        const watch = await openRawWatch(client);
        t.teardown(() => watch.close());
        watch.write({ create_request: { key: k("a"), progress_notify: true } });
        t.like(await watch.next(), { created: true, watch_id: "0" });
        watch.write({ create_request: { key: k("a") } });
        t.like(await watch.next(), { created: true, watch_id: "1" });
        const current = await revisionOf(client);
        const progress = await watch.next();
        t.like(progress, { watch_id: "0", created: false, canceled: false });
        t.deepEqual(progress.events, []);
        t.is(progress.header.revision, String(current));
        const put = await client.kv.put({ key: k("a"), value: Buffer.from("v") });
        const events = [await watch.next(), await watch.next()];
        // etcd serves the watchers of one revision in map order: any order.
        t.deepEqual(
          events
            .map((response) => [
              response.watch_id,
              response.header.revision,
              response.events.length,
            ])
            .sort(),
          [
            ["0", put.header.revision, 1],
            ["1", put.header.revision, 1],
          ],
          "the watcher without progress_notify got no progress response",
        );
      },
    );
  },
  {
    etcdArgs: ["--experimental-watch-progress-notify-interval=1s"],
    twin: { progressNotifyIntervalMs: 1000 },
  },
);
