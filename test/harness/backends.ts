/**
 * One suite, two backends: a test file registers its tests once and they run against a
 * real etcd member (spawned by the harness) and against the in-memory twin
 * (`MemoryEtcd`), with titles prefixed `[etcd] ` and `[memory] `.
 *
 * ```ts
 * withBackends(test, (test, backend) => {
 *   test("get: ...", async (t) => {
 *     const client = backend().client();
 *     ...
 *   });
 * });
 * ```
 *
 * Each backend is one store per file, shared by the file's tests like `withCluster`'s
 * member: give tests distinct keys, and declare `test.serial` those that compact, wipe,
 * freeze or disconnect (they disturb the others). `EVENT_VALUE_BACKENDS=etcd` or
 * `=memory` (comma-separated) runs only those backends; the default is both. A backend
 * that cannot start fails its tests (never a silent skip).
 */

import type { TestFn } from "ava";
import type { Etcd3, IOptions } from "etcd3";
import type { MemoryEtcdOptions } from "../../src/index.js";
import type { EtcdCluster } from "./etcd-cluster.js";
import { startCluster } from "./etcd-cluster.js";
import { TcpProxy } from "./tcp-proxy.js";
import { timedTest } from "./test-times.js";
import { newTwin, type Twin } from "./twin.js";

/** Which store a {@link Backend} is. */
export type BackendName = "etcd" | "memory";

/** Every backend, in registration order. */
export const BACKEND_NAMES: readonly BackendName[] = ["etcd", "memory"];

/**
 * One store under test, with the faults both backends can inject. Every method acts on
 * the whole store (all clients made by {@link client}).
 */
export interface Backend {
  readonly name: BackendName;
  /**
   * A new `etcd3` client of this store, closed when the file's tests end. On etcd,
   * `options` are etcd3's (`hosts` is set by the backend); the twin ignores them (its
   * clients have no network, so no timeouts, keepalives or breakers to tune).
   */
  client(options?: Partial<IOptions>): Etcd3;
  /** The current store revision (on etcd: a quorum read through the harness). */
  revision(): Promise<number>;
  /**
   * Compacts history up to `revision` (default: the current one); resolves with the
   * revision compacted, once reads below it fail.
   */
  compact(revision?: number): Promise<number>;
  /**
   * Breaks every connection of this backend's clients, as a dropped network does: open
   * watch and keepalive streams end with an error, and clients reconnect by themselves.
   * etcd: every connection through the backend's TCP proxy is reset (RST); the member
   * keeps running. Needs `faults: true`.
   */
  disconnect(): Promise<void>;
  /**
   * The store stops answering, as a SIGSTOPped member: requests and streams get no
   * answer, nothing fails, until {@link thaw}. etcd: SIGSTOP of the member. Needs
   * `faults: true`.
   */
  freeze(): Promise<void>;
  /** Ends {@link freeze}: held requests are answered. etcd: SIGCONT. Idempotent. */
  thaw(): Promise<void>;
  /**
   * The lease `id` (decimal, as etcd3 gives it) ends now, deleting its keys in one
   * revision. etcd: revoked through a client of the harness (not the clients under
   * test), the nearest equivalent of expiry: etcd's own expiry is a revoke too, with the
   * same events and the same keepalive answers afterwards (TTL 0).
   */
  expireLease(id: string): Promise<void>;
  /**
   * Data loss: an empty store at revision 1 with a new cluster ID. etcd: the member is
   * killed, its data dir emptied, and started again on the same port. Needs `faults: true`.
   */
  wipe(): Promise<void>;
  /**
   * Watch streams open on the server now (etcd: its gRPC metrics); absent on the twin,
   * which has no server side to count (see `checkLeaks`).
   */
  openWatchStreams?(): Promise<number>;
}

