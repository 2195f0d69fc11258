/**
 * `npm run demo`: the config controller of `config-controller.ts`, driven by a
 * simulated writer that changes the config every 250 ms. Prints one line per value the
 * controller receives, then stops the controller and exits by itself (about 2 s).
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  createEtcdClient,
  decoders,
  EtcdValue,
  type EventValue,
  MemoryValue,
} from "../src/index.js";
import { type AppConfig, formatConfig, runController } from "./config-controller.js";

/** Writes the config somewhere the value of `openConfig()` sees it. */
interface ConfigWriter {
  /** Writes `config` (`undefined` deletes it); resolves with the revision written. */
  write(config: AppConfig | undefined): Promise<number>;
  /** Releases what the writer holds (an etcd client). Idempotent. */
  close(): void;
}

// ---------------------------------------------------------------------------------------
// Backend: the one place that decides where the config lives: etcd when ETCD_ENDPOINTS
// is set (comma-separated URLs), else process memory.
// ---------------------------------------------------------------------------------------
function openConfig(): { value: EventValue<AppConfig | undefined>; writer: ConfigWriter } {
  const endpoints = process.env.ETCD_ENDPOINTS;
  if (endpoints) return openEtcdConfig(endpoints.split(","));
  console.log("config in memory (set ETCD_ENDPOINTS to use etcd)");
  const memory = new MemoryValue<AppConfig | undefined>();
  const writer: ConfigWriter = {
    async write(config) {
      memory.set(config);
      return memory.revision;
    },
    close() {},
  };
  return { value: memory, writer };
}

/** The config as the etcd key `/event-value-demo/config`, JSON; the controller validates. */
function openEtcdConfig(hosts: string[]): {
  value: EventValue<AppConfig | undefined>;
  writer: ConfigWriter;
} {
  const key = "/event-value-demo/config";
  console.log(`config in etcd at ${hosts.join(",")}, key ${key}`);
  const client = createEtcdClient({ hosts });
  const value = new EtcdValue(client, key, { decoder: decoders.json<AppConfig>() });
  const writer: ConfigWriter = {
    async write(config) {
      const response =
        config === undefined
          ? await client.delete().key(key).exec()
          : await client.put(key).value(JSON.stringify(config)).exec();
      return Number(response.header.revision);
    },
    close: () => client.close(),
  };
  return { value, writer };
}

/** What the simulated writer sets, one entry every `intervalMs`. */
const script: (AppConfig | undefined)[] = [
  { workers: 2, logLevel: "info" },
  { workers: 4, logLevel: "info" },
  { workers: 8, logLevel: "debug" },
  { workers: 8, logLevel: "debug" }, // the same config again: a new revision, so a reload
  undefined, // deleted: the controller keeps the last good config
  { workers: 0, logLevel: "debug" }, // invalid: rejected, the last good config stays
  { workers: 16, logLevel: "warn" },
];
const intervalMs = 250;

/** Writes the script; resolves with the revision of the last write. */
async function simulateWriter(writer: ConfigWriter): Promise<number> {
  let revision = 0;
  for (const [index, config] of script.entries()) {
    if (index > 0) await sleep(intervalMs);
    revision = await writer.write(config);
  }
  return revision;
}

async function main(): Promise<void> {
  const { value, writer } = openConfig();
  const stop = new AbortController();
  const handled = new MemoryValue(0); // the revision the controller handled last
  const controller = runController(value, stop.signal, {
    onEvent: (event) => handled.set(event.revision),
  });
  try {
    const last = await simulateWriter(writer);
    // Stop once the controller has handled the last write: wait for that condition
    // (a filter), bounded in case the controller is stuck.
    await using progress = handled.watch();
    await progress.get({
      filter: (revision) => revision >= last,
      signal: AbortSignal.timeout(5000),
    });
  } finally {
    stop.abort(); // closes the controller's watcher: its loop ends normally
    writer.close();
  }
  const result = await controller;
  console.log(`stopped after ${result.reloads} reloads: ${formatConfig(result.config)}`);
}

await main();
