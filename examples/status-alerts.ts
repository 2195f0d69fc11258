/**
 * README example: alerting on a value's `WatchStatus`. Needs no etcd: it watches a key
 * through a client whose only endpoint refuses connections, so the value stays
 * `connecting`, and the check pages once that has lasted longer than the threshold.
 * Run: `node --import tsx examples/status-alerts.ts`.
 *
 * The parts between `// #region NAME` and `// #endregion` are copied into README.md
 * (with `../src/index.js` written as `event-value`); test/unit/examples.test.ts checks
 * that they match and runs this file.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import {
  createEtcdClient,
  EtcdValue,
  type EventValue,
  WatcherClosedError,
  type WatchStatus,
} from "../src/index.js";

// #region alert
/** What to page about, if anything: not live for over `staleMs`, or failed. */
export function alertOf(status: WatchStatus, now: number, staleMs: number): string | undefined {
  if (status.state === "failed") return `failed: ${String(status.error)}`; // permanent
  if (status.state === "live" || now - status.since <= staleMs) return undefined;
  const why = status.error instanceof Error ? status.error.constructor.name : "no answer yet";
  return `${status.state} for ${((now - status.since) / 1000).toFixed(1)} s (${why})`;
}

/** Thresholds in ms: page after 30 s not live; check every 5 s. */
interface AlertOptions {
  staleMs?: number;
  everyMs?: number;
  signal: AbortSignal;
}

/** Checks `value`'s last status every `everyMs` (a timer of its own) until `signal` aborts. */
export function alertOnStaleness(
  value: { status(): EventValue<WatchStatus> },
  page: (alert: string) => void,
  { staleMs = 30_000, everyMs = 5_000, signal }: AlertOptions,
): void {
  let last: WatchStatus | undefined;
  void (async () => {
    for await (const status of value.status().watch({ signal })) last = status;
  })();
  const timer = setInterval(() => {
    const alert = last && alertOf(last, Date.now(), staleMs);
    if (alert !== undefined) page(alert);
  }, everyMs);
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}
// #endregion

export async function main(): Promise<void> {
  const client = createEtcdClient({ hosts: ["http://127.0.0.1:1"] }); // refuses connections
  const config = new EtcdValue(client, "/example/config");
  const stop = new AbortController();
  const values = config.watch({ signal: stop.signal });
  const reading = values.get().catch((error: unknown) => error); // waits while etcd is away
  const pages: string[] = [];
  const page = (alert: string): void => {
    pages.push(alert);
    stop.abort(); // one page is enough here
  };
  alertOnStaleness(config, page, { staleMs: 200, everyMs: 50, signal: stop.signal });
  await once(stop.signal, "abort");
  assert.match(
    pages[0] ?? "",
    /^connecting for [\d.]+ s \((GRPCUnavailableError|no answer yet)\)$/,
  );
  assert.ok((await reading) instanceof WatcherClosedError, "closed by the signal, not failed");
  const quiet: WatchStatus = { state: "stale", since: Date.now() - 1000 };
  assert.equal(alertOf(quiet, Date.now(), 30_000), undefined, "a short outage is no page");
  client.close();
  console.log(`status-alerts: ok (${pages[0]})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
