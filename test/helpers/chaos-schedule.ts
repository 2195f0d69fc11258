/**
 * The chaos test's schedule: a seeded PRNG and the list of fault steps it draws, made
 * before anything runs so that a failing run can be printed and repeated exactly.
 */

import type { LinkMode } from "../harness/tcp-proxy.js";

/** mulberry32: a tiny seeded PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws from a PRNG. */
export class Random {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** One fault (or repair) of the schedule. Members and links are numbered 0–2. */
export type Action =
  | { readonly kind: "kill" | "restart" | "freeze" | "thaw"; readonly member: number }
  | { readonly kind: "link"; readonly member: number; readonly mode: LinkMode }
  | { readonly kind: "compact" };

/** A step: an action, then a pause of `pauseMs` before the next one. */
export interface Step {
  readonly action: Action;
  readonly pauseMs: number;
  /** Why the step is there, when it is not a random draw (e.g. `quorum lost`). */
  readonly note?: string;
}

/** Bounds of a schedule. */
export interface ScheduleOptions {
  /** Random steps, before the repairs that end every schedule. */
  readonly steps: number;
  readonly members: number;
}

type MemberState = "up" | "killed" | "frozen";

/**
 * Draws a schedule: `steps` random faults and repairs, valid in the state the previous
 * steps leave (never three members down; compaction only with a quorum), with one
 * quorum loss of 2–3.5 s somewhere in the middle third, then the repairs that bring every
 * member up and every link to `pass`. Draws again until the schedule has every kind of
 * fault (kill, freeze, black hole, drop, compaction), so each run exercises them all.
 */
export function makeSchedule(seed: number, options: ScheduleOptions): Step[] {
  const random = new Random(seed);
  for (;;) {
    const steps = draw(random, options);
    const kinds = new Set<string>(
      steps.map(({ action }) => (action.kind === "link" ? action.mode : action.kind)),
    );
    if (["kill", "freeze", "blackhole", "drop", "compact"].every((kind) => kinds.has(kind))) {
      return steps;
    }
  }
}

function draw(random: Random, { steps: count, members }: ScheduleOptions): Step[] {
  const state: MemberState[] = Array.from({ length: members }, () => "up");
  const links: LinkMode[] = Array.from({ length: members }, () => "pass");
  const steps: Step[] = [];
  const down = (): number[] => state.flatMap((s, i) => (s === "up" ? [] : [i]));
  const up = (): number[] => state.flatMap((s, i) => (s === "up" ? [i] : []));
  const pause = (): number => (random.chance(0.15) ? 0 : random.int(200, 1500));
  const fault = (member: number): Action => {
    const kind = random.pick(["kill", "freeze"] as const);
    state[member] = kind === "kill" ? "killed" : "frozen";
    return { kind, member };
  };
  const repair = (member: number): Action => {
    const kind = state[member] === "killed" ? "restart" : "thaw";
    state[member] = "up";
    return { kind, member };
  };
  const quorumLossAt = random.int(Math.floor(count / 3), Math.floor((2 * count) / 3));
  for (let i = 0; i < count; i++) {
    if (i === quorumLossAt) {
      // Two members down (killed or frozen) for a while, then one back.
      while (down().length < 2) {
        const action = fault(random.pick(up()));
        const lost = down().length >= 2;
        steps.push({
          action,
          pauseMs: lost ? random.int(2000, 3500) : 0,
          note: lost ? "quorum lost" : "quorum loss",
        });
      }
      steps.push({ action: repair(random.pick(down())), pauseMs: pause(), note: "quorum back" });
      continue;
    }
    const choices: (() => Action)[] = [];
    // A member fault only while every member is up or one is down: at most one down
    // outside the planned quorum loss.
    if (down().length === 0) choices.push(() => fault(random.pick(up())));
    if (down().length > 0) {
      choices.push(() => repair(random.pick(down())));
      // A frozen member may be killed too.
      const frozen = state.flatMap((s, m) => (s === "frozen" ? [m] : []));
      if (frozen.length > 0) {
        choices.push(() => {
          const member = random.pick(frozen);
          state[member] = "killed";
          return { kind: "kill", member };
        });
      }
    }
    const link = (): Action => {
      const member = random.int(0, members - 1);
      const modes = (["pass", "drop", "blackhole"] as const).filter((m) => m !== links[member]);
      const mode = random.pick(modes);
      links[member] = mode;
      return { kind: "link", member, mode };
    };
    choices.push(link, link); // links twice as likely as anything else
    choices.push(() => ({ kind: "compact" }));
    steps.push({ action: random.pick(choices)(), pauseMs: pause() });
  }
  // The end: every member up, every link passing.
  for (const member of down()) steps.push({ action: repair(member), pauseMs: 0, note: "end" });
  links.forEach((mode, member) => {
    if (mode !== "pass") {
      steps.push({ action: { kind: "link", member, mode: "pass" }, pauseMs: 0, note: "end" });
    }
  });
  return steps;
}

/** `kill m1`, `link m2 blackhole`, `compact`. */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case "compact":
      return "compact";
    case "link":
      return `link m${action.member} ${action.mode}`;
    default:
      return `${action.kind} m${action.member}`;
  }
}

/**
 * The schedule, one step a line, with when each step began if it ran (`ran[i]`, ms since
 * the first step); without `ran`, the plan only.
 */
export function formatSchedule(
  steps: readonly Step[],
  ran?: readonly (number | undefined)[],
): string {
  return steps
    .map((step, i) => {
      const at = ran?.[i];
      const when =
        ran === undefined
          ? ""
          : at === undefined
            ? "  (not run)"
            : `+${(at / 1000).toFixed(2).padStart(6)}s`;
      const note = step.note === undefined ? "" : `  [${step.note}]`;
      return `  ${String(i).padStart(2)} ${when}  ${describeAction(step.action).padEnd(20)} then ${step.pauseMs} ms${note}`;
    })
    .join("\n");
}
