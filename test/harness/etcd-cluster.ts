import { randomUUID } from "node:crypto";
import { Etcd3, type IOptions } from "etcd3";
import { makeDataDir } from "./data-dir.js";
import { EtcdHarnessError, EtcdStartError, MemberControlError } from "./errors.js";
import { findEtcd } from "./etcd-binary.js";
import {
  compactStore,
  isHealthy,
  type MemberStatus,
  memberStatus,
  openWatchStreams,
  storeRevision,
} from "./etcd-http.js";
import { EtcdMember, urlOf } from "./etcd-member.js";
import { pollUntil } from "./poll.js";
import { pickFreePorts } from "./ports.js";
import {
  etcdCredentials,
  type HttpsClientTls,
  httpsClientTls,
  makeTlsMaterial,
  removeTlsMaterial,
  type TlsMaterial,
  tlsServerArgs,
} from "./tls.js";

/** Options of {@link startCluster}. */
export interface StartClusterOptions {
  /** How many members to spawn; default 1. Ignored when connecting to `ETCD_ENDPOINTS`. */
  readonly members?: 1 | 3;
  /**
   * Extra etcd flags for every member, e.g. `--auth-token=simple`,
   * `--experimental-watch-progress-notify-interval=1s`. Non-empty implies `memberControl`
   * (flags cannot be applied to an existing cluster).
   */
  readonly args?: readonly string[];
  /**
   * The test kills, freezes, restarts or wipes members; default false. With
   * `ETCD_ENDPOINTS` set, the harness then spawns a local binary anyway, or throws an
   * `EtcdUnavailableError` saying how to get one; it never skips.
   */
  readonly memberControl?: boolean;
  /** Bound on becoming healthy, per attempt, in milliseconds; default 30000. */
  readonly startTimeoutMs?: number;
  /**
   * Serve clients over TLS only (`https` client URLs), with certificates generated for
   * this cluster (see {@link TlsMaterial}) and client certificates required
   * (`--client-cert-auth`); peers stay on plain HTTP. Implies `memberControl`. Needs the
   * `openssl` command. Default false.
   */
  readonly tls?: boolean;
}

/** Options of {@link EtcdCluster.client}: `etcd3` options, `hosts` defaulting to the cluster's endpoints. */
export type ClientOptions = Partial<IOptions> & {
  /** Connect to this member only (ignored if `hosts` is given). */
  readonly member?: EtcdMember;
};

