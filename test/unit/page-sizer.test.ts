/**
 * Page sizes of a range read (`src/etcd/page-sizer.ts`): small at first, then sized by
 * bytes and by time from the pages read, halved when too large or abandoned, never
 * below one key, never above the most keys allowed.
 */

import test from "ava";
import { FIRST_PAGE_KEYS, PAGE_BYTES, PageSizer } from "../../src/etcd/page-sizer.js";

const KIB = 1024;

test("limit: the first page is small", (t) => {
  t.is(new PageSizer(1000).limit, FIRST_PAGE_KEYS);
  t.is(new PageSizer(10).limit, 10, "never above the most keys allowed");
});

test("fitted: small values on a fast link grow the page, at most 4 times per page", (t) => {
  const sizer = new PageSizer(1000);
  sizer.fitted(64, 64, 64 * 100, 2);
  t.is(sizer.limit, 256);
  sizer.fitted(256, 256, 256 * 100, 2);
  t.is(sizer.limit, 1000, "capped by the most keys allowed");
});

test("fitted: large values keep a page near PAGE_BYTES", (t) => {
  const sizer = new PageSizer(1000);
  sizer.fitted(64, 64, 64 * 20 * KIB, 5); // a fast link
  t.is(sizer.limit, Math.floor(PAGE_BYTES / (20 * KIB)));
});

test("fitted: a slow page shrinks the next one to about a second's worth", (t) => {
  const sizer = new PageSizer(1000);
  // 64 × 40 KiB in 1250 ms: 2 MiB/s, so a second holds 1 MiB = 25 keys.
  sizer.fitted(64, 64, 64 * 40 * KIB, 1250);
  t.is(sizer.limit, 25);
  // At 200 KiB/s a second holds 5 keys.
  sizer.fitted(25, 25, 25 * 40 * KIB, 5000);
  t.is(sizer.limit, 5);
});

test("shrink: halves, down to one key", (t) => {
  const sizer = new PageSizer(1000);
  sizer.shrink(64);
  t.is(sizer.limit, 32);
  for (let i = 0; i < 10; i++) sizer.shrink(sizer.limit);
  t.is(sizer.limit, 1, "a page of one key is always possible");
});

test("fitted: an empty page changes nothing", (t) => {
  const sizer = new PageSizer(1000);
  sizer.fitted(64, 0, 0, 1);
  t.is(sizer.limit, FIRST_PAGE_KEYS);
});
