/**
 * The narrow slice of the `etcd3` client that etcd values use, behind an interface of
 * our own: paged range reads and raw watch streams, both through the user's client
 * (its connection pool, credentials and auth token). Fault-injection tests and a later
 * in-memory etcd twin plug in here.
 *
 * Why raw watch streams instead of etcd3's `Watcher`: etcd3's watcher moves its resume
 * point past undelivered events during catch-up, ends for good on compaction, serialises
 * attaches, swallows or rethrows errors depending on listeners, and cannot ask the server
 * for progress, so a stream stuck on a frozen member goes unnoticed. Owning the stream
 * makes each of those our decision (see RELIABILITY.md, traps 1–8 and 19).
 *
 * @module
 */

import {
  type CallContext,
  type Etcd3,
  EtcdInvalidAuthTokenError,
  type ICallable,
  type IDuplexStream,
  type IRangeRequest,
  type IRangeResponse,
  type ITxnRequest,
  type ITxnResponse,
  type IWatchRequest,
  type IWatchResponse,
  type KVClient,
  type Namespace,
  WatchClient,
} from "etcd3";
import { RequestTimeoutError } from "../event/errors.js";
import { isEtcdError } from "./classify.js";
import {
  type CallOptions,
  type ConnectionArgs,
  type PageOutcome,
  type PageRequestOptions,
  runRead,
} from "./page-request.js";
import { withSoftTimeout } from "./soft-timeout.js";

/**
 * A bidirectional etcd watch stream (one gRPC `Watch` call). `cancel()` ends the call;
 * the server then drops every watch on it.
 */
export type WatchStreamPort = IDuplexStream<IWatchRequest, IWatchResponse>;

/** A watch stream and the member it runs on. */
export interface OpenedWatchStream {
  readonly stream: WatchStreamPort;
  /**
   * The member, as written in the client's `hosts` without the scheme (e.g.
   * `127.0.0.1:2379`); undefined when the client does not tell.
   */
  readonly member: string | undefined;
}

/** What etcd values need from a client. */
export interface EtcdPort {
  /** The client's namespace prefix (empty for a plain `Etcd3`). */
  readonly prefix: Buffer;
  /** One `Range` request, keys given with the prefix applied. */
  range(request: IRangeRequest): Promise<IRangeResponse>;
  /**
   * One `Range` request of the library's paging (keys with the prefix applied), made so
   * that it never counts against the user's client: outside etcd3's retry policy, on a
   * member not {@link suspect}ed if one is available, and with its own failures (an
   * answer over the client's receive limit: `GRPCResourceExhastedError`; silence for
   * `idleTimeoutMs`: `RequestTimeoutError`, the member then suspected; an abort: the
   * signal's reason) kept from the member's circuit breaker. The abandoned call is
   * cancelled. An expired auth token is refreshed once. Other failures (the member
   * unavailable…) reject as for any call, and count as for any call.
   */
  readPage(request: IRangeRequest, options: PageRequestOptions): Promise<IRangeResponse>;
  /**
   * Several reads (keys with the prefix applied) as one read-only `Txn`: one linearizable
   * read, every request answered at the `Txn`'s revision, in order. Made, and failing, as
   * {@link readPage} (a `Txn` over the receive limit: `GRPCResourceExhastedError`; more
   * requests than etcd's `--max-txn-ops`, 128 by default: etcd's `INVALID_ARGUMENT`).
   */
  readKeys(requests: readonly IRangeRequest[], options: PageRequestOptions): Promise<ITxnResponse>;
  /**
   * Opens a new watch stream on a member chosen by the client among those not
   * {@link suspect}ed; a suspected member only when every member is suspected, or when
   * the client does not let us choose (then the choice is the client's: random).
   */
  openWatchStream(): Promise<OpenedWatchStream>;
  /**
   * Reports that `member` left a watch unanswered (frozen or partitioned): new streams
   * of every value on the same client avoid it for {@link SUSPECT_MS}.
   */
  suspect(member: string): void;
  /**
   * True once the client was closed (`client.close()`). etcd3 does not end open streams
   * then: a watch would keep running, and the process alive. Optional: a port that cannot
   * tell leaves it out.
   */
  isClosed?(): boolean;
  /** The client's own KV calls (`client.kv`), through its retry policy. */
  readonly kv: KVClient;
  /**
   * Runs `fn` once on one member's KV connection: etcd3's circuit breakers apply (a
   * member whose breaker is open is skipped, the next one offered), its retry policy does
   * not. Members are offered as for {@link openWatchStream}. Undefined when the client has
   * no such pool: not etcd3 1.x internals, or a mocked client (`client.mock()`, whose calls
   * go to the mock once, never retried); read it at each call (a client can be mocked
   * later).
   */
  readonly withKvConnection:
    | (<R>(fn: (connection: KvConnection) => Promise<R>) => Promise<R>)
    | undefined;
}

