/**
 * The etcd server of the twin: one member, one store, one lessor and the watch
 * streams. Unary requests arrive decoded ({@link EtcdServer.unary}); validation, the
 * request-size limit and application follow etcd 3.4.23's order (gRPC checks, then the
 * raft size check for mutating requests, then apply). Every write ends in
 * {@link EtcdServer.finish}: leases re-attached, watchers notified.
 *
 * @module
 */

import { etcdErrors } from "./grpc-errors.js";
import { bytesOf } from "./keys.js";
import {
  type ApplyContext,
  applyDelete,
  applyPut,
  applyTxn,
  checkLease,
  isReadOnly,
} from "./kv-apply.js";
import { Lessor } from "./lessor.js";
import { MvccStore } from "./mvcc.js";
import { applyRange } from "./range.js";
import { checkKeyed, checkPut, checkTxn } from "./request-checks.js";
import type { WatchHost, WatchSession } from "./watch-session.js";
import type {
  DeleteRangeRequest,
  Plain,
  PutRequest,
  RangeRequest,
  TxnRequest,
} from "./wire-types.js";
import { WriteTxn } from "./write-txn.js";

/** Tunables of the twin, with etcd 3.4.23's defaults. */
export interface ServerOptions {
  /** `--max-request-bytes`: largest mutating request, in bytes (1.5 MiB). */
  readonly maxRequestBytes: number;
  /** Minimum lease TTL in seconds (2: ceil(1.5 × the 1 s election timeout)). */
  readonly minLeaseTtl: number;
  /** `--experimental-watch-progress-notify-interval` in ms (10 minutes). */
  readonly progressNotifyIntervalMs: number;
  /** Runs `fn` later, in order with responses, not while frozen. */
  readonly later: (fn: () => void) => void;
}

/** gRPC's per-message receive limit on the server: request limit + 512 KiB. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** The twin's member. */
export class EtcdServer implements WatchHost, ApplyContext {
  readonly store = new MvccStore();
  readonly lessor: Lessor;
  readonly sessions = new Set<WatchSession>();
  readonly #options: ServerOptions;
  #clusterId = randomId();
  readonly #memberId = randomId();
  /** The two IDs as the encoder takes uint64s fastest (parsing decimal strings is slow). */
  #headerIds = headerIds(this.#clusterId, this.#memberId);
  #leaseCounter: bigint;

