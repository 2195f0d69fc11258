/** What `npm run demo` prints after its first line (which names the backend), and its rules. */

/** The demo's story, the same on every run and on both backends. */
export const DEMO_STORY = [
  "operator: config workers=2 logLevel=info",
  "replica-a: campaigning",
  "replica-a: leading",
  "replica-a: registered",
  "replica-a: applied workers=2 logLevel=info, status written",
  "replica-b: campaigning",
  "observer: candidates replica-a, replica-b",
  "observer: leader replica-a; registered replica-a; status workers=2 logLevel=info by replica-a (write #1)",
  "operator: config workers=0 logLevel=info",
  "replica-a: config not applied (workers must be an integer from 1 to 64, got 0); keeping workers=2 logLevel=info",
  "operator: config workers=4 logLevel=info",
  "replica-a: applied workers=4 logLevel=info, status written",
  "demo: stopping replica-a (as on SIGTERM)",
  "replica-a: deregistered",
  "replica-a: leadership ended (released)",
  "replica-b: leading",
  "replica-b: registered",
  "replica-b: applied workers=4 logLevel=info, status written",
  "observer: leader replica-b; registered replica-b; status workers=4 logLevel=info by replica-b (write #3)",
  "operator: config workers=8 logLevel=debug",
  "replica-b: applied workers=8 logLevel=debug, status written",
  "demo: stopping replica-b",
  "replica-b: deregistered",
  "replica-b: leadership ended (released)",
  "observer: leader none; registered nobody; status workers=8 logLevel=debug by replica-b (write #4)",
] as const;

/** The lines of the demo's `stdout` after the first. */
export function demoStory(stdout: string): string[] {
  return stdout.trimEnd().split("\n").slice(1);
}

/** What {@link checkStory} found. */
export interface StoryCheck {
  /** The replicas that led, in order. */
  leaders: string[];
  /** Each broken rule, with the line (1-based, after the first) that broke it. */
  violations: string[];
}

/**
 * Checks the story's rules line by line, whatever the exact wording of other lines:
 * - one leader at a time: `X: leading` only when nobody leads, `X: leadership ended`
 *   only by the leader;
 * - only the leader registers, writes status (`X: applied …, status written`) and
 *   deregisters, and it deregisters before its leadership ends;
 * - a leader stops leading only after `demo: stopping X`, and the next leads only after
 *   that (takeover after stop);
 * - the observer's `leader …` is the leader of the moment (`none` between leaders).
 */
export function checkStory(lines: readonly string[]): StoryCheck {
  const leaders: string[] = [];
  const violations: string[] = [];
  let leader: string | undefined;
  let registered = false;
  const stopping = new Set<string>();
  lines.forEach((line, index) => {
    const broken = (rule: string) => violations.push(`line ${index + 1} "${line}": ${rule}`);
    const stop = /^demo: stopping (\S+)/.exec(line);
    if (stop?.[1] !== undefined) stopping.add(stop[1]);
    const observed = /^observer: leader (\S+);/.exec(line);
    if (observed && observed[1] !== (leader ?? "none")) {
      broken(`the observer must see the leader of the moment, ${leader ?? "none"}`);
    }
    const step = /^(replica-\S+): (.*)$/.exec(line);
    if (step === null) return;
    const [, name = "", what = ""] = step;
    if (what === "leading") {
      if (leader !== undefined) broken(`${leader} still leads: one leader at a time`);
      leader = name;
      leaders.push(name);
    } else if (what.startsWith("leadership ended")) {
      if (leader !== name) broken("only the leader's leadership can end");
      if (!stopping.has(name)) broken("leadership ends only after the demo stops it");
      if (registered) broken("the leader deregisters before its leadership ends");
      leader = undefined;
    } else if (what === "registered" || what === "deregistered" || /status written$/.test(what)) {
      if (leader !== name)
        broken(`only the leader may do this; the leader is ${leader ?? "nobody"}`);
      if (what === "registered") registered = true;
      if (what === "deregistered") registered = false;
    }
  });
  return { leaders, violations };
}
