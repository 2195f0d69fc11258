import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { emptyDataDir, removeDataDir } from "./data-dir.js";
import { EtcdHarnessError, EtcdStartError, EtcdTimeoutError } from "./errors.js";
import { isHealthy } from "./etcd-http.js";
import { LogTail } from "./log-tail.js";
import { pollUntil } from "./poll.js";
import { type GuardedProcess, spawnGuarded } from "./spawn-guarded.js";
import type { HttpsClientTls } from "./tls.js";

/** `https` needs the matching cert flags in {@link MemberSpec.args}. */
export type UrlScheme = "http" | "https";

/** Everything needed to launch one etcd member. */
export interface MemberSpec {
  /** Member name, unique in its cluster, e.g. `m0`. */
  readonly name: string;
  /** Path of the etcd binary. */
  readonly binary: string;
  /** Host to listen on and advertise; `127.0.0.1` in the harness. */
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** Scheme of the client URL; default `http`. */
  readonly clientScheme?: UrlScheme;
  /** Scheme of the peer URL; default `http`. */
  readonly peerScheme?: UrlScheme;
  /** An existing directory owned by this member. */
  readonly dataDir: string;
  /** `--initial-cluster`, e.g. `m0=http://127.0.0.1:21001,m1=…`. */
  readonly initialCluster: string;
  /** `--initial-cluster-token`; a new token on a wiped data dir makes a new cluster id. */
  readonly clusterToken: string;
  /** Extra flags, appended last (so they override the harness's own). */
  readonly args?: readonly string[];
  /**
   * What the harness's own HTTPS calls to an `https` client URL present (CA, client
   * certificate); needed when the member uses a private CA or `--client-cert-auth`.
   */
  readonly controlTls?: HttpsClientTls;
}

/** The URL of `host:port` with `scheme`. */
export function urlOf(scheme: UrlScheme | undefined, host: string, port: number): string {
  return `${scheme ?? "http"}://${host}:${port}`;
}

/** The environment for etcd: ours without `ETCD_*` (etcd reads each one as a flag). */
function etcdEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("ETCD_")),
  );
}

/** How many times {@link EtcdMember.start} retries when one of its ports is taken. */
const PORT_RETRIES = 10;

/**
 * One etcd member run as a child process (under the watchdog of `spawn-guarded.ts`, so
 * it dies with the test worker). The member's ports and data dir are fixed for its
 * life; the process comes and goes with `kill()`, `stop()` and `restart()`.
 */
