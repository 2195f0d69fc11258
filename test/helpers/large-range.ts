/**
 * Writes ranges of large values quickly: several puts per transaction, each
 * transaction under etcd's 1.5 MiB request limit.
 */

import type { Etcd3 } from "etcd3";

/** The key of the `i`-th value under `prefix`, zero-padded so key order is index order. */
export function keyOf(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(4, "0")}`;
}

/**
 * Writes `count` keys under `prefix`, each `valueBytes` long and filled with `i % 251`,
 * `perTxn` puts per transaction (keep `perTxn × valueBytes` under 1.5 MiB).
 */
export async function writeLargeRange(
  client: Etcd3,
  prefix: string,
  { count, valueBytes, perTxn }: { count: number; valueBytes: number; perTxn: number },
): Promise<void> {
  for (let from = 0; from < count; from += perTxn) {
    const puts = [];
    for (let i = from; i < Math.min(count, from + perTxn); i++) {
      puts.push(client.put(keyOf(prefix, i)).value(Buffer.alloc(valueBytes, i % 251)));
    }
    await client
      .if(keyOf(prefix, from), "Version", ">", -1)
      .then(...puts)
      .commit();
  }
}
