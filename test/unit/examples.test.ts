/**
 * Every example runs, and README's code is the examples' code (STYLE 10).
 *
 * - Each file under examples/ with a `main` runs in a child process (`node --import
 *   tsx`), as a user would run it, and must exit by itself with code 0.
 * - Every TypeScript block of README.md is preceded by `<!-- example: FILE#REGION,… -->`
 *   and must equal those `// #region` parts of FILE, joined by a blank line, with
 *   `../src/index.js` written as `event-value`.
 * - The config controller of the demo is unit-tested in process with a MemoryValue,
 *   driven by set() and observed through its injected `log`: no timers, no sleeps.
 */

import { getEventListeners } from "node:events";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import test from "ava";
import {
  type AppConfig,
  type ControllerOptions,
  runController,
} from "../../examples/config-controller.js";
import { MemoryValue } from "../../src/index.js";
import { checkStory, DEMO_STORY, demoStory } from "../helpers/demo-story.js";
import { flush } from "../helpers/pending.js";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

const root = resolve(import.meta.dirname, "../..");

for (const [file, expected] of [
  ["examples/memory-value.ts", /^memory-value: ok/m],
  ["examples/decoders.ts", /^decoders: rejected as expected/m],
  ["examples/memory-etcd-controller.ts", /^memory-etcd-controller: ok/m],
  ["examples/status-alerts.ts", /^status-alerts: ok/m],
] as const) {
  test(`example: ${file} runs, passes its assertions and exits by itself`, async (t) => {
    const result = await runNode(file);
    t.true(exitedByItself(result), `must exit by itself with code 0: ${describeChild(result)}`);
    t.regex(result.stdout, expected, "prints its result");
  });
}

test("demo: on MemoryEtcd it tells the controller story, one leader at a time, and exits by itself", async (t) => {
  const result = await runNode("examples/demo.ts");
  t.true(exitedByItself(result), `must exit by itself with code 0: ${describeChild(result)}`);
  t.regex(result.stdout, /^etcd in memory: MemoryEtcd /, "uses the embedded MemoryEtcd");
  const lines = demoStory(result.stdout);
  const { leaders, violations } = checkStory(lines);
  t.deepEqual(
    violations,
    [],
    "one leader at a time, takeover after stop, status by the leader only",
  );
  t.deepEqual(leaders, ["replica-a", "replica-b"], "replica-b takes over after replica-a stops");
  t.deepEqual(lines, [...DEMO_STORY], "the same lines on every run");
});

test("demo: etcd unreachable at ETCD_ENDPOINTS is one line on stderr saying what to do, exit code 1", async (t) => {
  const result = await runNode("examples/demo.ts", { ETCD_ENDPOINTS: "http://127.0.0.1:1" });
  t.is(result.code, 1, describeChild(result));
  t.regex(
    result.stderr,
    /^etcd is unreachable at http:\/\/127\.0\.0\.1:1 \(connect ECONNREFUSED 127\.0\.0\.1:1\): start etcd there, or set ETCD_ENDPOINTS .*\.\n$/,
    "one line: where, why, and what to do",
  );
});

// --- README.md is made of the examples -------------------------------------------------

/** The `// #region NAME` … `// #endregion` parts of `file`, dedented and trimmed. */
function regionsOf(file: string): Map<string, string> {
  const regions = new Map<string, string>();
  let name: string | undefined;
  let body: string[] = [];
  for (const line of readFileSync(resolve(root, file), "utf8").split("\n")) {
    const start = /^\s*\/\/ #region (\S+)\s*$/.exec(line);
    if (start) {
      name = start[1];
      body = [];
    } else if (/^\s*\/\/ #endregion\s*$/.test(line)) {
      if (name !== undefined) regions.set(name, dedent(body));
      name = undefined;
    } else if (name !== undefined) {
      body.push(line);
    }
  }
  return regions;
}

function dedent(lines: string[]): string {
  const indents = lines.filter((line) => line.trim() !== "").map((line) => /^ */.exec(line)![0]);
  const indent = Math.min(...indents.map((spaces) => spaces.length));
  return lines
    .map((line) => line.slice(indent).trimEnd())
    .join("\n")
    .trim()
    .replaceAll('"../src/index.js"', '"event-value"');
}

test("README: every TypeScript block is a copy of example regions", (t) => {
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const blocks = [
    ...readme.matchAll(/(?:<!-- example: (\S+) -->\n)?```(?:ts|typescript)\n([\s\S]*?)```/g),
  ];
  t.true(blocks.length > 0, "README has TypeScript blocks");
  const shown = new Set<string>();
  for (const [, source, code] of blocks) {
    if (source === undefined) {
      t.fail(`a TypeScript block without <!-- example: FILE#REGION --> above it:\n${code}`);
      continue;
    }
    const [file = "", names = ""] = source.split("#");
    const regions = regionsOf(file);
    const expected = names
      .split(",")
      .map((name) => {
        shown.add(`${file}#${name}`);
        return regions.get(name) ?? `(no region ${name} in ${file})`;
      })
      .join("\n\n");
    t.is(code?.trim(), expected, `README's block from ${source} must equal the example`);
  }
  for (const file of [
    "examples/quick-start.ts",
    "examples/secure-client.ts",
    "examples/memory-value.ts",
    "examples/decoders.ts",
    "examples/etcd-value.ts",
    "examples/coordination.ts",
    "examples/replicated-controller.ts",
    "examples/memory-etcd-controller.ts",
    "examples/status-alerts.ts",
  ]) {
    for (const name of regionsOf(file).keys()) {
      t.true(shown.has(`${file}#${name}`), `README shows region ${name} of ${file}`);
    }
  }
});

