/**
 * `etcd3` is a peer dependency, yet an application can still end up with two copies
 * (a nested install, a bundler): the library then sees the user's client's errors as
 * instances of classes it did not import. It classifies them by class name as a
 * fallback to `instanceof`, so "permission denied" from the other copy is still
 * permanent (not retried forever) and the other copy's transient errors still transient.
 */

import test from "ava";
import * as etcd3 from "etcd3";
import * as copy from "etcd3-copy";
import { etcdAnswered, isPermanentFailure } from "../../src/etcd/classify.js";

test("second copy: the test really has two copies of etcd3", (t) => {
  t.not(copy.EtcdPermissionDeniedError, etcd3.EtcdPermissionDeniedError);
  t.false(new copy.EtcdPermissionDeniedError("x") instanceof etcd3.EtcdPermissionDeniedError);
});

test("second copy: permission denied, bad credentials and a closed client are permanent", (t) => {
  for (const error of [
    new copy.EtcdPermissionDeniedError("etcdserver: permission denied"),
    new copy.EtcdAuthenticationFailedError("etcdserver: authentication failed"),
    new copy.GRPCUnauthenticatedError("unauthenticated"),
    new copy.ClientClosedError("KV"),
  ]) {
    t.true(isPermanentFailure(error), `${error.constructor.name} of the other copy is permanent`);
  }
});

test("second copy: unavailable, deadline exceeded and an expired token stay transient", (t) => {
  for (const error of [
    new copy.GRPCUnavailableError("unavailable"),
    new copy.GRPCDeadlineExceededError("deadline"),
    new copy.EtcdInvalidAuthTokenError("etcdserver: invalid auth token"),
  ]) {
    t.false(isPermanentFailure(error), `${error.constructor.name} of the other copy is transient`);
  }
});

test("second copy: an answer from etcd is recognised as one", (t) => {
  t.true(etcdAnswered(new copy.GRPCOutOfRangeError("compacted")));
  t.false(etcdAnswered(new copy.GRPCUnavailableError("unavailable")));
});
