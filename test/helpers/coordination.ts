/**
 * Helpers for the coordination tests: the keys of a lock or election line, and spies on
 * the requests a client sends (the requests themselves unchanged).
 */

import type { Etcd3 } from "etcd3";
import { deadline } from "./faults.js";

/** The keys under `prefix`, in create order. */
export async function keysUnder(client: Etcd3, prefix: string): Promise<string[]> {
  const response = await client.getAll().prefix(prefix).sort("Create", "Ascend").exec();
  return response.kvs.map((kv) => kv.key.toString());
}

/**
 * Resolves once exactly `count` keys are under `prefix` (a waiter has joined or left the
 * line), watching the prefix; bound: 10 s.
 */
export async function untilKeys(client: Etcd3, prefix: string, count: number): Promise<void> {
  const signal = deadline(10_000, `${count} keys under ${prefix}`);
  const watcher = await client.watch().prefix(prefix).create();
  try {
    await new Promise<void>((resolve, reject) => {
      const check = async (): Promise<void> => {
        try {
          if ((await keysUnder(client, prefix)).length === count) resolve();
        } catch (error) {
          reject(error);
        }
      };
      watcher.on("put", () => void check());
      watcher.on("delete", () => void check());
      signal.addEventListener("abort", () => reject(signal.reason));
      void check();
    });
  } finally {
    await watcher.cancel();
  }
}

/**
 * Every lease grant `client` sends from now on: `answers` (promises), and `sentAt(n)`,
 * resolving once `n` were sent.
 */
export function spyGrants(client: Etcd3): {
  answers: Promise<unknown>[];
  sentAt(n: number): Promise<void>;
} {
  const answers: Promise<unknown>[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  const leases = client.leaseClient;
  const grant = leases.leaseGrant.bind(leases);
  leases.leaseGrant = (...args: Parameters<typeof grant>) => {
    const answer = grant(...args);
    answer.catch(() => {});
    answers.push(answer);
    for (const wait of waiting.filter((w) => w.n <= answers.length)) wait.resolve();
    return answer;
  };
  return {
    answers,
    sentAt: (n) =>
      n <= answers.length
        ? Promise.resolve()
        : new Promise((resolve) => waiting.push({ n, resolve })),
  };
}

/**
 * Every transaction `client` sends from now on; `sentAt(n)` resolves once `n` were sent.
 */
export function spyTxns(client: Etcd3): { sentAt(n: number): Promise<void> } {
  let sent = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  const kv = client.kv;
  const txn = kv.txn.bind(kv);
  kv.txn = (...args: Parameters<typeof txn>) => {
    sent += 1;
    for (const wait of waiting.filter((w) => w.n <= sent)) wait.resolve();
    return txn(...args);
  };
  return {
    sentAt: (n) =>
      n <= sent ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve })),
  };
}

/** Resolves `promise` or rejects once `ms` passed. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const signal = deadline(ms, what);
  return new Promise<T>((resolve, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason));
    promise.then(resolve, reject);
  });
}