/** A running etcd cluster, spawned by the harness or reached through `ETCD_ENDPOINTS`. */
export interface EtcdCluster {
  /** `spawned`: the harness owns the members. `connected`: an existing cluster or a container, no member control. */
  readonly kind: "spawned" | "connected";
  /** Client URLs of all members; fixed for the cluster's life. */
  readonly endpoints: readonly string[];
  /** The members, in name order (`m0`, `m1`, …). Throws {@link MemberControlError} when `connected`. */
  readonly members: readonly EtcdMember[];
  /**
   * A new `etcd3` client (all endpoints unless told otherwise), closed by {@link stop} if
   * not before. On a TLS cluster it presents the accepted client certificate unless
   * `credentials` says otherwise, and names the members `localhost` in the TLS handshake
   * (`grpc.ssl_target_name_override`: Node warns about an IP address as server name).
   */
  client(options?: ClientOptions): Etcd3;
  /** The certificates of a TLS cluster (`startCluster({ tls: true })`); else undefined. */
  readonly tls: TlsMaterial | undefined;
  /**
   * How many etcd watch streams are open now, summed over every running, unfrozen member,
   * from their gRPC server metrics (see `openWatchStreams` in `etcd-http.ts`).
   */
  openWatchStreams(): Promise<number>;
  /**
   * The member that reports itself leader in `/v3/maintenance/status`, asking every
   * running, unfrozen member; polls until there is one (bound: 15000 ms).
   */
  leader(): Promise<EtcdMember>;
  /**
   * Resolves when every running, unfrozen member answers `/health`, a leader exists and
   * a quorum read succeeds. Bound: `timeoutMs` (default 30000) per step.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The current store revision, by a quorum read (bound: 15000 ms). */
  revision(): Promise<number>;
  /**
   * Compacts history up to `revision` (default: the current revision), waiting until it
   * is physically applied. Returns the revision compacted; reads below it then fail.
   */
  compact(revision?: number): Promise<number>;
  /**
   * Single-member clusters only: kills the member, deletes its data, and starts a new
   * cluster (new cluster id, revision back to 1) on the same ports. Resolves when healthy.
   */
  wipeAndRestart(): Promise<void>;
  /** Closes the clients, kills every member (thawing frozen ones), deletes the data dirs. Idempotent. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const START_ATTEMPTS = 5;

abstract class BaseCluster implements EtcdCluster {
  abstract readonly kind: "spawned" | "connected";
  abstract readonly endpoints: readonly string[];
  abstract readonly members: readonly EtcdMember[];
  abstract leader(): Promise<EtcdMember>;
  abstract waitHealthy(timeoutMs?: number): Promise<void>;
  abstract wipeAndRestart(): Promise<void>;
  /** URLs the harness's own control calls may use now. */
  protected abstract controlUrls(): string[];
  protected abstract teardown(): Promise<void>;
  readonly tls: TlsMaterial | undefined;
  /** What the harness's own HTTPS control calls present. */
  protected readonly controlTls: HttpsClientTls | undefined;
  readonly #clients = new Set<Etcd3>();
  #stopping: Promise<void> | undefined;

  constructor(tls: TlsMaterial | undefined) {
    this.tls = tls;
    this.controlTls = tls === undefined ? undefined : httpsClientTls(tls);
  }

  client(options: ClientOptions = {}): Etcd3 {
    const { member, ...etcdOptions } = options;
    const hosts =
      etcdOptions.hosts ?? (member === undefined ? [...this.endpoints] : [member.clientUrl]);
    const tls = this.tls;
    const client = new Etcd3({
      ...etcdOptions,
      hosts,
      ...(tls === undefined
        ? {}
        : {
            credentials: etcdOptions.credentials ?? etcdCredentials(tls),
            grpcOptions: {
              "grpc.ssl_target_name_override": "localhost",
              ...etcdOptions.grpcOptions,
            },
          }),
    });
    this.#clients.add(client);
    return client;
  }

