#!/usr/bin/env node
// npm `pretest`: make sure the etcd tests have an etcd to run against, `etcdctl` (the
// interop tests run `etcdctl lock` and `etcdctl elect`) and `openssl` (the TLS tests
// generate their certificates with it).
//
// Done at once (no process spawned) when etcdctl and openssl are on PATH and
// ETCD_ENDPOINTS is set or an `etcd` binary is on PATH, /usr/bin or /usr/local/bin (the
// places test/harness/etcd-binary.ts looks). Otherwise, as root with apt-get: `apt-get
// install -y` what is missing (Debian's etcd-server, etcd-client, openssl), preceded by `apt-get update` only
// if the install fails without it. Otherwise: if a container runtime socket exists, the
// harness may use Testcontainers, so only a note; else the install instruction and exit
// code 1.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

const HINT =
  "The tests need etcd, etcdctl and openssl. Install them: " +
  "`apt-get install -y etcd-server etcd-client openssl` " +
  "(Debian/Ubuntu), or put an etcd 3.4+ binary on PATH, or set " +
  "ETCD_ENDPOINTS=http://host:2379[,…] to use a running cluster.";

function isExecutableFile(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findOnPath(name, extraDirs = []) {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...extraDirs];
  return dirs
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, name))
    .find(isExecutableFile);
}

const findEtcd = () => findOnPath("etcd", ["/usr/bin", "/usr/local/bin"]);

function run(command, args) {
  console.error(`ensure-etcd: running: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return result.status === 0;
}

function containerRuntimeConfigured() {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  const sockets = ["/var/run/docker.sock", "/run/podman/podman.sock"];
  if (runtimeDir)
    sockets.push(join(runtimeDir, "docker.sock"), join(runtimeDir, "podman", "podman.sock"));
  return Boolean(process.env.DOCKER_HOST) || sockets.some((socket) => existsSync(socket));
}

const hasEtcd = () => (process.env.ETCD_ENDPOINTS ?? "").trim() !== "" || findEtcd() !== undefined;
const hasOpenssl = () => findOnPath("openssl", ["/usr/bin"]) !== undefined;
const hasEtcdctl = () => isExecutableFile("/usr/bin/etcdctl");
const hasTools = () => hasOpenssl() && hasEtcdctl();
if (hasEtcd() && hasTools()) process.exit(0);

const missing = [
  ...(hasEtcd() ? [] : ["etcd-server"]),
  ...(hasEtcdctl() ? [] : ["etcd-client"]),
  ...(hasOpenssl() ? [] : ["openssl"]),
];
const apt = findOnPath("apt-get", ["/usr/bin"]);
if (process.getuid?.() === 0 && apt !== undefined) {
  console.error(`ensure-etcd: installing Debian's ${missing.join(" and ")}.`);
  const installed =
    run(apt, ["install", "-y", ...missing]) ||
    (run(apt, ["update"]) && run(apt, ["install", "-y", ...missing]));
  if (installed && hasEtcd() && hasTools()) {
    console.error(`ensure-etcd: installed ${missing.join(" and ")}.`);
    process.exit(0);
  }
  console.error(`ensure-etcd: installing ${missing.join(" and ")} failed. ${HINT}`);
  process.exit(1);
}

if (hasEtcd()) {
  console.error(
    "ensure-etcd: the interop tests need /usr/bin/etcdctl and the TLS tests openssl: " +
      "`apt-get install -y etcd-client openssl`.",
  );
  process.exit(1);
}

if (containerRuntimeConfigured()) {
  console.error(
    "ensure-etcd: no etcd binary; a container runtime is configured, so the tests will try " +
      "@testcontainers/etcd (tests that kill or freeze members still need a binary). " +
      HINT,
  );
  process.exit(0);
}

console.error(`ensure-etcd: ${HINT}`);
process.exit(1);