  constructor(options: ServerOptions) {
    this.#options = options;
    this.#leaseCounter =
      ((BigInt(this.#memberId) & 0x7fffn) << 48n) | ((BigInt(Date.now()) & 0xff_ffff_ffffn) << 8n);
    this.lessor = new Lessor(
      options.minLeaseTtl,
      (id) => this.#options.later(() => this.#expireIfDue(id)),
      () => {
        this.#leaseCounter += 1n;
        return this.#leaseCounter & 0x7fff_ffff_ffff_ffffn;
      },
    );
  }

  /** Watch responses this large (bytes) are split for watchers that asked for it. */
  get fragmentLimit(): number {
    return this.#options.maxRequestBytes + GRPC_OVERHEAD_BYTES;
  }

  get progressNotifyIntervalMs(): number {
    return this.#options.progressNotifyIntervalMs;
  }

  later(fn: () => void): void {
    this.#options.later(fn);
  }

  /** A full response header at `revision`. */
  header(revision: number): Plain {
    return { ...this.#headerIds, revision, raft_term: 2 };
  }

  /**
   * Serves one unary call. `size` is the encoded request's length in bytes. Throws
   * gRPC-shaped errors.
   */
  unary(service: string, method: string, request: Plain, size: number): Plain {
    if (size > this.#options.maxRequestBytes + GRPC_OVERHEAD_BYTES) {
      throw etcdErrors.messageTooLarge(size, this.#options.maxRequestBytes + GRPC_OVERHEAD_BYTES);
    }
    const response = this.#dispatch(`${service}.${method}`, request, size);
    const header = (response.header ?? {}) as Plain;
    return { ...response, header: this.header(Number(header.revision ?? this.store.revision)) };
  }

  #dispatch(name: string, request: Plain, size: number): Plain {
    switch (name) {
      case "KV.range": {
        const range = request as unknown as RangeRequest;
        checkKeyed(range);
        return applyRange({ store: this.store, write: undefined }, range);
      }
      case "KV.put": {
        const put = request as unknown as PutRequest;
        checkPut(put);
        this.#checkSize(size);
        checkLease(this, put.lease);
        return this.#write((write) => applyPut(write, put));
      }
      case "KV.deleteRange": {
        const del = request as unknown as DeleteRangeRequest;
        checkKeyed(del);
        this.#checkSize(size);
        return this.#write((write) => applyDelete(write, del));
      }
      case "KV.txn": {
        const txn = request as unknown as TxnRequest;
        checkTxn(txn);
        if (isReadOnly(txn)) return applyTxn(this, { store: this.store, write: undefined }, txn);
        this.#checkSize(size);
        return this.#write((write) => applyTxn(this, { store: this.store, write }, txn));
      }
      case "KV.compact":
        this.#checkSize(size);
        this.store.compact(Number(request.revision));
        return { header: { revision: this.store.revision } };
      case "Lease.leaseGrant": {
        this.#checkSize(size);
        const lease = this.lessor.grant(BigInt(request.ID as string), Number(request.TTL));
        return { header: {}, ID: lease.id.toString(), TTL: lease.ttl, error: "" };
      }
      case "Lease.leaseRevoke":
        this.#checkSize(size);
        this.revoke(BigInt(request.ID as string));
        return { header: {} };
      case "Lease.leaseTimeToLive": {
        const id = BigInt(request.ID as string);
        const lease = this.lessor.get(id);
        if (lease === undefined) return { header: {}, ID: id.toString(), TTL: -1 };
        return {
          header: {},
          ID: id.toString(),
          TTL: this.lessor.remaining(lease),
          grantedTTL: lease.ttl,
          keys: request.keys === true ? [...lease.keys].sort().map(bytesOf) : [],
        };
      }
      case "Lease.leaseLeases":
        return {
          header: {},
          leases: this.lessor.list().map((lease) => ({ ID: lease.id.toString() })),
        };
      case "Maintenance.status":
        return {
          header: {},
          version: "3.4.23",
          dbSize: 20480,
          dbSizeInUse: 20480,
          leader: this.#memberId,
          raftIndex: this.store.revision + 3,
          raftTerm: 2,
          raftAppliedIndex: this.store.revision + 3,
          errors: [],
          isLearner: false,
        };
      case "Maintenance.alarm":
        return { header: {}, alarms: [] };
      case "Maintenance.defragment":
        return { header: {} };
      case "Cluster.memberList":
        return {
          header: {},
          members: [
            {
              ID: this.#memberId,
              name: "memory-etcd",
              peerURLs: [],
              clientURLs: ["memory-etcd"],
              isLearner: false,
            },
          ],
        };
      default:
        throw etcdErrors.unimplemented(name);
    }
  }

  /** etcd's raft size check: the request plus its raft envelope must fit the limit. */
  #checkSize(size: number): void {
    // InternalRaftRequest: a header (field 100, an 8-byte ID) and the request's field.
    const envelope = 13 + 1 + varintLength(size);
    if (size + envelope > this.#options.maxRequestBytes) throw etcdErrors.requestTooLarge();
  }

  #write(apply: (write: WriteTxn) => Plain): Plain {
    const write = new WriteTxn(this.store);
    const response = apply(write);
    this.finish(write);
    return response;
  }

  /** Commits `write`: leases follow their keys, synced watchers hear of the revision. */
  finish(write: WriteTxn): void {
    const changes = write.changes;
    if (changes.length === 0) return;
    const before = this.store.revision;
    for (const change of changes) {
      const previous = this.store.get(change.key, before);
      if (previous !== undefined && previous.lease !== 0n) {
        this.lessor.detach(previous.lease, change.key);
      }
      if (change.kv !== undefined && change.kv.lease !== 0n) {
        this.lessor.attach(change.kv.lease, change.key);
      }
    }
    const entry = write.end();
    if (entry === undefined) return;
    for (const session of this.sessions) session.notify(entry);
  }

  /** Revokes lease `id`: its keys deleted in one revision, in byte order. */
  revoke(id: bigint): void {
    const keys = this.lessor.remove(id);
    const write = new WriteTxn(this.store);
    for (const key of keys) write.delete({ start: key, end: undefined });
    this.finish(write);
  }

  /** Expires lease `id` now if it still exists (as etcd's revoke of an expired lease). */
  expire(id: bigint): void {
    if (this.lessor.get(id) !== undefined) this.revoke(id);
  }

  #expireIfDue(id: bigint): void {
    const lease = this.lessor.get(id);
    if (lease !== undefined && this.lessor.isExpired(lease)) this.revoke(id);
  }

  /** The keepalive answer for lease `id` (TTL 0 when unknown). */
  keepAlive(id: string): Plain {
    const header = this.header(this.store.revision);
    return { header, ID: id, TTL: this.lessor.renew(BigInt(id)) };
  }

  /** Data loss: empty store at revision 1, no leases, a new cluster ID. */
  wipe(): void {
    this.store.wipe();
    this.lessor.clear();
    this.#clusterId = randomId();
    this.#headerIds = headerIds(this.#clusterId, this.#memberId);
  }

  /** Stops every lease timer. */
  close(): void {
    this.lessor.clear();
  }
}

/** `cluster_id` and `member_id` as protobufjs's `Long`-like `{ low, high, unsigned }`. */
function headerIds(clusterId: string, memberId: string): Plain {
  const long = (decimal: string) => {
    const value = BigInt(decimal);
    return {
      low: Number(value & 0xffff_ffffn) | 0,
      high: Number(value >> 32n) | 0,
      unsigned: true,
    };
  };
  return { cluster_id: long(clusterId), member_id: long(memberId) };
}

function randomId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] as number) | 0x01;
  return Buffer.from(bytes).readBigUInt64BE().toString();
}

function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}
