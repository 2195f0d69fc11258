/** Runs a TypeScript file of the repository in a child Node process. */

import { spawn } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

/** A guard against a hung child, not a measurement: generous for 2 busy cores. */
const childTimeoutMs = 60_000;

/** How a child process ended and what it printed. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `file` (relative to the repository) as `node --import tsx file ...args`, with
 * `ETCD_ENDPOINTS` removed from the environment unless `env` sets it. A child still
 * running after `timeoutMs` (default 60 s) is killed with SIGTERM (`signal` then tells).
 */
export function runNode(
  file: string,
  env: Record<string, string> = {},
  args: readonly string[] = [],
  timeoutMs = childTimeoutMs,
): Promise<ChildResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.ETCD_ENDPOINTS;
  Object.assign(childEnv, env);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
      cwd: root,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

/** True when the child exited by itself with code 0. */
export function exitedByItself(result: ChildResult): boolean {
  return result.signal === null && result.code === 0;
}

/** The child's exit and output, for assertion messages. */
export function describeChild(result: ChildResult): string {
  return `exit ${result.code}, signal ${result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
