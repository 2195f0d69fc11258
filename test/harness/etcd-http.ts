import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

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
 * `timeoutMs` passes first.
 */
export function requestJson(
  baseUrl: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<unknown> {
  const url = new URL(path, baseUrl);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: body === undefined ? "GET" : "POST", agent: false }, (res) => {
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
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(new Error(`${url.href} answered non-JSON: ${text}`, { cause: error }));
        }
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
export async function isHealthy(clientUrl: string, timeoutMs = 2000): Promise<boolean> {
  const answer = await requestJson(clientUrl, "/health", undefined, timeoutMs);
  return isRecord(answer) && answer.health === "true";
}

/** Asks `/v3/maintenance/status` of one member. */
export async function memberStatus(clientUrl: string, timeoutMs = 1000): Promise<MemberStatus> {
  const answer = await requestJson(clientUrl, "/v3/maintenance/status", {}, timeoutMs);
  return {
    memberId: stringField(answer, ["header", "member_id"]),
    leaderId: stringField(answer, ["leader"], "0"),
    raftTerm: Number(stringField(answer, ["raftTerm"], "0")),
    revision: Number(stringField(answer, ["header", "revision"])),
  };
}

/** The current store revision, by a linearizable (quorum) range read of one key. */
export async function storeRevision(clientUrl: string, timeoutMs = 2000): Promise<number> {
  const key = Buffer.from("event-value-harness-probe").toString("base64");
  const answer = await requestJson(clientUrl, "/v3/kv/range", { key }, timeoutMs);
  return Number(stringField(answer, ["header", "revision"]));
}

/** Compacts history up to `revision`, waiting until the compaction is physically applied. */
export async function compactStore(
  clientUrl: string,
  revision: number,
  timeoutMs = 10000,
): Promise<void> {
  await requestJson(
    clientUrl,
    "/v3/kv/compaction",
    { revision: String(revision), physical: true },
    timeoutMs,
  );
}
