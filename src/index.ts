/**
 * event-value: reactive event values in memory and in etcd.
 *
 * @module
 */

export { createEtcdClient, RECOMMENDED_GRPC_OPTIONS } from "./etcd-client.js";
export {
  type CampaignOptions,
  EtcdElection,
  type EtcdElectionOptions,
  type Leader,
  type Leadership,
} from "./etcd-election.js";
export { EtcdLease, type EtcdLeaseOptions, type LeaseState } from "./etcd-lease.js";
export { EtcdLiveness } from "./etcd-liveness.js";
export {
  type AcquireOptions,
  EtcdLock,
  type EtcdLockOptions,
  type LockHandle,
} from "./etcd-lock.js";
export {
  EtcdRangeValue,
  type KeyRangeSpec,
  type KeyUpdate,
  type RangeSnapshot,
} from "./etcd-range-value.js";
export { EtcdTempKey, type EtcdTempKeyOptions } from "./etcd-temp-key.js";
export {
  ETCD_WATCH_CHANNEL,
  type EtcdWatchMessage,
  type WatchEndReason,
} from "./etcd-types/diagnostics.js";
export type { Guard } from "./etcd-types/guard.js";
export type { EtcdLivenessOptions } from "./etcd-types/liveness-options.js";
export type {
  DecodingOptions,
  EtcdValueOptions,
  OptionsFor,
} from "./etcd-types/value-options.js";
export type { WatchStatus } from "./etcd-types/watch-status.js";
export type { WriteResult } from "./etcd-types/write-options.js";
export { EtcdValue } from "./etcd-value.js";
export { type Codec, codecs, type Encoder } from "./event/codecs.js";
export type { EventValue, GetOptions, Watcher, WatchOptions } from "./event/contract.js";
export type { Decoded, Decoder, DecoderFactoryMark } from "./event/decoders.js";
export { decoders } from "./event/decoders.js";
export {
  AmbiguousWriteError,
  BacklogDoneError,
  CompactedError,
  ConcurrentGetError,
  DecodeError,
  type DecodeErrorOptions,
  EncodeError,
  type EncodeErrorOptions,
  EventValueError,
  HistoryLostError,
  LostError,
  type LostReason,
  MemberBehindError,
  RequestTimeoutError,
  WatchCancelledError,
  WatcherClosedError,
  WatchFailedError,
  WriteFailedError,
} from "./event/errors.js";
export { MemoryEtcd, type MemoryEtcdOptions } from "./memory-etcd/index.js";
export { MemoryValue } from "./memory-value.js";
export type { WriteOptions } from "./write-options.js";
