/**
 * `MemoryEtcd`: an in-process etcd for tests and single-process use.
 *
 * @module
 */

import { Etcd3 } from "etcd3";
import { Connection, MEMBER_HOST, type TwinState } from "./connection.js";
import type { FakeStream } from "./fake-stream.js";
import { castForCaller, etcdErrors, type GrpcStatusError } from "./grpc-errors.js";
import { Scheduler } from "./scheduler.js";
import { EtcdServer } from "./server.js";
import { wireServices } from "./wire.js";

/** Options of {@link MemoryEtcd}; every one has etcd 3.4.23's default. */
export interface MemoryEtcdOptions {
  /** `--max-request-bytes`: largest put or txn, in bytes. Default 1.5 MiB (1,572,864). */
  readonly maxRequestBytes?: number;
  /**
   * Interval of `progress_notify` responses to idle synced watchers, in ms
   * (`--experimental-watch-progress-notify-interval`). Default 600,000 (10 minutes).
   */
  readonly progressNotifyIntervalMs?: number;
  /** Minimum lease TTL in seconds; shorter requests are raised to it. Default 2. */
  readonly minLeaseTtl?: number;
}

/**
 * etcd in memory: a single etcd 3.4.23 member whose {@link MemoryEtcd.client} is a real
 * `etcd3` client (plugged in through etcd3's public `client.mock()` hook, no socket).
 * Every etcd3 API works on it unchanged: KV, transactions (nested too), watches,
 * leases and keepalives, namespaces, `lock`, `election`, `stm`, and the library's
 * values.
 *
 * Exact as the etcd3 client sees etcd 3.4.23: revisions (one per mutating request, none
 * for a write that changes nothing), versions, every range option, transaction
 * validation and errors (same etcd3 error classes and messages), compaction, watch
 * responses (created first; one response per revision when live; catch-up batches of
 * ≤ 1000 revisions with the store's revision as header; compacted starts cancelled with
 * `compact_revision`), leases (2 s minimum TTL, keepalive answers the granted TTL,
 * unknown leases get TTL 0 on keepalive and -1 on TimeToLive, revoke and expiry delete
 * the keys in one revision in byte order, IDs above 2^53 as decimal strings).
 *
 * Timing: requests are applied when made; answers, watch events and catch-up batches
 * are delivered later, in order, on `setImmediate` (a watch event of a write is
 * delivered just before the write's own answer). Leases expire exactly at grant or
 * last renewal + TTL, on the process's timers looked up at call time (fake timers drive
 * them) and unref'd. Like a gRPC connection, the twin keeps the process alive while a
 * call or stream (a watch, a keepalive) is open; after {@link MemoryEtcd.close} nothing
 * of it does.
 *
 * The client's own fault handling does not run: etcd3's mock hook skips its retry
 * policy and circuit breakers, so a recoverable error (UNAVAILABLE, RESOURCE_EXHAUSTED)
 * reaches the caller at once, where etcd3 on a socket retries it up to 3 times.
 * Answers over grpc-js's default 4 MiB receive limit fail with RESOURCE_EXHAUSTED.
 *
 * Knowingly different from etcd: no auth, TLS, cluster membership, snapshots or alarms
 * (those calls answer UNIMPLEMENTED or a fixed single member); a request's deadline is
 * honoured only on calls made through `withConnection` (etcd3's mocked `exec` passes
 * none); lease expiry has no 500 ms revoke-loop lag; sort ties over 12 keys stay in key
 * order (Go's unstable sort may differ); the watchers of one stream hear of a revision
 * in creation order (etcd: any order); the request-size check estimates raft's envelope; 3.4.23's choices where later releases
 * differ: a progress request is answered at once with `watch_id` -1 even while watchers
 * catch up, and a tombstone at the compaction revision is dropped.
 *
 * Concurrency: one store; any number of clients from {@link MemoryEtcd.client} share it.
 */
