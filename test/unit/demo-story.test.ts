/**
 * The demo tests' rule checker (test/helpers/demo-story.ts) finds each broken rule: a
 * checker that found nothing would let a wrong story pass.
 */

import test from "ava";
import { checkStory, DEMO_STORY } from "../helpers/demo-story.js";

/** The demo's story with line `index` (0-based) replaced by `lines`. */
function edited(index: number, ...lines: string[]): string[] {
  const story: string[] = [...DEMO_STORY];
  story.splice(index, 1, ...lines);
  return story;
}

const at = (line: string): number => DEMO_STORY.indexOf(line as (typeof DEMO_STORY)[number]);

test("checkStory: the demo's story keeps every rule, with replica-a then replica-b leading", (t) => {
  t.deepEqual(checkStory(DEMO_STORY), { leaders: ["replica-a", "replica-b"], violations: [] });
});

test("checkStory: a second leader while one leads breaks one leader at a time", (t) => {
  const story = edited(
    at("replica-b: campaigning"),
    "replica-b: campaigning",
    "replica-b: leading",
  );
  t.regex(checkStory(story).violations.join("\n"), /replica-a still leads: one leader at a time/);
});

test("checkStory: a status write by a replica that does not lead is reported", (t) => {
  const story = edited(
    at("replica-b: campaigning"),
    "replica-b: applied workers=2 logLevel=info, status written",
  );
  t.regex(
    checkStory(story).violations.join("\n"),
    /only the leader may do this; the leader is replica-a/,
  );
});

test("checkStory: leadership that ends before the demo stops the leader breaks takeover after stop", (t) => {
  const stop = "demo: stopping replica-a (as on SIGTERM)";
  const story: string[] = DEMO_STORY.filter((line) => line !== stop);
  story.splice(story.indexOf("replica-b: registered"), 0, stop); // after the takeover
  t.regex(checkStory(story).violations.join("\n"), /leadership ends only after the demo stops it/);
});

test("checkStory: an observer that sees another leader than the one of the moment is reported", (t) => {
  const seen = "observer: leader replica-b; registered replica-b;";
  const story = DEMO_STORY.map((line) =>
    line.startsWith(seen) ? line.replace("leader replica-b", "leader replica-a") : line,
  );
  t.regex(
    checkStory(story).violations.join("\n"),
    /the observer must see the leader of the moment, replica-b/,
  );
});