/** Options of {@link withBackends}. */
export interface BackendOptions {
  /**
   * The tests inject faults (`disconnect`, `freeze`, `wipe`): on etcd the harness then
   * spawns its own member (never an `ETCD_ENDPOINTS` cluster) and routes the clients
   * through a TCP proxy. Default false: fault methods then throw.
   */
  readonly faults?: boolean;
  /** Extra etcd flags for the member (implies a spawned member). */
  readonly etcdArgs?: readonly string[];
  /** Options of the twin, matching `etcdArgs` (e.g. its progress-notify interval). */
  readonly twin?: MemoryEtcdOptions;
  /** Which backends to run; default `EVENT_VALUE_BACKENDS` (comma-separated) or both. */
  readonly only?: readonly BackendName[];
}

/** A test function whose titles (of tests and hooks) get `prefix` in front. */
export function prefixedTest<Context>(test: TestFn<Context>, prefix: string): TestFn<Context> {
  return prefixed(test, prefix);
}

function prefixed<T extends object>(target: T, prefix: string): T {
  return new Proxy(target, {
    apply(fn, thisArg, args: unknown[]) {
      const [title, ...rest] = args;
      const named = typeof title === "string" ? [`${prefix}${title}`, ...rest] : args;
      return Reflect.apply(fn as (...a: unknown[]) => unknown, thisArg, named);
    },
    get(object, property, receiver) {
      const member: unknown = Reflect.get(object, property, receiver);
      return typeof member === "function" ? prefixed(member, prefix) : member;
    },
  });
}

/** The backends to run: `only`, else `EVENT_VALUE_BACKENDS`, else both. */
export function selectedBackends(only?: readonly BackendName[]): readonly BackendName[] {
  if (only !== undefined) return only;
  const chosen = process.env.EVENT_VALUE_BACKENDS;
  if (chosen === undefined || chosen.trim() === "") return BACKEND_NAMES;
  const names = chosen.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!BACKEND_NAMES.includes(name as BackendName)) {
      throw new Error(`EVENT_VALUE_BACKENDS: unknown backend "${name}" (use etcd, memory or both)`);
    }
  }
  return names as BackendName[];
}

/**
 * Registers `suite` once per backend (see the module doc), each with a `test` whose
 * titles are prefixed `[etcd] ` or `[memory] ` and a getter for its {@link Backend}
 * (call it inside tests and hooks, not at module level: the store starts in a hook).
 */
export function withBackends<Context>(
  test: TestFn<Context>,
  suite: (test: TestFn<Context>, backend: () => Backend) => void,
  options: BackendOptions = {},
): void {
  for (const name of selectedBackends(options.only)) {
    const named = timedTest(prefixedTest(test, `[${name}] `), name);
    const holder = name === "etcd" ? etcdHolder(named, options) : memoryHolder(named, options.twin);
    suite(named, holder);
  }
}

