/**
 * Keys and revisions for the twin's K/W/L tests (test/memory-etcd/*.test.ts), which run on
 * both backends through `withBackends` (test/harness/backends.ts): the tests of a file
 * share each backend's store, so each test works under a prefix of its own.
 */

import type { ExecutionContext } from "ava";
import type { Etcd3 } from "etcd3";

/** A key prefix unique to the running test: its title without the `[etcd] ` / `[memory] ` label. */
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
