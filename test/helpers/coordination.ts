/** Helpers for the coordination tests: the keys of a lock or election line. */

import type { Etcd3 } from "etcd3";
import { deadline } from "./faults.js";

/** The keys under `prefix`, in create order. */
export async function keysUnder(client: Etcd3, prefix: string): Promise<string[]> {
  const response = await client.getAll().prefix(prefix).sort("Create", "Ascend").exec();
  return response.kvs.map((kv) => kv.key.toString());
}

/**
 * Resolves once exactly `count` keys are under `prefix` (a waiter has joined or left the
 * line), watching the prefix; bound: 10 s.
 */
export async function untilKeys(client: Etcd3, prefix: string, count: number): Promise<void> {
  const signal = deadline(10_000, `${count} keys under ${prefix}`);
  const watcher = await client.watch().prefix(prefix).create();
  try {
    await new Promise<void>((resolve, reject) => {
      const check = async (): Promise<void> => {
        try {
          if ((await keysUnder(client, prefix)).length === count) resolve();
        } catch (error) {
          reject(error);
        }
      };
      watcher.on("put", () => void check());
      watcher.on("delete", () => void check());
      signal.addEventListener("abort", () => reject(signal.reason));
      void check();
    });
  } finally {
    await watcher.cancel();
  }
}
