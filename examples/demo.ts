/**
 * `npm run demo`: the controller story. Two replicas of the controller of
 * `replicated-controller.ts`, each with its own client, elect a leader; the leader
 * registers itself, hot-reloads the config an operator changes, and records each config
 * it applies in a status written under its leadership; an observer lists the leader,
 * the registry and the status. Then the leader is stopped (as on SIGTERM: it steps down)
 * and the other replica takes over. Runs in a few seconds and exits by itself.
 *
 * etcd is `MemoryEtcd` (in this process) unless `ETCD_ENDPOINTS` is set (comma-separated
 * client URLs); keys live under `/event-value-demo/`, deleted first. Every run prints the
 * same lines: the demo takes each step once the previous one's effects are printed, and
 * prints no revisions, lease IDs or timings. With `ETCD_ENDPOINTS` set to an address
 * where etcd does not answer, it prints one line saying so and what to do, and exits
 * with code 1.
 *
 * @module
 */

import { type Etcd3, GRPCUnavailableError, type Namespace } from "etcd3";
import {
  codecs,
  createEtcdClient,
  EtcdElection,
  EtcdRangeValue,
  EtcdValue,
  type EventValue,
  MemoryEtcd,
  MemoryValue,
} from "../src/index.js";
import { type AppConfig, formatConfig } from "./config-controller.js";
import { type ControllerStatus, runReplica } from "./replicated-controller.js";

const prefix = "/event-value-demo/";

/** Where etcd is: a new client per actor (its keys under `prefix`), and the end of it all. */
interface Backend {
  connect(): Namespace;
  close(): void;
}

// ---------------------------------------------------------------------------------------
// Backend: etcd at ETCD_ENDPOINTS, else MemoryEtcd. Both start with no key under prefix.
// ---------------------------------------------------------------------------------------
async function openBackend(say: (line: string) => void): Promise<Backend | undefined> {
  const endpoints = process.env.ETCD_ENDPOINTS;
  if (endpoints) return openEtcd(endpoints.split(","), say);
  say("etcd in memory: MemoryEtcd (set ETCD_ENDPOINTS to use a real etcd)");
  const etcd = new MemoryEtcd();
  return clientsOf(
    () => etcd.client(),
    () => etcd.close(),
  );
}

/** How long the first request to etcd may take before the demo gives up. */
const firstAnswerMs = 5000;

/**
 * etcd at `hosts`, with its keys under `prefix` deleted first; `undefined`, after one
 * line on stderr, when etcd does not answer there.
 */
async function openEtcd(
  hosts: string[],
  say: (line: string) => void,
): Promise<Backend | undefined> {
  say(`etcd at ${hosts.join(",")}, keys under ${prefix}`);
  const cleaner = createEtcdClient({ hosts });
  try {
    await withinMs(cleaner.delete().prefix(prefix).exec(), firstAnswerMs); // a clean start
  } catch (error) {
    console.error(unreachable(hosts, error));
    return undefined;
  } finally {
    cleaner.close();
  }
  return clientsOf(
    () => createEtcdClient({ hosts }),
    () => {},
  );
}

