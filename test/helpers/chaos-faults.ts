/**
 * Running a chaos schedule (`chaos-schedule.ts`) on a three-member cluster whose clients
 * under test reach the members only through per-member TCP proxies: each step's action,
 * its pause, and the repairs that leave every member up and every link passing. Shared by
 * the chaos tests of values (`test/etcd/chaos.test.ts`) and of locks and elections
 * (`test/etcd/chaos-coordination.test.ts`).
 */

import { setTimeout as delay } from "node:timers/promises";
import type { TestFn } from "ava";
import { withCluster } from "../harness/ava.js";
import type { EtcdCluster } from "../harness/etcd-cluster.js";
import { proxyMembers, type TcpProxy } from "../harness/tcp-proxy.js";
import { type Action, describeAction, type Step } from "./chaos-schedule.js";

/** The cluster and its proxies (one per member, in member order). */
export interface ChaosTarget {
  readonly cluster: EtcdCluster;
  readonly proxies: readonly TcpProxy[];
}

/**
 * Registers a three-member cluster (with member control) for the file's tests, and its
 * proxies: the returned function starts the proxies on its first call (the cluster starts
 * in a hook) and gives the same ones after; they close after the file's tests.
 */
export function withChaosTarget<Context>(test: TestFn<Context>): () => Promise<ChaosTarget> {
  const cluster = withCluster(test, { members: 3, memberControl: true });
  let proxies: TcpProxy[] | undefined;
  test.after.always(async () => {
    await Promise.all((proxies ?? []).map((proxy) => proxy.close()));
  });
  return async () => {
    proxies ??= await proxyMembers(cluster().endpoints);
    return { cluster: cluster(), proxies };
  };
}

/** The highest revision compacted so far (changes at or below it may be summed up). */
export interface Compaction {
  upTo: number;
}

/**
 * Runs every step in order, each followed by its pause (the schedule's own timing);
 * `ran[i]` is set to when step `i` began, in ms since the first step. A failed
 * compaction is logged, not thrown (a compaction racing a member's death may fail).
 */
export async function runSchedule(
  target: ChaosTarget,
  schedule: readonly Step[],
  ran: (number | undefined)[],
  compaction: Compaction,
  log: (line: string) => void,
): Promise<void> {
  const from = Date.now();
  for (const [i, step] of schedule.entries()) {
    ran[i] = Date.now() - from;
    await perform(target, step.action, compaction, log);
    if (step.pauseMs > 0) await delay(step.pauseMs);
  }
}

/** Runs one action of the schedule. */
async function perform(
  { cluster, proxies }: ChaosTarget,
  action: Action,
  compaction: Compaction,
  log: (line: string) => void,
): Promise<void> {
  switch (action.kind) {
    case "kill":
      return cluster.members[action.member]!.kill();
    case "restart":
      return cluster.members[action.member]!.restart();
    case "freeze":
      return cluster.members[action.member]!.freeze();
    case "thaw":
      return cluster.members[action.member]!.thaw();
    case "link":
      return proxies[action.member]!.setMode(action.mode);
    case "compact":
      try {
        compaction.upTo = Math.max(compaction.upTo, await cluster.compact());
      } catch (error) {
        // Not what is under test: a compaction racing a member's death may fail.
        log(`${describeAction(action)} failed: ${String(error)}`);
      }
  }
}

/** Every member up, every link passing (after a failed run too, for the next seed). */
export async function repairAll({ cluster, proxies }: ChaosTarget): Promise<void> {
  for (const proxy of proxies) proxy.setMode("pass");
  for (const member of cluster.members) {
    member.thaw();
    if (!member.running) await member.restart();
  }
  await cluster.waitHealthy();
}
