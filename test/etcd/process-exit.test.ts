/**
 * Closing releases everything: a process that watched etcd values, closed every watcher
 * and closed its clients exits by itself (no watch, timer or listener left behind), also
 * when some watches were retrying against an unreachable member when closed.
 */

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { withCluster } from "../harness/ava.js";
import { pickFreePorts } from "../harness/ports.js";
import { checkLeaks } from "../helpers/leaks.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);
const fixture = fileURLToPath(new URL("fixtures/watch-then-exit.ts", import.meta.url));

test("close: after every watcher and the client are closed, the process exits by itself", async (t) => {
  const [deadPort] = await pickFreePorts(1);
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fixture, cluster().endpoints[0]!, `http://127.0.0.1:${deadPort}`],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  let closedAt: number | undefined;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    if (closedAt === undefined && stdout.includes("closed")) closedAt = Date.now();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once("exit", (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  });
  clearTimeout(killer);
  const exitedAt = Date.now();
  t.true(
    closedAt !== undefined,
    `the fixture closed everything; stdout: ${stdout}; stderr: ${stderr}`,
  );
  t.is(signal, null, `exited by itself, not killed after 30 s; stderr: ${stderr}`);
  t.is(code, 0, `exit code 0; stderr: ${stderr}`);
  const lingered = exitedAt - (closedAt ?? exitedAt);
  t.log(`exited ${lingered} ms after closing`);
  t.true(
    lingered < 5000,
    `nothing keeps the process alive after close (exited after ${lingered} ms)`,
  );
});
