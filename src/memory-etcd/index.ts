/**
 * The in-memory etcd twin. Imports only `etcd3`, `@grpc/proto-loader` and node: nothing
 * of the library it helps test.
 *
 * @module
 */

export { MemoryEtcd, type MemoryEtcdOptions } from "./memory-etcd.js";
