/**
 * Per-test timing for benchmark row 13: when `EVENT_VALUE_TEST_TIMES` names a file, every
 * test registered through {@link timedTest} appends one JSON line to it once its body has
 * settled: `{"label": "memory", "title": "...", "ms": 12.3}`. Hooks (a member's start, a
 * leak check) are not timed, nor is ava's own start: the figure is the time the tests
 * themselves take. Unset (the default), tests are registered unchanged.
 */

import { appendFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { TestFn } from "ava";

/** One line of the times file. */
export interface TestTime {
  readonly label: string;
  readonly title: string;
  readonly ms: number;
}

/** The environment variable naming the times file. */
export const TEST_TIMES_ENV = "EVENT_VALUE_TEST_TIMES";

/** Members of an ava `test` that register tests (the rest register hooks or are helpers). */
const REGISTERING = new Set(["serial", "failing", "only"]);

/**
 * `test`, whose tests (not hooks) record their duration under `label` when
 * `EVENT_VALUE_TEST_TIMES` is set; `test` itself otherwise.
 */
export function timedTest<Context>(test: TestFn<Context>, label: string): TestFn<Context> {
  const file = process.env[TEST_TIMES_ENV];
  if (file === undefined || file === "") return test;
  return timed(test, (title, ms) => {
    const line: TestTime = { label, title, ms };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}

function timed<T extends object>(target: T, record: (title: string, ms: number) => void): T {
  return new Proxy(target, {
    apply(fn, thisArg, args: unknown[]) {
      const [title, body, ...rest] = args;
      if (typeof title !== "string" || typeof body !== "function") {
        return Reflect.apply(fn as (...a: unknown[]) => unknown, thisArg, args);
      }
      const wrapped = async (...bodyArgs: unknown[]) => {
        const start = performance.now();
        try {
          return await (body as (...a: unknown[]) => unknown)(...bodyArgs);
        } finally {
          record(title, performance.now() - start);
        }
      };
      return Reflect.apply(fn as (...a: unknown[]) => unknown, thisArg, [title, wrapped, ...rest]);
    },
    get(object, property, receiver) {
      const member: unknown = Reflect.get(object, property, receiver);
      return typeof member === "function" &&
        typeof property === "string" &&
        REGISTERING.has(property)
        ? timed(member, record)
        : member;
    },
  });
}
