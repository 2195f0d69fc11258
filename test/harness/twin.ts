/** The one place tests make a `MemoryEtcd` (the in-memory etcd of `src/memory-etcd/`). */

import type { Etcd3 } from "etcd3";
import { MemoryEtcd, type MemoryEtcdOptions } from "../../src/index.js";

/** What the tests use of `MemoryEtcd` (DESIGN.md). */
export interface Twin {
  client(): Etcd3;
  readonly revision: number;
  compact(revision?: number): void;
  disconnect(): void;
  freeze(): void;
  thaw(): void;
  expireLease(id: string): void;
  wipe(): void;
  close(): void;
}

/** A new, empty `MemoryEtcd` (etcd 3.4.23's defaults unless `options` say otherwise). */
export function newTwin(options?: MemoryEtcdOptions): Twin {
  return new MemoryEtcd(options);
}
