/**
 * The checks of the lock and election chaos test (test/helpers/chaos-tenures.ts) find
 * what they claim to: overlapping tenures, two holders of a term, a predecessor whose
 * signal had not aborted when its successor wrote.
 */

import test from "ava";
import { type Held, TenureHistory } from "../helpers/chaos-tenures.js";

function held(createRevision: number): Held & { lose(): void } {
  const controller = new AbortController();
  return {
    key: `/line/${createRevision}`,
    createRevision,
    signal: controller.signal,
    lease: { id: String(createRevision) },
    lose: () => controller.abort(new Error("lost")),
  };
}

test("writes in the order of the terms, each predecessor aborted first: no violation", (t) => {
  const history = new TenureHistory("lock");
  const a = held(10);
  const first = history.held("a", a);
  history.accepted(first, 11);
  history.accepted(first, 12);
  a.lose();
  const second = history.held("b", held(13));
  history.accepted(second, 14);
  t.deepEqual(history.check(), []);
});

test("a write of an earlier term after a later term's write is an overlap", (t) => {
  const history = new TenureHistory("lock");
  const a = held(10);
  const first = history.held("a", a);
  history.accepted(first, 11);
  a.lose();
  const second = history.held("b", held(13));
  history.accepted(second, 14);
  history.accepted(first, 15);
  t.is(history.check().length, 1);
  t.regex(history.check()[0] as string, /a \(term 10\) wrote at revision 15, after b \(term 13\)/);
});

test("a successor's first acknowledged write while a predecessor's signal is not aborted is a violation", (t) => {
  const history = new TenureHistory("lock");
  history.held("a", held(10));
  const second = history.held("b", held(13));
  history.accepted(second, 14);
  t.regex(history.check()[0] as string, /a's signal \(term 10\) had not aborted/);
});

test("two holders of one term is a violation", (t) => {
  const history = new TenureHistory("election");
  history.held("a", held(10));
  history.held("b", held(10));
  t.regex(history.check()[0] as string, /b and a both hold term \(create revision\) 10/);
});
