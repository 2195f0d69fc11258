/**
 * `etcdAnswered`, the classification behind `EtcdLiveness`: an error that is etcd's
 * answer to a wrong or refused request means alive; a missing answer means not alive.
 * Every error class etcd3 exports is listed on one side, so a new one fails this test
 * until someone decides.
 */

import test from "ava";
import { BrokenCircuitError, IsolatedCircuitError } from "cockatiel";
import * as etcd3 from "etcd3";
import { etcdAnswered } from "../../src/etcd/classify.js";
import { RequestTimeoutError } from "../../src/index.js";

type ErrorClass = new (...args: never[]) => Error;

/** etcd answered: the request was wrong or not allowed. */
const answers: Record<string, ErrorClass> = {
  EtcdPermissionDeniedError: etcd3.EtcdPermissionDeniedError,
  EtcdAuthenticationFailedError: etcd3.EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError: etcd3.EtcdInvalidAuthTokenError,
  EtcdRoleNotGrantedError: etcd3.EtcdRoleNotGrantedError,
  EtcdRoleNotFoundError: etcd3.EtcdRoleNotFoundError,
  EtcdRoleExistsError: etcd3.EtcdRoleExistsError,
  EtcdUserNotFoundError: etcd3.EtcdUserNotFoundError,
  EtcdUserExistsError: etcd3.EtcdUserExistsError,
  EtcdLeaseInvalidError: etcd3.EtcdLeaseInvalidError,
  EtcdLockFailedError: etcd3.EtcdLockFailedError,
  NotCampaigningError: etcd3.NotCampaigningError,
  STMConflictError: etcd3.STMConflictError,
  GRPCUnauthenticatedError: etcd3.GRPCUnauthenticatedError,
  GRPCInvalidArgumentError: etcd3.GRPCInvalidArgumentError,
  GRPCNotFoundError: etcd3.GRPCNotFoundError,
  GRPCAlreadyExistsError: etcd3.GRPCAlreadyExistsError,
  GRPCFailedPreconditionError: etcd3.GRPCFailedPreconditionError,
  GRPCOutOfRangeError: etcd3.GRPCOutOfRangeError,
  GRPCResourceExhastedError: etcd3.GRPCResourceExhastedError,
  GRPCNotImplementedError: etcd3.GRPCNotImplementedError,
};

/** etcd did not answer (usefully): not alive. */
const noAnswers: Record<string, ErrorClass> = {
  GRPCUnavailableError: etcd3.GRPCUnavailableError,
  GRPCDeadlineExceededError: etcd3.GRPCDeadlineExceededError,
  GRPCDataLossError: etcd3.GRPCDataLossError,
  GRPCCancelledError: etcd3.GRPCCancelledError,
  GRPCUnknownError: etcd3.GRPCUnknownError,
  GRPCInternalError: etcd3.GRPCInternalError,
  GRPCAbortedError: etcd3.GRPCAbortedError,
  GRPCProtocolError: etcd3.GRPCProtocolError,
  GRPCGenericError: etcd3.GRPCGenericError,
  EtcdError: etcd3.EtcdError,
  EtcdWatchStreamEnded: etcd3.EtcdWatchStreamEnded,
  ClientClosedError: etcd3.ClientClosedError,
  ClientRuntimeError: etcd3.ClientRuntimeError,
};

/** An instance of `Class`, whatever its constructor expects (a message, a lease id, …). */
function instance(Class: ErrorClass): Error {
  return new (Class as unknown as new (message: string) => Error)("etcdserver: test");
}

for (const [name, Class] of Object.entries(answers)) {
  test(`etcdAnswered: ${name} is an answer from etcd (alive)`, (t) => {
    t.true(etcdAnswered(instance(Class)), `${name}: etcd answered, the request was wrong`);
  });
}

for (const [name, Class] of Object.entries(noAnswers)) {
  test(`etcdAnswered: ${name} is no answer (not alive)`, (t) => {
    t.false(etcdAnswered(instance(Class)), `${name}: etcd did not answer`);
  });
}

test("etcdAnswered: every error class etcd3 exports is classified above", (t) => {
  const exported = Object.entries(etcd3)
    .filter(
      ([, value]) =>
        typeof value === "function" && (value === Error || value.prototype instanceof Error),
    )
    .map(([name]) => name)
    .sort();
  const classified = [...Object.keys(answers), ...Object.keys(noAnswers)].sort();
  t.deepEqual(exported, classified, "classify each new etcd3 error class as answer or not");
});

test("etcdAnswered: the errors etcd3 casts from gRPC status codes classify by code", (t) => {
  const cast = (code: number, message: string): Error =>
    etcd3.castGrpcError(Object.assign(new Error(message), { code }));
  t.false(etcdAnswered(cast(14, "14 UNAVAILABLE: No connection established")), "unavailable");
  t.false(etcdAnswered(cast(4, "4 DEADLINE_EXCEEDED: Deadline exceeded")), "deadline exceeded");
  t.false(etcdAnswered(cast(15, "15 DATA_LOSS: lost")), "data loss");
  t.false(etcdAnswered(cast(2, "2 UNKNOWN: etcdserver: no leader")), "no leader");
  t.true(etcdAnswered(cast(7, "7 PERMISSION_DENIED: etcdserver: permission denied")));
  t.true(etcdAnswered(cast(3, "3 INVALID_ARGUMENT: etcdserver: key is not provided")));
  t.true(
    etcdAnswered(cast(3, "3 INVALID_ARGUMENT: etcdserver: user name is empty")),
    "an auth error is an answer",
  );
});

test("etcdAnswered: an open circuit breaker is no answer", (t) => {
  t.false(etcdAnswered(new BrokenCircuitError()), "cockatiel's BrokenCircuitError");
  t.false(etcdAnswered(new IsolatedCircuitError()), "an isolated circuit is open too");
});

test("etcdAnswered: a soft timeout is no answer", (t) => {
  t.false(etcdAnswered(new RequestTimeoutError("a liveness probe", 2000)));
});

test("etcdAnswered: anything else is no answer", (t) => {
  t.false(etcdAnswered(new Error("something")), "a plain Error");
  t.false(etcdAnswered(new TypeError("bad")), "a TypeError");
  t.false(etcdAnswered("a string"), "a thrown string");
  t.false(etcdAnswered(undefined), "undefined");
});
