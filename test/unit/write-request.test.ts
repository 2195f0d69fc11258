/**
 * `sendOnce` on a client without etcd3's pool internals (a mocked client): the write goes
 * through `client.kv` once, its answer is returned, no answer within the soft timeout or
 * an abort while it is out is ambiguous, and a failure is classified.
 */

import test from "ava";
import { EtcdPermissionDeniedError, type IResponseHeader } from "etcd3";
import type { EtcdPort } from "../../src/etcd/port.js";
import { sendOnce, type WriteCall, type WriteResponse } from "../../src/etcd/write-request.js";
import { RequestTimeoutError } from "../../src/index.js";

const header = { revision: "7" } as IResponseHeader;
const put: WriteCall = {
  method: "put",
  request: { key: Buffer.from("k"), value: Buffer.from("v") },
};

/** A port whose `kv.put` answers with `answer` and counts its calls. */
function portAnswering(answer: () => Promise<WriteResponse>) {
  const calls = { put: 0 };
  const port = {
    withKvConnection: undefined,
    kv: {
      put: () => {
        calls.put++;
        return answer();
      },
    },
  } as unknown as EtcdPort;
  return { port, calls };
}

test("sendOnce without pool internals: an answer is ok, sent once through client.kv", async (t) => {
  const { port, calls } = portAnswering(async () => ({ header }));
  const attempt = await sendOnce(port, put, { timeoutMs: 10_000 });
  t.deepEqual(attempt, { ok: true, response: { header } });
  t.is(calls.put, 1);
});

test("sendOnce without pool internals: no answer within the soft timeout is ambiguous (RequestTimeoutError)", async (t) => {
  const { port } = portAnswering(() => new Promise(() => {}));
  const attempt = await sendOnce(port, put, { timeoutMs: 1 });
  t.false(attempt.ok);
  if (attempt.ok) return;
  t.is(attempt.fault, "ambiguous");
  t.true(attempt.error instanceof RequestTimeoutError);
});

test("sendOnce without pool internals: an abort while the write is out is ambiguous, with the signal's reason", async (t) => {
  const { port } = portAnswering(() => new Promise(() => {}));
  const controller = new AbortController();
  const reason = new Error("caller gave up");
  const sending = sendOnce(port, put, { timeoutMs: 10_000, signal: controller.signal });
  controller.abort(reason);
  const attempt = await sending;
  t.false(attempt.ok);
  if (attempt.ok) return;
  t.is(attempt.fault, "ambiguous");
  t.is(attempt.error, reason);
});

test("sendOnce without pool internals: a refusal is classified (permission denied: permanent)", async (t) => {
  const denied = new EtcdPermissionDeniedError("etcdserver: permission denied");
  const { port } = portAnswering(() => Promise.reject(denied));
  const attempt = await sendOnce(port, put, { timeoutMs: 10_000 });
  t.deepEqual(attempt, { ok: false, fault: "permanent", error: denied });
});
