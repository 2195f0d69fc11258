/**
 * `npm run demo`: the config controller of `config-controller.ts`, driven by a
 * simulated operator who changes the config every 250 ms. Prints one line per value the
 * controller receives, then stops the controller and exits by itself (about 2 s).
 *
 * Every run tells the same story: the config starts absent (the etcd key is deleted
 * first), and the operator makes each change only once the controller has handled the
 * previous one. (A real writer does not wait: latest wins, and a busy controller skips
 * to the newest config.) With `ETCD_ENDPOINTS` set to an address where etcd does not
 * answer, it prints one line saying so and what to do, and exits with code 1.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import { type Etcd3, GRPCUnavailableError } from "etcd3";
import {
  createEtcdClient,
  decoders,
  EtcdValue,
  type EventValue,
  MemoryValue,
} from "../src/index.js";
import { type AppConfig, formatConfig, runController } from "./config-controller.js";

/** Where the config lives: a value to watch, and a way to write it. */
interface Backend {
  readonly value: EventValue<AppConfig | undefined>;
  /** Writes `config` (`undefined` deletes it); resolves with the revision written. */
  write(config: AppConfig | undefined): Promise<number>;
  /** Releases what the backend holds (an etcd client). */
  close(): void;
}

// ---------------------------------------------------------------------------------------
// Backend: the one place that decides where the config lives: etcd when ETCD_ENDPOINTS
// is set (comma-separated URLs), else process memory. Both start with the config absent.
// ---------------------------------------------------------------------------------------
async function openBackend(): Promise<Backend | undefined> {
  const endpoints = process.env.ETCD_ENDPOINTS;
  if (endpoints) return openEtcd(endpoints.split(","));
  console.log("config in memory (set ETCD_ENDPOINTS to use etcd)");
  const memory = new MemoryValue<AppConfig | undefined>(undefined);
  return {
    value: memory,
    async write(config) {
      memory.set(config);
      return memory.revision;
    },
    close() {},
  };
}

const key = "/event-value-demo/config";
/** How long the first request to etcd may take before the demo gives up. */
const firstAnswerMs = 5000;

/**
 * The config as the etcd key `/event-value-demo/config`, JSON (the controller validates),
 * deleted first so that every run starts from the same state. `undefined`, after one
 * line on stderr, when etcd does not answer there.
 */
async function openEtcd(hosts: string[]): Promise<Backend | undefined> {
  console.log(`config in etcd at ${hosts.join(",")}, key ${key}`);
  const client = createEtcdClient({ hosts });
  try {
    await withinMs(client.delete().key(key).exec(), firstAnswerMs);
  } catch (error) {
    client.close();
    console.error(unreachable(hosts, error));
    return undefined;
  }
  return {
    value: new EtcdValue(client, key, { decoder: decoders.json<AppConfig>() }),
    write: (config) => write(client, config),
    close: () => client.close(),
  };
}

async function write(client: Etcd3, config: AppConfig | undefined): Promise<number> {
  const response =
    config === undefined
      ? await client.delete().key(key).exec()
      : await client.put(key).value(JSON.stringify(config)).exec();
  return Number(response.header.revision);
}

/** `promise`, or a rejection after `ms` milliseconds without an answer. */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The one line printed when etcd cannot be used at `hosts`. */
function unreachable(hosts: string[], error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const where = hosts.join(",");
  const fix =
    "start etcd there, or set ETCD_ENDPOINTS to its client URLs (comma-separated), " +
    "or unset ETCD_ENDPOINTS to run the demo in memory";
  if (error instanceof GRPCUnavailableError || /no answer within/.test(message)) {
    // grpc-js: "14 UNAVAILABLE: No connection established. Last error: Error: connect
    // ECONNREFUSED 127.0.0.1:1. Resolution note: …": keep "connect ECONNREFUSED …".
    const last = message.split("Last error: ").at(-1) ?? message;
    const reason = last
      .replace(/^Error: /, "")
      .split(". Resolution note")[0]
      ?.trim();
    return `etcd is unreachable at ${where} (${reason}): ${fix}.`;
  }
  return `etcd at ${where} refused the demo's first request (${message.trim()}): ${fix}.`;
}

// ---------------------------------------------------------------------------------------
// The story: what the simulated operator writes, one change every `intervalMs`.
// ---------------------------------------------------------------------------------------
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

async function main(): Promise<void> {
  const backend = await openBackend();
  if (backend === undefined) {
    process.exitCode = 1;
    return;
  }
  const stop = new AbortController();
  const handled = new MemoryValue(0); // the revision the controller handled last
  const controller = runController(backend.value, stop.signal, {
    onEvent: (event) => handled.set(event.revision),
  });
  try {
    // Waits until the controller has handled `revision` (a filter), bounded in case it
    // is stuck.
    await using progress = handled.watch();
    const handledUpTo = (revision: number) =>
      progress.get({ filter: (last) => last >= revision, signal: AbortSignal.timeout(5000) });
    await handledUpTo(1); // the initial state: the config is absent
    for (const config of script) {
      await sleep(intervalMs);
      await handledUpTo(await backend.write(config));
    }
  } finally {
    stop.abort(); // closes the controller's watcher: its loop ends normally
    backend.close();
  }
  const result = await controller;
  console.log(`stopped after ${result.reloads} reloads: ${formatConfig(result.config)}`);
}

await main();
