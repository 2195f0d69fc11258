import { accessSync, constants, existsSync, statSync } from "node:fs";
import { request } from "node:http";
import { delimiter, join } from "node:path";
import { EtcdUnavailableError } from "./errors.js";

/**
 * Where etcd comes from, in this order:
 * 1. `ETCD_ENDPOINTS` (comma-separated URLs of a running cluster): connect only, no
 *    member control. Skipped when member control is needed and a binary exists.
 * 2. An `etcd` binary on PATH, or at /usr/bin/etcd or /usr/local/bin/etcd: spawn members.
 * 3. A container via `@testcontainers/etcd`, only when a container runtime answers
 *    (checked before the import: the import crashes on Node 20 without a runtime).
 * Otherwise {@link EtcdUnavailableError}, whose message says how to install etcd.
 */

/** What to tell a developer who has no etcd. */
export const ETCD_INSTALL_HINT =
  "No etcd found. Install one: `apt-get install -y etcd-server` (Debian/Ubuntu), or put an " +
  "etcd 3.4+ binary on PATH, or set ETCD_ENDPOINTS=http://host:2379[,…] to use a running cluster.";

/** The image started in container mode; matches the etcd the tests were measured with. */
export const ETCD_CONTAINER_IMAGE = "quay.io/coreos/etcd:v3.4.23";

/** A single-member etcd running in a container. */
export interface StartedContainer {
  /** Its client URL, e.g. `http://localhost:32771`. */
  readonly endpoint: string;
  /** Stops and removes the container. */
  stop(): Promise<void>;
}

/** A way to get etcd, as chosen by {@link findEtcd}. */
export type EtcdSource =
  | { readonly kind: "endpoints"; readonly endpoints: readonly string[] }
  | { readonly kind: "binary"; readonly path: string }
  | { readonly kind: "container"; readonly start: () => Promise<StartedContainer> };

/** Options of {@link findEtcd}. */
export interface FindEtcdOptions {
  /** The caller will kill, freeze, restart or reconfigure members; default false. */
  readonly memberControl?: boolean;
  /** The environment to read; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Parses `ETCD_ENDPOINTS`; undefined when unset or blank. Throws on a malformed URL. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const endpoints = (env.ETCD_ENDPOINTS ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  if (endpoints.length === 0) return undefined;
  for (const endpoint of endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(endpoint)) {
      throw new EtcdUnavailableError(
        `ETCD_ENDPOINTS must be comma-separated URLs like http://127.0.0.1:2379, got ${JSON.stringify(endpoint)}`,
      );
    }
  }
  return endpoints;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The path of an executable `etcd` on PATH, /usr/bin or /usr/local/bin; undefined if none. */
export function findEtcdBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const path = join(dir, "etcd");
    if (isExecutableFile(path)) return path;
  }
  return undefined;
}

function pingSocket(socketPath: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", agent: false }, (res) => {
      res.resume();
      clearTimeout(timer);
      resolve(res.statusCode === 200);
    });
    const timer = setTimeout(() => req.destroy(), timeoutMs);
    req.on("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
    req.end();
  });
}

/**
 * Describes the container runtime in reach: `DOCKER_HOST` when set, else the first
 * Docker or Podman socket that exists and answers `/_ping`; undefined if none.
 */
export async function detectContainerRuntime(
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const dockerHost = env.DOCKER_HOST;
  if (dockerHost !== undefined && dockerHost !== "") return `DOCKER_HOST=${dockerHost}`;
  const runtimeDir = env.XDG_RUNTIME_DIR;
  const sockets = [
    "/var/run/docker.sock",
    ...(runtimeDir
      ? [join(runtimeDir, "docker.sock"), join(runtimeDir, "podman", "podman.sock")]
      : []),
    "/run/podman/podman.sock",
  ];
  for (const socket of sockets) {
    if (existsSync(socket) && (await pingSocket(socket, 1000))) return socket;
  }
  return undefined;
}

interface StartedEtcdContainer {
  getClientEndpoint(): string;
  stop(): Promise<unknown>;
}

interface EtcdContainerModule {
  EtcdContainer: new (image: string) => { start(): Promise<StartedEtcdContainer> };
}

function isEtcdContainerModule(value: unknown): value is EtcdContainerModule {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { EtcdContainer?: unknown }).EtcdContainer === "function"
  );
}

/** Imports `@testcontainers/etcd` if installed and importable; undefined otherwise. */
async function importTestcontainers(): Promise<EtcdContainerModule | undefined> {
  // A variable, so TypeScript neither needs the package nor its types.
  const name = "@testcontainers/etcd";
  try {
    const module: unknown = await import(name);
    return isEtcdContainerModule(module) ? module : undefined;
  } catch {
    return undefined;
  }
}

/** Chooses where etcd comes from; see the order at the top of this file. */
export async function findEtcd(options: FindEtcdOptions = {}): Promise<EtcdSource> {
  const env = options.env ?? process.env;
  const endpoints = endpointsFromEnv(env);
  const binary = findEtcdBinary(env);
  if (endpoints !== undefined && (options.memberControl !== true || binary === undefined)) {
    if (options.memberControl === true) {
      throw new EtcdUnavailableError(
        `This test needs member control (kill, freeze, restart, extra flags), which ETCD_ENDPOINTS (${endpoints.join(",")}) cannot give. ` +
          "Put an etcd 3.4+ binary on PATH (`apt-get install -y etcd-server` on Debian/Ubuntu); the harness then spawns its own members.",
      );
    }
    return { kind: "endpoints", endpoints };
  }
  if (binary !== undefined) return { kind: "binary", path: binary };
  let note = "";
  if (options.memberControl !== true) {
    const runtime = await detectContainerRuntime(env);
    if (runtime !== undefined) {
      const module = await importTestcontainers();
      note = ` (A container runtime answers at ${runtime}, but @testcontainers/etcd could not be imported.)`;
      if (module !== undefined) {
        return {
          kind: "container",
          start: async () => {
            const started = await new module.EtcdContainer(ETCD_CONTAINER_IMAGE).start();
            return {
              endpoint: started.getClientEndpoint(),
              stop: async () => {
                await started.stop();
              },
            };
          },
        };
      }
    }
  }
  throw new EtcdUnavailableError(ETCD_INSTALL_HINT + note);
}