export class EtcdMember {
  /** Member name, e.g. `m0`. */
  readonly name: string;
  /** Client URL, e.g. `http://127.0.0.1:21001`; the same across restarts. */
  readonly clientUrl: string;
  /** Peer URL; the same across restarts. */
  readonly peerUrl: string;
  /** Data dir; kept across `kill()`/`restart()`, emptied by `wipe()`. */
  readonly dataDir: string;
  /** What the harness's HTTPS calls to this member present; undefined over HTTP. */
  readonly controlTls: HttpsClientTls | undefined;
  readonly #spec: MemberSpec;
  readonly #log = new LogTail(200, (line) => {
    if (line.includes("address already in use")) this.#bindConflict = true;
  });
  #clusterToken: string;
  #process: GuardedProcess | undefined;
  #frozen = false;
  #bindConflict = false;
  #launches = 0;

  constructor(spec: MemberSpec) {
    this.#spec = spec;
    this.name = spec.name;
    this.clientUrl = urlOf(spec.clientScheme, spec.host, spec.clientPort);
    this.peerUrl = urlOf(spec.peerScheme, spec.host, spec.peerPort);
    this.dataDir = spec.dataDir;
    this.controlTls = spec.controlTls;
    this.#clusterToken = spec.clusterToken;
  }

  /** The etcd process id while running, else undefined. */
  get pid(): number | undefined {
    return this.#process?.child.pid;
  }

  /** True from `launch()` until the process has exited. A frozen member is running. */
  get running(): boolean {
    return this.#process !== undefined;
  }

  /** True between `freeze()` and `thaw()` (or the process's exit). */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** The last (at most 200) stderr lines, across restarts, each run headed by a marker. */
  logTail(): string[] {
    return this.#log.lines();
  }

  /** Spawns the process and returns without waiting; see {@link waitHealthy}. */
  launch(): void {
    if (this.#process !== undefined)
      throw new EtcdHarnessError(`etcd member ${this.name} is already running`);
    const spec = this.#spec;
    this.#bindConflict = false;
    this.#log.mark(`launch ${++this.#launches} of ${this.name}`);
    const args = [
      `--name=${spec.name}`,
      `--data-dir=${spec.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${spec.initialCluster}`,
      "--initial-cluster-state=new",
      `--initial-cluster-token=${this.#clusterToken}`,
      "--unsafe-no-fsync",
      "--logger=zap",
      "--log-outputs=stderr",
      ...(spec.args ?? []),
    ];
    const started = spawnGuarded(spec.binary, args, { env: etcdEnv(), orphanDir: spec.dataDir });
    started.child.stderr.setEncoding("utf8");
    started.child.stderr.on("data", (chunk: string) => this.#log.push(chunk));
    this.#process = started;
    void started.exited.then((info) => {
      this.#log.mark(`${this.name} exited (code ${info.code}, signal ${info.signal})`);
      if (this.#process === started) {
        this.#process = undefined;
        this.#frozen = false;
      }
    });
  }

  /**
   * Waits until `/health` answers true (leader known, quorum read done).
   * Rejects with {@link EtcdStartError} (carrying the log tail) when the process exits
   * first or `timeoutMs` (default 30000) passes; at once if the member is frozen.
   */
  async waitHealthy(timeoutMs = 30000): Promise<void> {
    try {
      await pollUntil(
        async () => {
          if (this.#process === undefined) {
            throw new EtcdStartError(
              this.name,
              "exited before becoming healthy",
              this.logTail(),
              this.#bindConflict,
            );
          }
          if (this.#frozen)
            throw new EtcdHarnessError(`etcd member ${this.name} is frozen; thaw() it first`);
          try {
            return (await isHealthy(this.clientUrl, undefined, this.controlTls))
              ? { done: true, value: undefined }
              : { done: false, why: "/health answered false" };
          } catch (error) {
            return { done: false, why: String(error) };
          }
        },
        { what: `etcd member ${this.name} (${this.clientUrl}) to be healthy`, timeoutMs },
      );
    } catch (error) {
      if (!(error instanceof EtcdTimeoutError)) throw error;
      throw new EtcdStartError(this.name, error.message, this.logTail(), false, { cause: error });
    }
  }

  /**
   * Launches and waits until healthy. When a port is taken (by some other process, since
   * the ports are fixed), retries up to 10 times, 200 ms apart.
   */
  async start(timeoutMs = 30000): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.launch();
      try {
        await this.waitHealthy(timeoutMs);
        return;
      } catch (error) {
        if (!(error instanceof EtcdStartError && error.portInUse) || attempt >= PORT_RETRIES) {
          await this.kill();
          throw error;
        }
        await this.kill();
        await delay(200);
      }
    }
  }

  /** Kills the process if running, then starts it again on the same data dir and ports; resolves when healthy. */
  async restart(timeoutMs = 30000): Promise<void> {
    await this.kill();
    await this.start(timeoutMs);
  }

  /** Sends SIGKILL (a frozen member dies too); resolves once the process has exited. No-op if not running. */
  async kill(): Promise<void> {
    const running = this.#process;
    if (running === undefined) return;
    running.child.kill("SIGKILL");
    await running.exited;
  }

  /**
   * Stops gracefully: thaws if frozen, sends SIGTERM, and SIGKILL if the process has
   * not exited 5000 ms later. Resolves once it has exited. No-op if not running.
   */
  async stop(): Promise<void> {
    const running = this.#process;
    if (running === undefined) return;
    this.thaw();
    running.child.kill("SIGTERM");
    const timer = setTimeout(() => running.child.kill("SIGKILL"), 5000);
    await running.exited;
    clearTimeout(timer);
  }

  /** Sends SIGSTOP: the process stays, but answers nothing until {@link thaw}. */
  freeze(): void {
    const running = this.#process;
    if (running === undefined)
      throw new EtcdHarnessError(`cannot freeze etcd member ${this.name}: it is not running`);
    if (this.#frozen) return;
    running.child.kill("SIGSTOP");
    this.#frozen = true;
  }

  /** Sends SIGCONT to a frozen member. No-op if not frozen. */
  thaw(): void {
    if (!this.#frozen) return;
    this.#process?.child.kill("SIGCONT");
    this.#frozen = false;
  }

  /**
   * Deletes the member's data. The next start makes a brand-new cluster (new cluster
   * id, revision 1), which only makes sense for a single-member cluster. Throws if
   * the member is running: `kill()` or `stop()` it first.
   */
  async wipe(): Promise<void> {
    if (this.#process !== undefined) {
      throw new EtcdHarnessError(
        `cannot wipe etcd member ${this.name} while it runs: kill() or stop() it first`,
      );
    }
    await emptyDataDir(this.dataDir);
    this.#clusterToken = `event-value-${randomUUID()}`;
  }

  /** Kills the process and deletes the data dir; the member cannot be started again. */
  async remove(): Promise<void> {
    await this.kill();
    await removeDataDir(this.dataDir);
  }
}
