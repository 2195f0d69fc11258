import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { HttpsClientTls } from "./tls.js";

/**
 * The harness's own control calls to one etcd member, over etcd's HTTP endpoints
 * (`/health` and the v3 JSON gateway), not through an `etcd3` client: no circuit
 * breaker, no retries, no gRPC channel left open. Every call has a hard timeout.
 */

/** The parts of `/v3/maintenance/status` the harness uses. */
export interface MemberStatus {
  /** This member's id (decimal string). */
  readonly memberId: string;
  /** The id of the member this one believes is leader; "0" when it knows none. */
  readonly leaderId: string;
  /** The raft term; a higher term means a more recent election. */
  readonly raftTerm: number;
  /** The current store revision. */
  readonly revision: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** A number-like field; the JSON gateway omits zero values, so `fallback` stands for them. */
function stringField(value: unknown, path: readonly string[], fallback?: string): string {
  let at: unknown = value;
  for (const key of path) at = isRecord(at) ? at[key] : undefined;
  if (typeof at === "string" || typeof at === "number") return String(at);
  if (at === undefined && fallback !== undefined) return fallback;
  throw new Error(`etcd response has no ${path.join(".")}: ${JSON.stringify(value)}`);
}

/**
 * Sends one request (`POST` with a JSON body, or `GET` without) and parses the JSON
 * answer. Rejects on a network error, a non-2xx status (with etcd's message), or when
 * `timeoutMs` passes first. An `https:` URL needs `tls` when the member's certificate is
 * not publicly trusted or it requires client certificates.
 */
export async function requestJson(
  baseUrl: string,
  path: string,
  body: unknown,
  timeoutMs: number,
  tls?: HttpsClientTls,
): Promise<unknown> {
  const { url, text } = await requestText(baseUrl, path, body, timeoutMs, tls);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${url} answered non-JSON: ${text}`, { cause: error });
  }
}

/** Like {@link requestJson}, but resolves with the answer's text and the URL asked. */
export function requestText(
  baseUrl: string,
  path: string,
  body: unknown,
  timeoutMs: number,
  tls?: HttpsClientTls,
): Promise<{ url: string; text: string }> {
  const url = new URL(path, baseUrl);
  const https = url.protocol === "https:";
  const send = https ? httpsRequest : httpRequest;
  const options = {
    method: body === undefined ? "GET" : "POST",
    agent: false as const,
    ...(https && tls !== undefined ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = send(url, options, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("error", reject);
      res.on("end", () => {
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          reject(new Error(`${url.href} answered ${status}: ${text}`));
          return;
        }
        resolve({ url: url.href, text });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${url.href} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * Asks `/health`: true when the member has a leader, no alarm, and a quorum read
 * through raft succeeded (etcd 3.4 gives that read 1 s).
 */
export async function isHealthy(
  clientUrl: string,
  timeoutMs = 2000,
  tls?: HttpsClientTls,
): Promise<boolean> {
  const answer = await requestJson(clientUrl, "/health", undefined, timeoutMs, tls);
  return isRecord(answer) && answer.health === "true";
}

/** Asks `/v3/maintenance/status` of one member. */
export async function memberStatus(
  clientUrl: string,
  timeoutMs = 1000,
  tls?: HttpsClientTls,
): Promise<MemberStatus> {
  const answer = await requestJson(clientUrl, "/v3/maintenance/status", {}, timeoutMs, tls);
  return {
    memberId: stringField(answer, ["header", "member_id"]),
    leaderId: stringField(answer, ["leader"], "0"),
    raftTerm: Number(stringField(answer, ["raftTerm"], "0")),
    revision: Number(stringField(answer, ["header", "revision"])),
  };
}

/** The current store revision, by a linearizable (quorum) range read of one key. */
export async function storeRevision(
  clientUrl: string,
  timeoutMs = 2000,
  tls?: HttpsClientTls,
): Promise<number> {
  const key = Buffer.from("event-value-harness-probe").toString("base64");
  const answer = await requestJson(clientUrl, "/v3/kv/range", { key }, timeoutMs, tls);
  return Number(stringField(answer, ["header", "revision"]));
}

/** Compacts history up to `revision`, waiting until the compaction is physically applied. */
export async function compactStore(
  clientUrl: string,
  revision: number,
  timeoutMs = 10000,
  tls?: HttpsClientTls,
): Promise<void> {
  await requestJson(
    clientUrl,
    "/v3/kv/compaction",
    { revision: String(revision), physical: true },
    timeoutMs,
    tls,
  );
}

/** The gRPC method of etcd's watch streams, as its server metrics label it. */
const WATCH_LABELS = 'grpc_method="Watch",grpc_service="etcdserverpb.Watch"';

/**
 * How many etcd watch streams (gRPC `Watch` calls) the member has open now, from its
 * Prometheus metrics: `grpc_server_started_total` minus every
 * `grpc_server_handled_total` of `etcdserverpb.Watch`. A stream counts as handled once
 * the server has ended it (the client cancelled, or its connection closed). Counters
 * restart at 0 with the process, as do its streams, so the difference holds across
 * restarts. (etcd 3.4's `etcd_debugging_mvcc_watcher_total` and
 * `etcd_debugging_mvcc_watch_stream_total` gauges stay at 0 with watches open: unusable.)
 */
export async function openWatchStreams(
  clientUrl: string,
  timeoutMs = 2000,
  tls?: HttpsClientTls,
): Promise<number> {
  const { url, text } = await requestText(clientUrl, "/metrics", undefined, timeoutMs, tls);
  let started: number | undefined;
  let handled = 0;
  for (const line of text.split("\n")) {
    if (!line.includes(WATCH_LABELS)) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("grpc_server_started_total{")) started = (started ?? 0) + value;
    else if (line.startsWith("grpc_server_handled_total{")) handled += value;
  }
  if (started === undefined) {
    throw new Error(`${url} has no grpc_server_started_total for ${WATCH_LABELS}`);
  }
  return started - handled;
}