/** One member's connection, lent by {@link EtcdPort.withKvConnection} for one call. */
export interface KvConnection {
  /** The member, as in the client's `hosts` without the scheme. */
  readonly member: string;
  /**
   * etcd3's gRPC client of the member's KV service (grpc-js): its methods (`put`,
   * `deleteRange`, `txn`, …) take `(request, metadata, options, callback)` and return
   * the call, which has `cancel()`.
   */
  readonly client: unknown;
  /** The call metadata (auth token). */
  readonly metadata: unknown;
  /** The client's default call options (`defaultCallOptions`) for this call, without `deadline`. */
  callOptions(method: string, request: unknown): unknown;
  /** Drops the cached auth token, after etcd said it is invalid: the next call fetches one. */
  invalidateToken(): void;
}

/** How long, in ms, new watch streams avoid a member that left a watch unanswered. */
export const SUSPECT_MS = 30_000;

/**
 * The parts of etcd3's `ConnectionPool` and `Host` (etcd3 1.x) used to choose a member.
 * Not public API of etcd3: checked at run time, and without them the client chooses.
 * gRPC's own `getPeer()` cannot replace them: on a call that has not been answered yet
 * it says `unknown`, so it names a frozen member only when it is too late.
 */
interface PoolInternals extends ICallable<HostInternals> {
  readonly hosts: readonly HostInternals[];
  /** Set by `client.mock()`: calls go to an in-process stand-in. */
  readonly mockImpl?: unknown;
  withConnection<R>(
    service: "Watch" | "KV",
    fn: Parameters<ICallable<HostInternals>["withConnection"]>[1],
    shuffleGenerator?: Generator<HostInternals, void, unknown>,
  ): Promise<R>;
  /** Holds the auth token. */
  readonly authenticator?: { invalidateMetadata?(): void };
}

interface HostInternals {
  /** `host:port` from the client's `hosts`, scheme removed. */
  readonly host: string;
  /** Set by `client.close()`. */
  readonly closed?: unknown;
}

/** What the ports of one connection pool share: the suspects and the stream opener. */
interface StreamSide {
  readonly isSuspect: (member: string) => boolean;
  readonly suspect: EtcdPort["suspect"];
  readonly openWatchStream: EtcdPort["openWatchStream"];
  readonly isClosed: NonNullable<EtcdPort["isClosed"]>;
}

/**
 * The stream side of each connection pool (or of a client without a recognisable pool).
 * One object per pool, so every value on a client, namespaces included, shares the
 * suspected members and the same `openWatchStream`, and with it the client's watch
 * streams (see `watchHub`).
 */
const streamSides = new WeakMap<object, StreamSide>();

function streamSideOf(client: Etcd3 | Namespace, pool: PoolInternals | undefined): StreamSide {
  const key: object = pool ?? client;
  const known = streamSides.get(key);
  if (known !== undefined) return known;
  // Avoidance is a duration: on the monotonic clock, so a step of the wall clock (NTP, a
  // resumed VM) neither ends nor prolongs it.
  const suspects = new Map<string, number>();
  const isSuspect = (member: string): boolean => {
    const until = suspects.get(member);
    if (until === undefined) return false;
    if (performance.now() < until) return true;
    suspects.delete(member);
    return false;
  };
  const side: StreamSide = {
    isSuspect,
    suspect: (member) => {
      suspects.set(member, performance.now() + SUSPECT_MS);
    },
    openWatchStream: async () => {
      if (pool === undefined) {
        return { stream: await client.watchClient.watch(), member: undefined };
      }
      return openPreferring(pool, isSuspect);
    },
    isClosed: () => pool?.hosts.every((host) => host.closed === true) ?? false,
  };
  streamSides.set(key, side);
  return side;
}

