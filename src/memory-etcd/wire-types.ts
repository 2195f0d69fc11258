/**
 * Requests as the server decodes them from etcd3's proto (`longs: String`,
 * `enums: String`, `defaults: true`, `oneofs: true`): int64 fields are decimal strings,
 * bytes are Buffers, enums are etcd3's names, a oneof names its set member.
 *
 * @module
 */

/** `RangeRequest`. */
export interface RangeRequest {
  key: Buffer;
  /** `null` when absent on the wire (an explicit empty one means "to the end"). */
  range_end: Buffer | null;
  limit: string;
  revision: string;
  sort_order: string;
  sort_target: string;
  serializable: boolean;
  keys_only: boolean;
  count_only: boolean;
  min_mod_revision: string;
  max_mod_revision: string;
  min_create_revision: string;
  max_create_revision: string;
}

/** `PutRequest`. */
export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease: string;
  prev_kv: boolean;
  ignore_value: boolean;
  ignore_lease: boolean;
}

/** `DeleteRangeRequest`. */
export interface DeleteRangeRequest {
  key: Buffer;
  /** `null` when absent on the wire (an explicit empty one means "to the end"). */
  range_end: Buffer | null;
  prev_kv: boolean;
}

/** `Compare`. */
export interface Compare {
  result: string;
  target: string;
  key: Buffer;
  /** `null` when absent on the wire (an explicit empty one means "to the end"). */
  range_end: Buffer | null;
  target_union?: string;
  version?: string;
  create_revision?: string;
  mod_revision?: string;
  value?: Buffer;
  lease?: string;
}

/** `RequestOp`. */
export interface RequestOp {
  request?: "request_range" | "request_put" | "request_delete_range" | "request_txn";
  request_range?: RangeRequest;
  request_put?: PutRequest;
  request_delete_range?: DeleteRangeRequest;
  request_txn?: TxnRequest;
}

/** `TxnRequest`. */
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

/** `WatchCreateRequest`. */
export interface WatchCreateRequest {
  key: Buffer;
  /** `null` when absent on the wire (an explicit empty one means "to the end"). */
  range_end: Buffer | null;
  start_revision: string;
  progress_notify: boolean;
  filters: string[];
  prev_kv: boolean;
  watch_id: string;
  fragment: boolean;
}

/** `WatchRequest`. */
export interface WatchRequest {
  request_union?: "create_request" | "cancel_request" | "progress_request";
  create_request?: WatchCreateRequest;
  cancel_request?: { watch_id: string };
  progress_request?: Record<string, never>;
}

/** A response as handed to the encoder: int64 as number, bigint or string; bytes as Buffers. */
export type Plain = { [field: string]: unknown };