/** A backend whose clients come from `connect`, all closed by `close()`, then `end()`. */
function clientsOf(connect: () => Etcd3, end: () => void): Backend {
  const clients: Etcd3[] = [];
  return {
    connect() {
      const client = connect();
      clients.push(client);
      return client.namespace(prefix);
    },
    close() {
      for (const client of clients) client.close();
      end();
    },
  };
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
// The story's printer: every line goes through `say`, and the demo waits for lines.
// ---------------------------------------------------------------------------------------
/** How long the demo waits for one step's effect before it gives up (a stuck demo). */
const stepMs = 10_000;

class Story {
  readonly #printed = new MemoryValue<readonly string[]>([]);

  /** Prints `line` and records it. */
  readonly say = (line: string): void => {
    console.log(line);
    this.#printed.update((lines = []) => [...lines, line]);
  };

  /** Resolves once `line` has been printed; rejects if it is not within `stepMs`. */
  async printed(line: string): Promise<void> {
    await using lines = this.#printed.watch();
    await lines
      .get({ filter: (all) => all.includes(line), signal: AbortSignal.timeout(stepMs) })
      .catch((error: unknown) => {
        throw new Error(`the demo stalled waiting for "${line}"`, { cause: error });
      });
  }
}

/** The value of `value` now: the first get of a new watcher, or the first that `filter` accepts. */
async function current<T>(
  value: EventValue<T>,
  filter: (value: T) => boolean = () => true,
): Promise<T> {
  await using watcher = value.watch();
  return await watcher.get({ filter, signal: AbortSignal.timeout(stepMs) });
}

/** Someone who watches the controllers from outside, with a client of its own. */
class Observer {
  readonly #leader;
  readonly #candidates;
  readonly #registry;
  readonly #status;

  constructor(client: Namespace) {
    this.#leader = new EtcdElection(client, "leader", { codec: codecs.text }).leader();
    this.#candidates = new EtcdRangeValue(client, { prefix: "leader/" }, { codec: codecs.text });
    this.#registry = new EtcdRangeValue(client, { prefix: "replicas/" }, { codec: codecs.text });
    this.#status = new EtcdValue(client, "status", { codec: codecs.json<ControllerStatus>() });
  }

  /** Waits until `count` replicas campaign, and names them (in name order). */
  async candidates(count: number): Promise<string> {
    const { entries } = await current(
      this.#candidates.snapshots(),
      (snapshot) => snapshot.entries.size === count,
    );
    return `observer: candidates ${[...entries.values()].sort().join(", ")}`;
  }

  /** The leader, the registered replicas and the status, as etcd has them now. */
  async view(): Promise<string> {
    const leader = await current(this.#leader);
    const registry = await current(this.#registry.snapshots());
    const status = await current(this.#status);
    const registered = [...registry.entries.values()].join(", ") || "nobody";
    const recorded =
      status === undefined
        ? "none"
        : `${formatConfig(status.config)} by ${status.leader} (write #${status.writes})`;
    return `observer: leader ${leader?.value ?? "none"}; registered ${registered}; status ${recorded}`;
  }
}

/** A running replica: its stop button and its end. */
interface Replica {
  stop(): Promise<void>;
}

function startReplica(backend: Backend, name: string, story: Story): Replica {
  const stopping = new AbortController();
  const running = runReplica(backend.connect(), name, stopping.signal, story.say);
  running.catch(() => {}); // awaited by stop(); this only avoids an unhandled rejection meanwhile
  return {
    async stop() {
      stopping.abort();
      await running;
    },
  };
}

// ---------------------------------------------------------------------------------------
// The story. Each step waits for the line that shows the previous step's effect.
// ---------------------------------------------------------------------------------------
const configs = {
  first: { workers: 2, logLevel: "info" },
  invalid: { workers: 0, logLevel: "info" }, // the leader keeps the last good config
  second: { workers: 4, logLevel: "info" },
  third: { workers: 8, logLevel: "debug" },
} satisfies Record<string, AppConfig>;

async function main(): Promise<void> {
  const story = new Story();
  const say = story.say;
  const backend = await openBackend(say);
  if (backend === undefined) {
    process.exitCode = 1;
    return;
  }
  const replicas: Replica[] = [];
  try {
    const config = new EtcdValue(backend.connect(), "config", { codec: codecs.json<AppConfig>() });
    const observer = new Observer(backend.connect());
    const operator = async (next: AppConfig): Promise<void> => {
      say(`operator: config ${formatConfig(next)}`);
      await config.set(next);
    };
    const { first, invalid, second, third } = configs;

    await operator(first);
    const a = startReplica(backend, "replica-a", story);
    replicas.push(a);
    await story.printed(`replica-a: applied ${formatConfig(first)}, status written`);
    const b = startReplica(backend, "replica-b", story);
    replicas.push(b);
    say(await observer.candidates(2)); // replica-b waits in line behind the leader
    say(await observer.view());

    await operator(invalid);
    await story.printed(
      `replica-a: config not applied (workers must be an integer from 1 to 64, got 0); keeping ${formatConfig(first)}`,
    );
    await operator(second);
    await story.printed(`replica-a: applied ${formatConfig(second)}, status written`);

    say("demo: stopping replica-a (as on SIGTERM)");
    await a.stop(); // it deregisters, then resigns: replica-b leads
    await story.printed(`replica-b: applied ${formatConfig(second)}, status written`);
    say(await observer.view());

    await operator(third);
    await story.printed(`replica-b: applied ${formatConfig(third)}, status written`);
    say("demo: stopping replica-b");
    await b.stop();
    say(await observer.view());
  } finally {
    await Promise.allSettled(replicas.map((replica) => replica.stop()));
    backend.close();
  }
}

await main();
