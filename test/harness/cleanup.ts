import { rmSync } from "node:fs";

/**
 * Last-resort cleanup when the test worker exits normally or through `process.exit`
 * (an ava timeout, an uncaught error): SIGKILL every tracked process and delete every
 * tracked directory, synchronously. A SIGKILLed worker runs no hook at all; for that
 * case see the watchdog in `spawn-guarded.ts`.
 */

const pids = new Set<number>();
const dirs = new Set<string>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Kills `pid` with SIGKILL if it is still tracked when the worker exits. */
export function trackPid(pid: number): void {
  hook();
  pids.add(pid);
}

/** Stops tracking `pid` (call once the process has exited). */
export function untrackPid(pid: number): void {
  pids.delete(pid);
}

/** Deletes `dir` recursively if it is still tracked when the worker exits. */
export function trackDir(dir: string): void {
  hook();
  dirs.add(dir);
}

/** Stops tracking `dir` (call once it is deleted). */
export function untrackDir(dir: string): void {
  dirs.delete(dir);
}
