/**
 * Tells a member that is merely behind from a replaced history, when a new watch answers
 * from below the revision already applied.
 *
 * @module
 */

import { MemberBehindError } from "../event/errors.js";
import { RetryStopped } from "./backoff.js";
import type { KeyRange } from "./key-range.js";
import type { EtcdPort } from "./port.js";
import type { StreamWatch } from "./shared-stream.js";
import { withSoftTimeout } from "./soft-timeout.js";

/** What {@link memberBehind} compares the watch with. */
export interface AppliedHistory {
  /** The cluster the state was read from. */
  readonly clusterId: string;
  /** The revision after the last one applied. */
  readonly resume: number;
}

/**
 * Called when `watch` (created from `applied.resume`) reports an older store revision or
 * another cluster than the state applied. When its cluster is the state's and the
 * cluster, asked by a linearizable read (bounded by `timeoutMs`), is at or past the
 * applied revision, only the watch's member is behind (restarting, just thawed, or cut
 * off from the leader): the history is intact, so the member is suspected (avoided by
 * the next streams) and a `MemberBehindError` returned, to watch again from the resume
 * revision. Otherwise undefined: the history was replaced. Throws `RetryStopped` when
 * `signal` aborted during the read, and what the read fails with.
 */
export async function memberBehind(
  port: EtcdPort,
  range: KeyRange,
  timeoutMs: number,
  applied: AppliedHistory,
  watch: StreamWatch,
  signal: AbortSignal,
): Promise<MemberBehindError | undefined> {
  if (watch.clusterId !== applied.clusterId) return undefined;
  const response = await withSoftTimeout(
    port.range({ key: range.start, count_only: true }),
    timeoutMs,
    "etcd revision read",
  );
  if (signal.aborted) throw new RetryStopped();
  const { cluster_id: clusterId, revision } = response.header;
  if (clusterId !== applied.clusterId || Number(revision) < applied.resume - 1) return undefined;
  if (watch.member !== undefined) port.suspect(watch.member);
  return new MemberBehindError(watch.member, watch.createdRevision, applied.resume - 1);
}
