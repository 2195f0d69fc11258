import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { trackPid, untrackPid } from "./cleanup.js";

/**
 * Runs a command so that it cannot outlive this process, even if this process is
 * SIGKILLed (no exit hook runs then).
 *
 * Beside the command we start a watchdog, a `/bin/sh` reading one line from a pipe
 * whose other end only we hold. If the pipe closes without a line (we died), the
 * watchdog SIGKILLs the command's pid and deletes `orphanDir`. Once the command has
 * exited we write that line and the watchdog leaves quietly, so it never signals a
 * reused pid. The command is our direct child: `child.pid` is its real pid (for kill,
 * SIGSTOP), and both processes are reaped by us (no zombies on an init that does not reap).
 */
const WATCHDOG_SCRIPT =
  'if ! read -r line; then kill -KILL "$1"; [ -z "$2" ] || rm -rf -- "$2"; fi';

/** How a guarded process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process started by {@link spawnGuarded}. */
export interface GuardedProcess {
  /** The command itself (stdin and stdout are /dev/null, stderr is piped). */
  readonly child: ChildProcessByStdio<null, null, Readable>;
  /** Resolves once the command has exited and its stderr is drained (or it failed to start). Never rejects. */
  readonly exited: Promise<ExitInfo>;
}

/** Options of {@link spawnGuarded}. */
export interface SpawnGuardedOptions {
  /** The environment of the command. */
  readonly env: NodeJS.ProcessEnv;
  /** A directory the watchdog deletes (recursively) if this process dies first. */
  readonly orphanDir?: string;
}

/** Starts `command args…` with the watchdog described above. */
export function spawnGuarded(
  command: string,
  args: readonly string[],
  options: SpawnGuardedOptions,
): GuardedProcess {
  const child = spawn(command, args, { env: options.env, stdio: ["ignore", "ignore", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) {
    // Spawning failed; `error` follows on the next tick.
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    return { child, exited };
  }
  trackPid(pid);
  const watchdog = spawn(
    "/bin/sh",
    ["-c", WATCHDOG_SCRIPT, "etcd-watchdog", String(pid), options.orphanDir ?? ""],
    { stdio: ["pipe", "ignore", "ignore"] },
  );
  // Writing the release line fails with EPIPE if the watchdog is already gone: fine.
  watchdog.stdin.on("error", () => {});
  watchdog.once("error", () => {});
  const exited = new Promise<ExitInfo>((resolve) => {
    // `close`, not `exit`: stderr is drained by then, so the log holds the last words.
    child.once("close", (code, signal) => {
      untrackPid(pid);
      watchdog.stdin.end("exited\n");
      resolve({ code, signal });
    });
  });
  return { child, exited };
}
