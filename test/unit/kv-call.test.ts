/**
 * One KV call sent by the library (`startKvCall`, `awaitAnswer`): an answer is returned,
 * a bound that expires or a signal that aborts is an `Unanswered` outcome that cancels
 * the call, a failure is cast to etcd3's classes and rejects, and a failure after the
 * wait was given up is handled.
 */

import { getEventListeners } from "node:events";
import test from "ava";
import { GRPCUnavailableError } from "etcd3";
import { awaitAnswer, startKvCall, Unanswered } from "../../src/etcd/kv-call.js";
import { withSoftTimeout } from "../../src/etcd/soft-timeout.js";
import { RequestTimeoutError } from "../../src/index.js";

/** A promise with its settle functions. */
function pending<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A bound that never expires, and one that has expired already. */
const unbounded = <T>(answer: Promise<T>): Promise<T> => answer;
const expired = <T>(answer: Promise<T>): Promise<T> => withSoftTimeout(answer, 0, "etcd test");

test("awaitAnswer: an answer within the bound is returned; nothing is cancelled", async (t) => {
  let cancels = 0;
  const answer = await awaitAnswer(Promise.resolve("ok"), {
    bound: unbounded,
    cancel: () => cancels++,
  });
  t.is(answer, "ok");
  t.is(cancels, 0);
});

test("awaitAnswer: an expired bound is Unanswered with its RequestTimeoutError, and cancels the call", async (t) => {
  let cancels = 0;
  const answer = await awaitAnswer(new Promise(() => {}), {
    bound: expired,
    cancel: () => cancels++,
  });
  t.true(answer instanceof Unanswered);
  t.true((answer as Unanswered).error instanceof RequestTimeoutError);
  t.is(cancels, 1);
});

test("awaitAnswer: an abort while waiting is Unanswered with the signal's reason, and cancels the call", async (t) => {
  const controller = new AbortController();
  const reason = new Error("stop");
  let cancels = 0;
  const waiting = awaitAnswer(new Promise(() => {}), {
    bound: unbounded,
    signal: controller.signal,
    cancel: () => cancels++,
  });
  controller.abort(reason);
  const answer = await waiting;
  t.true(answer instanceof Unanswered);
  t.is((answer as Unanswered).error, reason);
  t.is(cancels, 1);
});

test("awaitAnswer: a signal aborted before the wait is Unanswered at once, even with an answer ready", async (t) => {
  const reason = new Error("already");
  const answer = await awaitAnswer(Promise.resolve("ok"), {
    bound: unbounded,
    signal: AbortSignal.abort(reason),
  });
  t.true(answer instanceof Unanswered);
  t.is((answer as Unanswered).error, reason);
});

test("awaitAnswer: a failure rejects as it is; a settled wait leaves no listener on the signal", async (t) => {
  const controller = new AbortController();
  const failure = new GRPCUnavailableError("down");
  let cancels = 0;
  await t.throwsAsync(
    awaitAnswer(Promise.reject(failure), {
      bound: unbounded,
      signal: controller.signal,
      cancel: () => cancels++,
    }),
    { is: failure },
  );
  t.is(cancels, 0, "an answered call is not cancelled");
  t.is(getEventListeners(controller.signal, "abort").length, 0);
});

test("awaitAnswer: a failure after the wait was given up is handled (no unhandled rejection)", async (t) => {
  const late = pending<string>();
  const answer = await awaitAnswer(late.promise, { bound: expired });
  t.true(answer instanceof Unanswered);
  late.reject(new Error("late"));
  await new Promise<void>((resolve) => setImmediate(resolve)); // a rejection would surface here
  t.pass();
});

test("startKvCall: calls the method with request, metadata and options; a gRPC failure is cast to etcd3's class", async (t) => {
  const seen: unknown[] = [];
  let cancels = 0;
  const client = {
    put(
      request: unknown,
      metadata: unknown,
      options: unknown,
      callback: (error: Error | null, response?: unknown) => void,
    ) {
      seen.push(this, request, metadata, options);
      callback(Object.assign(new Error("14 UNAVAILABLE: no connection"), { code: 14 }));
      return { cancel: () => cancels++ };
    },
  };
  const started = startKvCall(client, "put", { key: "k" }, "meta", { x: 1 });
  t.deepEqual(seen, [client, { key: "k" }, "meta", { x: 1 }]);
  await t.throwsAsync(started.answer, { instanceOf: GRPCUnavailableError });
  started.cancel();
  t.is(cancels, 1);
});
