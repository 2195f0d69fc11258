/**
 * What the outcomes of a client's other requests say about etcd: subscribes to the
 * cockatiel policies inside etcd3's connection pool (etcd3 1.x).
 *
 * Which events mean what, and why:
 * - `pool.globalPolicy.onSuccess`: the pool runs only unary calls (`exec`) through its
 *   global policy, so a success there is an answer from etcd. The per-host policies
 *   (`pool.hosts[i].faultHandling`) are no use for successes: they also "succeed" when a
 *   watch or lease stream is merely opened, which needs no answer from etcd (a stream
 *   opens against a dead member too).
 * - `pool.hosts[i].faultHandling.onFailure`: every failed call on a member, and every
 *   stream that failed (etcd3 reports those through `markFailed`). A failure that is an
 *   answer from etcd (permission denied…, see `etcdAnswered`) counts as an answer; a
 *   cancelled call tells nothing (it is how a client ends its own streams).
 *
 * None of this is public API of etcd3: the shapes are checked at run time and a missing
 * one is simply not observed (like `port.ts` does with the same pool).
 *
 * @module
 */

import type { Event, IDisposable, IFailureEvent } from "cockatiel";
import { type Etcd3, GRPCCancelledError } from "etcd3";
import { etcdAnswered, isEtcdError } from "./classify.js";

/** Told about other requests' outcomes. Called synchronously from etcd3's policies. */
export interface RequestOutcomeListener {
  /** Some request got an answer from etcd. */
  answered(): void;
  /** Some request or stream failed without an answer from etcd. */
  unanswered(error: unknown): void;
}

/** The observed parts of a cockatiel policy. */
interface PolicyEvents {
  readonly onSuccess?: Event<unknown>;
  readonly onFailure?: Event<IFailureEvent>;
}

/**
 * Reports the outcomes of `client`'s requests to `listener` until the returned
 * disposable is disposed. Returns `undefined` when the client does not have the
 * expected etcd3 1.x internals: then nothing is observed.
 */
export function observeRequestOutcomes(
  client: Etcd3,
  listener: RequestOutcomeListener,
): IDisposable | undefined {
  const pool: unknown = (client as unknown as { pool?: unknown }).pool;
  if (typeof pool !== "object" || pool === null) return undefined;
  const { globalPolicy, hosts } = pool as { globalPolicy?: unknown; hosts?: unknown };
  const subscriptions: IDisposable[] = [];
  const global = policyEvents(globalPolicy);
  if (global?.onSuccess !== undefined) {
    subscriptions.push(global.onSuccess(() => listener.answered()));
  }
  const onFailure = (event: IFailureEvent): void => {
    if (!("error" in event.reason)) return; // a result the policy rejected: not ours
    const error = event.reason.error;
    if (isEtcdError(error, GRPCCancelledError)) return;
    if (etcdAnswered(error)) listener.answered();
    else listener.unanswered(error);
  };
  if (Array.isArray(hosts)) {
    for (const host of hosts as unknown[]) {
      const events = policyEvents((host as { faultHandling?: unknown } | null)?.faultHandling);
      if (events?.onFailure !== undefined) subscriptions.push(events.onFailure(onFailure));
    }
  }
  if (subscriptions.length === 0) return undefined;
  return {
    dispose: () => {
      for (const subscription of subscriptions.splice(0)) subscription.dispose();
    },
  };
}

/** The policy's events, if it looks like a cockatiel 3 policy. */
function policyEvents(policy: unknown): PolicyEvents | undefined {
  if (typeof policy !== "object" || policy === null) return undefined;
  const { onSuccess, onFailure } = policy as Record<string, unknown>;
  return {
    ...(typeof onSuccess === "function" ? { onSuccess: onSuccess as Event<unknown> } : {}),
    ...(typeof onFailure === "function" ? { onFailure: onFailure as Event<IFailureEvent> } : {}),
  };
}
