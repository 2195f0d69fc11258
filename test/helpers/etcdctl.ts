/** Runs Debian's `etcdctl` (3.4) against a cluster, for the interop tests. */

import { type ChildProcess, spawn } from "node:child_process";
import { deadline } from "./faults.js";

const ETCDCTL = "/usr/bin/etcdctl";

/** The environment without `ETCD*` variables (etcdctl reads them as flags). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("ETCD")) env[name] = value;
  }
  return { ...env, ETCDCTL_API: "3" };
}

/** A long-running etcdctl (`lock`, `elect`, `elect -l`) and the lines it printed. */
export class EtcdctlProcess {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #waiters: (() => void)[] = [];

  constructor(endpoints: readonly string[], args: readonly string[]) {
    this.#child = spawn(ETCDCTL, [`--endpoints=${endpoints.join(",")}`, ...args], {
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let partial = "";
    this.#child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.#child.stderr?.resume();
    this.#exited = new Promise((resolve) => this.#child.once("exit", (code) => resolve(code)));
  }

  /** Resolves once at least `count` lines were printed; bound 15 s. */
  async printed(count: number): Promise<string[]> {
    const signal = deadline(15_000, `etcdctl to print ${count} lines`);
    while (this.lines.length < count) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    return this.lines.slice(0, count);
  }

  /** Interrupts it (as Ctrl-C: etcdctl releases and revokes) and waits for its exit. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null)
      this.#child.kill("SIGINT");
    await this.#exited;
  }
}
