/**
 * README example: the quick start. Run with an etcd cluster:
 * `ETCD_ENDPOINTS=http://127.0.0.1:2379 node --import tsx examples/quick-start.ts`.
 *
 * A hot-reload loop over one etcd key that stops on SIGTERM. Around the README's part,
 * this file plays the operator: it writes two configs, then sends itself SIGTERM, so the
 * run prints the same two lines every time and exits by itself.
 *
 * The parts between `// #region NAME` and `// #endregion` are copied into README.md
 * (with `../src/index.js` written as `event-value`); test/unit/examples.test.ts checks
 * that they match, test/etcd/examples.test.ts runs this file against a real etcd member.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
// #region imports
import { Etcd3 } from "etcd3";
import { decoders, EtcdValue } from "../src/index.js";

// #endregion

interface AppConfig {
  workers: number;
}

export async function main(): Promise<void> {
  const key = "/config/app";
  const operator = new Etcd3({
    hosts: (process.env.ETCD_ENDPOINTS ?? "http://127.0.0.1:2379").split(","),
  });
  await operator.put(key).value(JSON.stringify({ workers: 2 }));
  const writes: Promise<unknown>[] = [];
  const reconfigure = (cfg: AppConfig): void => {
    console.log(`reconfigure: ${cfg.workers} workers`);
    const next = JSON.stringify({ workers: 4 });
    if (cfg.workers < 4) writes.push(operator.put(key).value(next).exec());
    else process.kill(process.pid, "SIGTERM"); // the operator stops the service
  };

  // #region loop
  const hosts = (process.env.ETCD_ENDPOINTS ?? "http://127.0.0.1:2379").split(",");
  const client = new Etcd3({ hosts });
  const config = new EtcdValue(client, "/config/app", { decoder: decoders.json<AppConfig>() });
  const stopping = new AbortController();
  process.once("SIGTERM", () => stopping.abort());
  for await (const cfg of config.watch({ signal: stopping.signal })) {
    if (cfg !== undefined) reconfigure(cfg); // undefined: the key is absent
  }
  client.close(); // the loop has ended normally: the watcher is closed
  // #endregion

  await Promise.all(writes);
  operator.close();
  console.log("quick-start: stopped");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