export class MemoryEtcd {
  readonly #scheduler = new Scheduler();
  readonly #server: EtcdServer;
  readonly #state: TwinState & { closed: boolean };
  readonly #clients = new Set<Etcd3>();
  /** Open calls and streams; while any, a ref'd timer keeps the process alive. */
  #held = 0;
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryEtcdOptions = {}) {
    this.#server = new EtcdServer({
      maxRequestBytes: options.maxRequestBytes ?? 1.5 * 1024 * 1024,
      minLeaseTtl: options.minLeaseTtl ?? 2,
      progressNotifyIntervalMs: options.progressNotifyIntervalMs ?? 600_000,
      later: (fn) => this.#scheduler.later(fn),
    });
    this.#state = {
      server: this.#server,
      scheduler: this.#scheduler,
      streams: new Set<FakeStream>(),
      pending: new Set<(error: GrpcStatusError) => void>(),
      closed: false,
      hold: () => this.#hold(),
    };
    // The codec (etcd3's proto, parsed once per process) is the twin's start-up cost, as
    // a member's start is etcd's: paid here, not by the first request.
    wireServices();
  }

  /**
   * A new `etcd3` client on this store (each call a new one; all share the store).
   * `client.close()` ends its use as on real etcd: later calls throw etcd3's
   * `ClientClosedError`, open watch streams go on. After {@link MemoryEtcd.close} the
   * client is returned closed.
   */
  client(): Etcd3 {
    const client = new Etcd3({ hosts: MEMBER_HOST });
    const hosts = (client as unknown as { pool: { hosts: { closed?: boolean }[] } }).pool.hosts;
    const connection = new Connection(this.#state, () => hosts.every((host) => host.closed));
    // Connection types etcd3's internals loosely (unknown client and metadata).
    client.mock(connection as unknown as Parameters<Etcd3["mock"]>[0]);
    if (this.#state.closed) client.close();
    else this.#clients.add(client);
    return client;
  }

  /** The store's current revision (1 when empty). */
  get revision(): number {
    return this.#server.store.revision;
  }

  /**
   * Compacts history at `revision` (default: the current revision), as an etcd
   * `Compact` request would; throws etcd3's `GRPCOutOfRangeError` for a revision
   * already compacted or in the future. Watchers behind it are cancelled with
   * `compact_revision` at their next catch-up.
   */
  compact(revision: number = this.revision): void {
    try {
      this.#server.store.compact(revision);
    } catch (error) {
      throw castForCaller(error);
    }
  }

  /**
   * Breaks every open stream (watch, keepalive) as a dropped connection does: a gRPC
   * UNAVAILABLE error, then `end`. Requests held by {@link MemoryEtcd.freeze} fail with
   * UNAVAILABLE and are never applied. Later requests and streams work.
   */
  disconnect(): void {
    this.#breakStreams(etcdErrors.connectionDropped());
    this.#scheduler.dropHeld(etcdErrors.connectionDropped());
  }

  /**
   * Freezes the member, as SIGSTOP does: requests and stream messages are held
   * unapplied, answers and events undelivered, lease expiry waits. Idempotent.
   */
  freeze(): void {
    this.#scheduler.freeze();
  }

  /**
   * Resumes a frozen member: held requests are applied and answered in order (a write
   * whose caller gave up during the freeze commits now), held deliveries follow.
   */
  thaw(): void {
    this.#scheduler.thaw();
  }

  /**
   * Expires lease `id` (a decimal string) now, as etcd does when its TTL runs out: its
   * keys are deleted in one revision, keepalives then answer TTL 0. No-op for an
   * unknown lease.
   */
  expireLease(id: string): void {
    this.#server.expire(BigInt(id));
  }

  /**
   * Data loss: the store is emptied (revision 1, no leases, history gone) under a new
   * cluster ID, and every open stream breaks as on a member restart.
   */
  wipe(): void {
    this.#server.wipe();
    this.#breakStreams(etcdErrors.connectionDropped());
  }

  /**
   * Ends the twin: pending requests fail with UNAVAILABLE, open streams break, every
   * timer is cleared and every client made by {@link MemoryEtcd.client} is closed.
   * Idempotent; later requests fail.
   */
  close(): void {
    if (this.#state.closed) return;
    this.#state.closed = true;
    const error = etcdErrors.closed();
    this.#scheduler.dropHeld(error);
    this.#scheduler.close();
    for (const fail of [...this.#state.pending]) fail(error);
    this.#breakStreams(error);
    this.#server.close();
    for (const client of this.#clients) client.close();
    this.#clients.clear();
    this.#stopKeepAlive();
  }

  /** Closes the twin (`await using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #hold(): () => void {
    if (this.#held++ === 0) this.#keepAlive = globalThis.setInterval(() => {}, 1 << 30);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#held === 0) this.#stopKeepAlive();
    };
  }

  #stopKeepAlive(): void {
    if (this.#keepAlive !== undefined) globalThis.clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  #breakStreams(error: GrpcStatusError): void {
    const streams = [...this.#state.streams];
    this.#state.streams.clear();
    for (const stream of streams) stream.fail(error);
  }
}