// --- The config controller, in process ----------------------------------------------

const small: AppConfig = { workers: 2, logLevel: "info" };
const large: AppConfig = { workers: 8, logLevel: "debug" };

/** Starts the controller on `value`; its log lines are observable without timers. */
function start(value: MemoryValue<AppConfig | undefined>, options: ControllerOptions = {}) {
  const lines: string[] = [];
  const count = new MemoryValue(0);
  const stop = new AbortController();
  const done = runController(value, stop.signal, {
    ...options,
    log: (line) => {
      lines.push(line);
      count.set(lines.length);
    },
  });
  return {
    lines,
    stop,
    done,
    /** Resolves with every line logged so far, once there are at least `n`. */
    async linesUntil(n: number): Promise<string[]> {
      await using progress = count.watch(); // a new watcher: its first get sees the count now
      await progress.get({ filter: (logged) => logged >= n });
      return [...lines];
    },
  };
}

test("controller: reloads once per set(), an equal config included", async (t) => {
  const value = new MemoryValue<AppConfig | undefined>();
  const applied: AppConfig[] = [];
  const controller = start(value, { apply: (config) => applied.push(config) });
  value.set(small);
  t.deepEqual(await controller.linesUntil(1), ["reload #1 rev 1: workers=2 logLevel=info"]);
  value.set({ ...small });
  t.deepEqual(
    (await controller.linesUntil(2))[1],
    "reload #2 rev 2: workers=2 logLevel=info",
    "an equal config is a new revision: it reloads",
  );
  controller.stop.abort();
  t.deepEqual(await controller.done, { reloads: 2, config: small });
  t.deepEqual(applied, [small, small], "apply ran once per reload");
});

test("controller: a burst of sets reloads once, with the newest (latest wins)", async (t) => {
  const value = new MemoryValue<AppConfig | undefined>();
  const controller = start(value);
  value.set(small);
  value.set(undefined);
  value.set(large);
  t.deepEqual(
    await controller.linesUntil(1),
    ["reload #1 rev 3: workers=8 logLevel=debug"],
    "values set before the controller woke are skipped",
  );
  await flush();
  t.is(controller.lines.length, 1, "nothing more is logged for the skipped values");
  controller.stop.abort();
  t.is((await controller.done).reloads, 1);
});

test("controller: an absent config is reported and the last good one is kept", async (t) => {
  const value = new MemoryValue<AppConfig | undefined>(large);
  const controller = start(value);
  await controller.linesUntil(1);
  value.set(undefined);
  t.is(
    (await controller.linesUntil(2))[1],
    "config absent at rev 2: keeping workers=8 logLevel=debug",
  );
  controller.stop.abort();
  t.deepEqual(await controller.done, { reloads: 1, config: large }, "the last good config stays");
});

test("controller: an absent config before any good one keeps nothing", async (t) => {
  const controller = start(new MemoryValue<AppConfig | undefined>(undefined));
  t.deepEqual(await controller.linesUntil(1), ["config absent at rev 1: keeping nothing"]);
  controller.stop.abort();
  t.deepEqual(await controller.done, { reloads: 0, config: undefined });
});

test("controller: an invalid config is rejected and the last good one is kept", async (t) => {
  const value = new MemoryValue<AppConfig | undefined>(small);
  const applied: AppConfig[] = [];
  const controller = start(value, { apply: (config) => applied.push(config) });
  await controller.linesUntil(1);
  value.set({ workers: 0, logLevel: "debug" });
  t.is(
    (await controller.linesUntil(2))[1],
    "config rejected at rev 2: workers must be an integer from 1 to 64, got 0; keeping workers=2 logLevel=info",
  );
  value.set({ workers: 4, logLevel: "verbose" as AppConfig["logLevel"] });
  t.regex((await controller.linesUntil(3))[2] ?? "", /rev 3: logLevel must be one of/);
  controller.stop.abort();
  t.deepEqual(await controller.done, { reloads: 1, config: small });
  t.deepEqual(applied, [small], "an invalid config is never applied");
});

test("controller: abort ends the loop normally, stops watching and leaves no listener", async (t) => {
  const value = new MemoryValue<AppConfig | undefined>(small);
  const controller = start(value);
  await controller.linesUntil(1);
  controller.stop.abort();
  t.deepEqual(await controller.done, { reloads: 1, config: small }, "resolves, no error");
  t.is(getEventListeners(controller.stop.signal, "abort").length, 0, "its abort listener is gone");
  value.set(large);
  await flush();
  t.is(controller.lines.length, 1, "a set after the stop is not seen: the watcher is closed");
});

test("controller: an already aborted signal returns at once without reading", async (t) => {
  const value = new MemoryValue<AppConfig | undefined>(small);
  const lines: string[] = [];
  const result = await runController(value, AbortSignal.abort(), { log: (l) => lines.push(l) });
  t.deepEqual(result, { reloads: 0, config: undefined });
  t.deepEqual(lines, [], "nothing was read");
});

test("controller: an error thrown by apply rejects it and leaves no listener", async (t) => {
  const value = new MemoryValue<AppConfig | undefined>(small);
  const failure = new Error("cannot resize the pool");
  const controller = start(value, {
    apply: () => {
      throw failure;
    },
  });
  t.is(await t.throwsAsync(controller.done), failure, "the error is rethrown as it is");
  t.is(getEventListeners(controller.stop.signal, "abort").length, 0, "its abort listener is gone");
  t.deepEqual(controller.lines, [], "nothing was logged for the config that failed");
});
