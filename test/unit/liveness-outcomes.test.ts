/**
 * How `EtcdLiveness` learns from the client's other requests, through a stand-in client
 * whose connection pool exposes cockatiel events like etcd3 1.x's, and whose probe
 * requests settle when the test says. No etcd, no sleeps: the probe is driven by hand.
 */

import test, { type ExecutionContext } from "ava";
import { EventEmitter, type IFailureEvent, type ISuccessEvent } from "cockatiel";
import {
  type Etcd3,
  EtcdPermissionDeniedError,
  GRPCCancelledError,
  GRPCUnavailableError,
} from "etcd3";
import { BacklogDoneError, EtcdLiveness, MemoryValue, type Watcher } from "../../src/index.js";
import { deadline } from "../helpers/faults.js";

interface Request {
  resolve(): void;
  reject(error: Error): void;
}

/** A client-shaped object: its range requests wait for the test; its pool emits events. */
class FakeClient {
  readonly successes = new EventEmitter<ISuccessEvent>();
  readonly failures = new EventEmitter<IFailureEvent>();
  readonly requests: Request[] = [];
  /** How many range requests were made: wakes `request(n)`. */
  readonly #made = new MemoryValue(0);

  readonly client = {
    prefix: Buffer.alloc(0),
    kv: {
      range: () =>
        new Promise<unknown>((resolve, reject) => {
          this.requests.push({ resolve: () => resolve({ count: "0" }), reject });
          this.#made.set(this.requests.length);
        }),
    },
    pool: {
      globalPolicy: { onSuccess: this.successes.addListener },
      hosts: [{ faultHandling: { onFailure: this.failures.addListener } }],
    },
  } as unknown as Etcd3;

  /** The `n`th range request (1-based), once made. */
  async request(n: number, what: string): Promise<Request> {
    const made = this.#made.watch();
    const signal = deadline(8000, what);
    try {
      while (this.requests.length < n) await made.get({ signal });
      return this.requests[n - 1] as Request;
    } finally {
      made.close();
    }
  }

  succeed(): void {
    this.successes.emit({ duration: 1 });
  }

  fail(error: Error): void {
    this.failures.emit({ duration: 1, handled: true, reason: { error } });
  }
}

function setup(
  t: ExecutionContext,
  interval: number,
): { fake: FakeClient; w: Watcher<boolean>; liveness: EtcdLiveness } {
  const fake = new FakeClient();
  const liveness = new EtcdLiveness(fake.client, { interval });
  const w = liveness.watch();
  t.teardown(() => {
    w.close();
    liveness.close();
  });
  return { fake, w, liveness };
}

/** The result that has already arrived, or `"none"`. */
async function arrived(w: Watcher<boolean>): Promise<boolean | "none"> {
  try {
    return await w.get({ backlogOnly: true });
  } catch (error) {
    if (error instanceof BacklogDoneError) return "none";
    throw error;
  }
}

test("outcomes: an answered request while false makes the value true at once; while true, nothing", async (t) => {
  const { fake, w } = setup(t, 60_000);
  (await fake.request(1, "the first probe")).reject(new GRPCUnavailableError("down"));
  t.false(await w.get(), "the first probe found etcd unavailable");
  fake.succeed();
  t.true(await arrived(w), "another request's success made it true without a probe");
  t.is(w.revision, 2, "one new revision for the change");
  fake.succeed();
  fake.succeed();
  t.is(await arrived(w), "none", "successes while true publish nothing: watchers stay asleep");
  t.is(fake.requests.length, 1, "and start no probe");
});

test("outcomes: a failure that is an answer (permission denied) counts as an answered request", async (t) => {
  const { fake, w } = setup(t, 60_000);
  (await fake.request(1, "the first probe")).reject(new GRPCUnavailableError("down"));
  t.false(await w.get());
  fake.fail(new GRPCCancelledError("cancelled by the client"));
  t.is(await arrived(w), "none", "a cancelled call tells nothing");
  fake.fail(new EtcdPermissionDeniedError("etcdserver: permission denied"));
  t.true(await arrived(w), "etcd answered the refused request: alive");
});

test("outcomes: a failure without an answer brings the next probe forward", async (t) => {
  // interval 20 s: the next regular probe is 20 s away; brought forward, it runs at
  // most interval / 10 = 2 s after the previous one started.
  const { fake, w } = setup(t, 20_000);
  (await fake.request(1, "the first probe")).resolve();
  t.true(await w.get());
  fake.fail(new GRPCUnavailableError("down"));
  const second = await fake.request(2, "a probe brought forward (expected within 2 s)");
  second.reject(new GRPCUnavailableError("down"));
  t.false(await w.get(), "the brought-forward probe's result");
  t.is(w.revision, 2);
});

test("outcomes: while a probe is in flight, other requests' outcomes are ignored", async (t) => {
  const { fake, w } = setup(t, 20_000);
  fake.succeed();
  fake.fail(new GRPCUnavailableError("down"));
  (await fake.request(1, "the first probe")).reject(new GRPCUnavailableError("down"));
  t.false(await w.get(), "the first result is the probe's, not the success's");
  t.is(w.revision, 1);
  fake.fail(new GRPCUnavailableError("down")); // brings the second probe forward
  const second = await fake.request(2, "a probe brought forward");
  fake.succeed();
  fake.fail(new GRPCUnavailableError("down"));
  t.is(await arrived(w), "none", "a success during the probe published nothing");
  second.resolve();
  t.true(await w.get(), "the probe reports");
  t.is(w.revision, 2, "one revision: the probe's");
  t.is(fake.requests.length, 2, "a failure during the probe started no other probe");
});

test("outcomes: close() disposes the listeners on the client's policies", (t) => {
  const { fake, liveness } = setup(t, 60_000);
  t.is(fake.successes.size, 1, "listening to successes");
  t.is(fake.failures.size, 1, "listening to failures");
  liveness.close();
  t.is(fake.successes.size, 0);
  t.is(fake.failures.size, 0);
});