/**
 * Throws a `TypeError` unless `client` looks like an `etcd3` client or namespace: a
 * `prefix` buffer and `kv.range`, and with `watches` also a `watchClient` (the parts of
 * {@link portOf} the caller uses).
 */
export function requireEtcdClient(client: unknown, expected: string, watches: boolean): void {
  const candidate = client as Partial<Namespace> | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    !Buffer.isBuffer(candidate.prefix) ||
    typeof candidate.kv?.range !== "function" ||
    (watches && typeof candidate.watchClient !== "object")
  ) {
    throw new TypeError(`Expected \`client\` to be ${expected}`);
  }
}

/** The port of each client or namespace: values on one client share it. */
const ports = new WeakMap<Etcd3 | Namespace, EtcdPort>();

/** The port of an `etcd3` client or namespace (one per client object). */
export function portOf(client: Etcd3 | Namespace): EtcdPort {
  let port = ports.get(client);
  if (port === undefined) {
    port = makePort(client);
    ports.set(client, port);
  }
  return port;
}

function makePort(client: Etcd3 | Namespace): EtcdPort {
  const pool = poolOf(client);
  const { isSuspect, suspect, openWatchStream, isClosed } = streamSideOf(client, pool);
  /**
   * One read (a Range, or a read-only Txn) through the pool, never counted against its
   * members; on a mock client, or one without pool internals, through etcd3 (`direct`).
   * `hookRequest` names the range an auth-token refresh reads.
   */
  function read<Res>(
    method: "range" | "txn",
    request: IRangeRequest | ITxnRequest,
    direct: () => Promise<Res>,
    what: string,
    hookRequest: IRangeRequest,
    options: PageRequestOptions,
  ): Promise<Res> {
    if (pool === undefined || (pool.mockImpl ?? null) !== null) {
      // No breaker to keep clear of (a mock), or no way to reach around it.
      return withSoftTimeout(direct(), options.idleTimeoutMs, what);
    }
    const callOptions = kvCallOptions(pool, method, request);
    return readThrough(
      pool,
      isSuspect,
      (args) => runRead<Res>(args, method, request, callOptions, options),
      readHooks(client, hookRequest, suspect),
    );
  }
  return {
    prefix: client.prefix,
    range: (request) => client.kv.range(request),
    readPage: (request, options) =>
      read("range", request, () => client.kv.range(request), "etcd range page", request, options),
    readKeys: (requests, options) => {
      const txn: ITxnRequest = { success: requests.map((request) => ({ request_range: request })) };
      return read(
        "txn",
        txn,
        () => client.kv.txn(txn),
        "etcd batched read",
        requests[0] ?? {},
        options,
      );
    },
    openWatchStream,
    suspect,
    isClosed,
    kv: client.kv,
    get withKvConnection() {
      return pool === undefined || (pool.mockImpl ?? null) !== null
        ? undefined
        : <R>(fn: (connection: KvConnection) => Promise<R>) =>
            pool.withConnection<R>(
              "KV",
              ({ resource, client: kvClient, metadata }) =>
                fn({
                  member: resource.host,
                  client: kvClient,
                  metadata,
                  callOptions: (method, params) => kvCallOptions(pool, method, params),
                  invalidateToken: () => pool.authenticator?.invalidateMetadata?.(),
                }),
              preferredOrder(pool.hosts, isSuspect),
            );
    },
  };
}

/**
 * Opens a watch stream through etcd3's own `WatchClient` code (call options, auth
 * metadata, circuit breakers, failure marking), but offering the members in our order:
 * unsuspected ones first, shuffled, then suspected ones. etcd3 skips a member whose
 * circuit breaker is open and moves on to the next offered.
 */