/** Registers the hooks of one real etcd member and returns its backend getter. */
function etcdHolder<Context>(test: TestFn<Context>, options: BackendOptions): () => Backend {
  let backend: EtcdBackend | undefined;
  test.before("start an etcd member", async () => {
    const cluster = await startCluster({
      members: 1,
      memberControl: options.faults === true,
      ...(options.etcdArgs === undefined ? {} : { args: options.etcdArgs }),
    });
    try {
      const proxy =
        options.faults === true
          ? await TcpProxy.start(Number(new URL(cluster.endpoints[0] as string).port))
          : undefined;
      backend = new EtcdBackend(cluster, proxy);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  });
  test.after.always("stop the etcd member", async () => {
    await backend?.stop();
  });
  return () => started(backend);
}

/** Registers the hooks of one `MemoryEtcd` and returns its backend getter. */
function memoryHolder<Context>(
  test: TestFn<Context>,
  options: MemoryEtcdOptions | undefined,
): () => Backend {
  let backend: MemoryBackend | undefined;
  test.before("start a MemoryEtcd", () => {
    backend = new MemoryBackend(newTwin(options));
  });
  test.after.always("close the MemoryEtcd", () => {
    backend?.stop();
  });
  return () => started(backend);
}

function started<B extends Backend>(backend: B | undefined): B {
  if (backend === undefined) {
    throw new Error(
      "withBackends(): the backend is not started; call the getter inside a test or hook, not at module level",
    );
  }
  return backend;
}

function needsFaults(what: string): Error {
  return new Error(`backend.${what}() needs withBackends(test, suite, { faults: true })`);
}

/** A real etcd member (spawned, or `ETCD_ENDPOINTS` without faults). */
class EtcdBackend implements Backend {
  readonly name = "etcd";
  readonly #cluster: EtcdCluster;
  /** Between the clients under test and the member; only with `faults`. */
  readonly #proxy: TcpProxy | undefined;
  /** The harness's own client (direct to the member): revokes leases. */
  #control: Etcd3 | undefined;

  constructor(cluster: EtcdCluster, proxy: TcpProxy | undefined) {
    this.#cluster = cluster;
    this.#proxy = proxy;
  }

  client(options: Partial<IOptions> = {}): Etcd3 {
    const proxy = this.#proxy;
    return this.#cluster.client(proxy === undefined ? options : { ...options, hosts: [proxy.url] });
  }

  revision(): Promise<number> {
    return this.#cluster.revision();
  }

  compact(revision?: number): Promise<number> {
    return this.#cluster.compact(revision);
  }

  openWatchStreams(): Promise<number> {
    return this.#cluster.openWatchStreams();
  }

  async disconnect(): Promise<void> {
    const proxy = this.#proxy;
    if (proxy === undefined) throw needsFaults("disconnect");
    proxy.setMode("drop");
    proxy.setMode("pass");
  }

  async freeze(): Promise<void> {
    if (this.#proxy === undefined) throw needsFaults("freeze");
    this.#member().freeze();
  }

  async thaw(): Promise<void> {
    if (this.#proxy === undefined) throw needsFaults("thaw");
    this.#member().thaw();
  }

  async expireLease(id: string): Promise<void> {
    this.#control ??= this.#cluster.client();
    await this.#control.leaseClient.leaseRevoke({ ID: id });
  }

  async wipe(): Promise<void> {
    if (this.#proxy === undefined) throw needsFaults("wipe");
    await this.#cluster.wipeAndRestart();
  }

  async stop(): Promise<void> {
    await this.#proxy?.close();
    await this.#cluster.stop();
  }

  #member() {
    const member = this.#cluster.members[0];
    if (member === undefined) throw new Error("the etcd backend has no member");
    return member;
  }
}

/** The in-memory twin. */
class MemoryBackend implements Backend {
  readonly name = "memory";
  readonly #etcd: Twin;
  readonly #clients = new Set<Etcd3>();
  /**
   * Keeps the test worker alive while the twin serves, as a real client's socket does:
   * the twin holds nothing that keeps the event loop alive (its timers are unref'd), so a
   * test waiting only on the library's unref'd timers (a frozen twin, a stall being
   * detected) would otherwise end the worker with "Promise returned by test never resolved".
   */
  readonly #alive = setInterval(() => {}, 60_000);

  constructor(etcd: Twin) {
    this.#etcd = etcd;
  }

  client(): Etcd3 {
    const client = this.#etcd.client();
    this.#clients.add(client);
    return client;
  }

  async revision(): Promise<number> {
    return this.#etcd.revision;
  }

  async compact(revision?: number): Promise<number> {
    const target = revision ?? this.#etcd.revision;
    this.#etcd.compact(target);
    return target;
  }

  async disconnect(): Promise<void> {
    this.#etcd.disconnect();
  }

  async freeze(): Promise<void> {
    this.#etcd.freeze();
  }

  async thaw(): Promise<void> {
    this.#etcd.thaw();
  }

  async expireLease(id: string): Promise<void> {
    this.#etcd.expireLease(id);
  }

  async wipe(): Promise<void> {
    this.#etcd.wipe();
  }

  stop(): void {
    clearInterval(this.#alive);
    for (const client of this.#clients) client.close();
    this.#clients.clear();
    this.#etcd.close();
  }
}