  async openWatchStreams(): Promise<number> {
    const counts = await Promise.all(
      this.controlUrls().map((url) => openWatchStreams(url, undefined, this.controlTls)),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  revision(): Promise<number> {
    return pollUntil(
      async () => {
        let why = "no running, unfrozen member";
        for (const url of this.controlUrls()) {
          try {
            return { done: true, value: await storeRevision(url, undefined, this.controlTls) };
          } catch (error) {
            why = `${url}: ${String(error)}`;
          }
        }
        return { done: false, why };
      },
      { what: "a quorum read of the store revision", timeoutMs: 15000 },
    );
  }

  async compact(revision?: number): Promise<number> {
    const target = revision ?? (await this.revision());
    let lastError: unknown = new EtcdHarnessError("no running, unfrozen member to compact through");
    for (const url of this.controlUrls()) {
      try {
        await compactStore(url, target, undefined, this.controlTls);
        return target;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const client of this.#clients) client.close();
      this.#clients.clear();
      await this.teardown();
    })();
    return this.#stopping;
  }
}

/** A cluster of members spawned from a local etcd binary. */
class SpawnedCluster extends BaseCluster {
  readonly kind = "spawned";
  readonly endpoints: readonly string[];
  readonly members: readonly EtcdMember[];

  constructor(members: readonly EtcdMember[], tls: TlsMaterial | undefined) {
    super(tls);
    this.members = members;
    this.endpoints = members.map((member) => member.clientUrl);
  }

  protected controlUrls(): string[] {
    return this.members
      .filter((member) => member.running && !member.frozen)
      .map((member) => member.clientUrl);
  }

  leader(): Promise<EtcdMember> {
    return pollUntil(
      async () => {
        const live = this.members.filter((member) => member.running && !member.frozen);
        const answers = await Promise.all(
          live.map(
            async (
              member,
            ): Promise<{ member: EtcdMember; status?: MemberStatus; error?: string }> => {
              try {
                return {
                  member,
                  status: await memberStatus(member.clientUrl, undefined, member.controlTls),
                };
              } catch (error) {
                return { member, error: String(error) };
              }
            },
          ),
        );
        let best: { member: EtcdMember; status: MemberStatus } | undefined;
        for (const answer of answers) {
          const status = answer.status;
          if (status === undefined || status.leaderId !== status.memberId) continue;
          if (best === undefined || status.raftTerm > best.status.raftTerm)
            best = { member: answer.member, status };
        }
        if (best !== undefined) return { done: true, value: best.member };
        const why = answers
          .map((a) =>
            a.status === undefined
              ? `${a.member.name}: ${a.error}`
              : `${a.member.name}: leader ${a.status.leaderId}, term ${a.status.raftTerm}`,
          )
          .join("; ");
        return { done: false, why: why || "no running, unfrozen member" };
      },
      { what: "a member that reports itself leader", timeoutMs: 15000 },
    );
  }

  async waitHealthy(timeoutMs = 30000): Promise<void> {
    const live = this.members.filter((member) => member.running && !member.frozen);
    if (live.length === 0) throw new EtcdHarnessError("no running, unfrozen member to wait for");
    await Promise.all(live.map((member) => member.waitHealthy(timeoutMs)));
    await this.leader();
    await this.revision();
  }

  async wipeAndRestart(): Promise<void> {
    const [member, ...others] = this.members;
    if (member === undefined || others.length > 0) {
      throw new EtcdHarnessError(
        `wipeAndRestart() needs a single-member cluster, this one has ${this.members.length}`,
      );
    }
    await member.kill();
    await member.wipe();
    await member.start();
  }

  protected async teardown(): Promise<void> {
    await Promise.all(this.members.map((member) => member.remove()));
    if (this.tls !== undefined) await removeTlsMaterial(this.tls);
  }
}

/** An existing cluster (`ETCD_ENDPOINTS`) or a container: reads, writes and compaction only. */
class ConnectedCluster extends BaseCluster {
  readonly kind = "connected";
  readonly endpoints: readonly string[];
  readonly #origin: string;
  readonly #stopOrigin: () => Promise<void>;

  constructor(endpoints: readonly string[], origin: string, stopOrigin: () => Promise<void>) {
    super(undefined);
    this.endpoints = endpoints;
    this.#origin = origin;
    this.#stopOrigin = stopOrigin;
  }

  #noControl(what: string): MemberControlError {
    return new MemberControlError(
      `${what} needs member control, but this cluster is ${this.#origin}. ` +
        "Start it with startCluster({ memberControl: true }) and have an etcd 3.4+ binary on PATH " +
        "(`apt-get install -y etcd-server` on Debian/Ubuntu).",
    );
  }

  get members(): readonly EtcdMember[] {
    throw this.#noControl("cluster.members");
  }

  leader(): Promise<EtcdMember> {
    return Promise.reject(this.#noControl("cluster.leader()"));
  }

  wipeAndRestart(): Promise<void> {
    return Promise.reject(this.#noControl("cluster.wipeAndRestart()"));
  }

  protected controlUrls(): string[] {
    return [...this.endpoints];
  }

  async waitHealthy(timeoutMs = 30000): Promise<void> {
    await pollUntil(
      async () => {
        for (const url of this.endpoints) {
          try {
            if (!(await isHealthy(url)))
              return { done: false, why: `${url}: /health answered false` };
          } catch (error) {
            return { done: false, why: `${url}: ${String(error)}` };
          }
        }
        return { done: true, value: undefined };
      },
      { what: `${this.#origin} to be healthy`, timeoutMs },
    );
    await this.revision();
  }

  protected teardown(): Promise<void> {
    return this.#stopOrigin();
  }
}

async function spawnCluster(binary: string, options: StartClusterOptions): Promise<EtcdCluster> {
  const count = options.members ?? 1;
  const timeoutMs = options.startTimeoutMs ?? 30000;
  const tls = options.tls === true ? await makeTlsMaterial() : undefined;
  const controlTls = tls === undefined ? undefined : httpsClientTls(tls);
  const args = [...(tls === undefined ? [] : tlsServerArgs(tls)), ...(options.args ?? [])];
  for (let attempt = 1; ; attempt++) {
    const ports = await pickFreePorts(2 * count);
    const names = Array.from({ length: count }, (_, i) => `m${i}`);
    const dataDirs = await Promise.all(names.map((name) => makeDataDir(name)));
    const peerPort = (i: number): number => ports[2 * i + 1]!;
    const initialCluster = names
      .map((name, i) => `${name}=${urlOf("http", HOST, peerPort(i))}`)
      .join(",");
    const clusterToken = `event-value-${randomUUID()}`;
    const members = names.map(
      (name, i) =>
        new EtcdMember({
          name,
          binary,
          host: HOST,
          clientPort: ports[2 * i]!,
          peerPort: peerPort(i),
          clientScheme: tls === undefined ? "http" : "https",
          dataDir: dataDirs[i]!,
          initialCluster,
          clusterToken,
          args,
          ...(controlTls === undefined ? {} : { controlTls }),
        }),
    );
    const cluster = new SpawnedCluster(members, tls);
    try {
      for (const member of members) member.launch();
      await Promise.all(members.map((member) => member.waitHealthy(timeoutMs)));
      await cluster.waitHealthy(timeoutMs);
      return cluster;
    } catch (error) {
      // Not `cluster.stop()`: that deletes the TLS material too, which the next attempt uses.
      await Promise.all(members.map((member) => member.remove()));
      if (!(error instanceof EtcdStartError && error.portInUse) || attempt >= START_ATTEMPTS) {
        if (tls !== undefined) await removeTlsMaterial(tls);
        throw error;
      }
    }
  }
}

/**
 * Starts a cluster for a test, from the source {@link findEtcd} chooses:
 * `ETCD_ENDPOINTS` (connected, unless member control is needed and a binary exists),
 * else spawned members of a local binary, else a container (connected, one member).
 * Resolves once healthy (see {@link EtcdCluster.waitHealthy}); call `stop()` when done.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<EtcdCluster> {
  const memberControl =
    options.memberControl === true || options.tls === true || (options.args?.length ?? 0) > 0;
  const source = await findEtcd({ memberControl });
  switch (source.kind) {
    case "binary":
      return spawnCluster(source.path, options);
    case "endpoints": {
      const cluster = new ConnectedCluster(
        source.endpoints,
        `the existing cluster at ETCD_ENDPOINTS=${source.endpoints.join(",")}`,
        async () => {},
      );
      await cluster.waitHealthy(options.startTimeoutMs);
      return cluster;
    }
    case "container": {
      if ((options.members ?? 1) !== 1) {
        throw new EtcdHarnessError(
          "A 3-member cluster needs a local etcd binary (`apt-get install -y etcd-server` on Debian/Ubuntu); containers give one member.",
        );
      }
      const container = await source.start();
      const cluster = new ConnectedCluster([container.endpoint], "a container", container.stop);
      try {
        await cluster.waitHealthy(options.startTimeoutMs);
      } catch (error) {
        await cluster.stop();
        throw error;
      }
      return cluster;
    }
  }
}
