/** Turning on etcd auth for a test cluster: a root user and one restricted reader. */

import { type Etcd3, Range } from "etcd3";

/** The users {@link enableAuth} creates. */
export const ROOT = { username: "root", password: "root-password" } as const;
export const READER = { username: "reader", password: "reader-password" } as const;

/**
 * Creates `root` (role root) and `reader`, whose role may read the keys under each of
 * `readablePrefixes` and nothing else, then enables auth and closes `open`, the
 * unauthenticated client it used. Connect with `{ auth: ROOT }` or `{ auth: READER }`.
 */
export async function enableAuth(open: Etcd3, readablePrefixes: readonly string[]): Promise<void> {
  await open.role("root").create();
  await open.user(ROOT.username).create(ROOT.password);
  await open.user(ROOT.username).addRole("root");
  await open.role("reader").create();
  await open
    .role("reader")
    .grant(readablePrefixes.map((prefix) => ({ permission: "Read", range: Range.prefix(prefix) })));
  await open.user(READER.username).create(READER.password);
  await open.user(READER.username).addRole("reader");
  await open.auth.authEnable();
  open.close();
}
