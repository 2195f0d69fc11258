/**
 * One test definition, two backends: every test registered through {@link bothBackends}
 * runs as `[etcd] title` against a real etcd member (one per file, started by the
 * harness, never skipped) and as `[memory] title` against a fresh `MemoryEtcd`, with the
 * same assertions. The few actions that differ per backend go through {@link Backend}.
 */

import type { ExecutionContext, TestFn } from "ava";
import type { Etcd3 } from "etcd3";
import { MemoryEtcd, type MemoryEtcdOptions } from "../../src/memory-etcd/index.js";
import { withCluster } from "../harness/ava.js";
import type { EtcdCluster, StartClusterOptions } from "../harness/etcd-cluster.js";

/** What a test may ask of its backend. */
export interface Backend {
  readonly kind: "etcd" | "memory";
  /** A new client, closed after the test. */
  client(): Etcd3;
  /** The twin, for the memory backend. */
  readonly twin: MemoryEtcd | undefined;
}

/** Options of {@link bothBackends}. */
export interface BothBackendsOptions {
  /** Options of the real member (e.g. flags). */
  readonly cluster?: StartClusterOptions;
  /** Options of each test's twin, matching the member's flags. */
  readonly twin?: MemoryEtcdOptions;
}

type Body = (t: ExecutionContext, backend: Backend) => Promise<void>;

/** Registers tests on both backends; returns `both(title, body)` and `both.serial(...)`. */
export function bothBackends(
  test: TestFn,
  options: BothBackendsOptions = {},
): ((title: string, body: Body) => void) & { serial: (title: string, body: Body) => void } {
  const cluster = withCluster(test, { members: 1, ...options.cluster });
  const register = (serial: boolean) => (title: string, body: Body) => {
    // Always serial: tests compare revisions, and the file's tests share the member.
    void serial;
    const run = test.serial;
    run(`[etcd] ${title}`, (t) => body(t, etcdBackend(t, cluster)));
    run(`[memory] ${title}`, (t) => body(t, memoryBackend(t, options.twin)));
  };
  return Object.assign(register(false), { serial: register(true) });
}

function etcdBackend(t: ExecutionContext, cluster: () => EtcdCluster): Backend {
  return {
    kind: "etcd",
    twin: undefined,
    client: () => {
      const client = cluster().client();
      t.teardown(() => client.close());
      return client;
    },
  };
}

function memoryBackend(t: ExecutionContext, options: MemoryEtcdOptions | undefined): Backend {
  const twin = new MemoryEtcd(options);
  t.teardown(() => twin.close());
  return {
    kind: "memory",
    twin,
    client: () => {
      const client = twin.client();
      t.teardown(() => client.close());
      return client;
    },
  };
}

/** A key prefix unique to the running test (tests of a file share the etcd member). */
export function prefixOf(t: ExecutionContext): string {
  return `${t.title.replace(/^\[\w+\] /, "")}/`;
}

/** The store revision as a response header reports it. */
export async function revisionOf(client: Etcd3): Promise<number> {
  const response = await client.kv.range({ key: Buffer.from("revision-probe") });
  return Number(response.header.revision);
}

/** Keys under the test's prefix: `k("a")` is the key; `k.of(kv)` the name back. */
export function keysOf(t: ExecutionContext): ((name: string) => Buffer) & {
  of: (kv: { key: Buffer }) => string;
  ofEvent: (event: { kv: { key: Buffer } }) => string;
} {
  const prefix = prefixOf(t);
  const of = (kv: { key: Buffer }): string => kv.key.toString("latin1").slice(prefix.length);
  return Object.assign((name: string) => Buffer.from(prefix + name, "latin1"), {
    of,
    ofEvent: (event: { kv: { key: Buffer } }) => of(event.kv),
  });
}