async function openPreferring(
  pool: PoolInternals,
  isSuspect: (member: string) => boolean,
): Promise<OpenedWatchStream> {
  let member: string | undefined;
  let grpcClient: { close?: () => void } | undefined;
  const chooser: ICallable<HostInternals> = {
    get callOptionsFactory() {
      return pool.callOptionsFactory;
    },
    exec: (service, method, params, options) => pool.exec(service, method, params, options),
    markFailed: (resource, error) => pool.markFailed(resource, error),
    withConnection: (service, fn) =>
      pool.withConnection(
        service as "Watch",
        (args) => {
          member = args.resource.host;
          grpcClient = args.client as { close?: () => void };
          return fn(args);
        },
        preferredOrder(pool.hosts, isSuspect),
      ),
  };
  const stream = await new WatchClient(chooser).watch();
  if (pool.hosts.every((host) => host.closed === true)) {
    // The client was closed while this stream was opening: etcd3 closed the channels it
    // had then, and this call would keep its own connection (and the process) alive.
    stream.cancel();
    grpcClient?.close?.();
  }
  return { stream, member };
}

/** What {@link readThrough} needs besides the pool. */
interface ReadHooks {
  /** A unary call through etcd3's retry path, which fetches a new auth token. */
  readonly refreshToken: () => Promise<unknown>;
  readonly suspect: (member: string) => void;
}

function readHooks(
  client: Etcd3 | Namespace,
  request: IRangeRequest,
  suspect: (member: string) => void,
): ReadHooks {
  return {
    refreshToken: () => client.kv.range({ key: request.key ?? Buffer.from([0]), count_only: true }),
    suspect,
  };
}

/**
 * A read of the library's ({@link EtcdPort.readPage}, {@link EtcdPort.readKeys}) through
 * etcd3's pool: `withConnection` (the member's breaker and auth metadata, but not the
 * client's retry policy), with failures that are ours returned rather than thrown from
 * inside it, so the breaker does not count them.
 */
async function readThrough<R>(
  pool: PoolInternals,
  isSuspect: (member: string) => boolean,
  run: (args: ConnectionArgs) => Promise<PageOutcome<R>>,
  hooks: ReadHooks,
): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    let member = "";
    const outcome = await pool.withConnection<PageOutcome<R>>(
      "KV",
      (args) => {
        member = args.resource.host;
        return run(args as ConnectionArgs);
      },
      preferredOrder(pool.hosts, isSuspect),
    );
    if (outcome.ok) return outcome.response;
    if (isEtcdError(outcome.error, EtcdInvalidAuthTokenError) && attempt === 0) {
      await hooks.refreshToken(); // a call through etcd3's retry path fetches a new token
      continue;
    }
    if (outcome.error instanceof RequestTimeoutError && member !== "") hooks.suspect(member);
    throw outcome.error;
  }
}

/**
 * The client's default call options (`defaultCallOptions`) for the KV call `method`,
 * without `deadline`: our soft or idle timeout replaces it (trap 20).
 */
function kvCallOptions(pool: PoolInternals, method: string, params: unknown): CallOptions {
  const factory = pool.callOptionsFactory;
  // One of etcd3's KV methods: the union of its call contexts cannot be built from a string.
  const context = { service: "KV", method, params, isStream: false } as CallContext;
  const resolved = typeof factory === "function" ? factory(context) : factory;
  const { deadline: _deadline, ...rest } = (resolved ?? {}) as Record<string, unknown>;
  return rest;
}

/** Endlessly yields the hosts: unsuspected ones first, each group shuffled. */
function* preferredOrder(
  hosts: readonly HostInternals[],
  isSuspect: (member: string) => boolean,
): Generator<HostInternals, void, unknown> {
  for (;;) {
    const fresh = shuffle(hosts.filter((host) => !isSuspect(host.host)));
    const suspected = shuffle(hosts.filter((host) => isSuspect(host.host)));
    yield* fresh;
    yield* suspected;
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** etcd3's connection pool behind `client`, if it has the expected shape. */
function poolOf(client: Etcd3 | Namespace): PoolInternals | undefined {
  const pool: unknown = (client as unknown as { pool?: unknown }).pool;
  if (typeof pool !== "object" || pool === null) return undefined;
  const candidate = pool as Partial<PoolInternals>;
  if (
    typeof candidate.withConnection !== "function" ||
    typeof candidate.markFailed !== "function" ||
    typeof candidate.exec !== "function" ||
    !Array.isArray(candidate.hosts) ||
    candidate.hosts.length === 0 ||
    !candidate.hosts.every((host: unknown) => typeof (host as HostInternals)?.host === "string")
  ) {
    return undefined;
  }
  return candidate as PoolInternals;
}
