/** What `npm run demo` prints after its first line, the same on every run and backend. */

/** The demo's story, with every revision written as `rev N`. */
export const DEMO_STORY = [
  "config absent at rev N: keeping nothing",
  "reload #1 rev N: workers=2 logLevel=info",
  "reload #2 rev N: workers=4 logLevel=info",
  "reload #3 rev N: workers=8 logLevel=debug",
  "reload #4 rev N: workers=8 logLevel=debug",
  "config absent at rev N: keeping workers=8 logLevel=debug",
  "config rejected at rev N: workers must be an integer from 1 to 64, got 0; keeping workers=8 logLevel=debug",
  "reload #5 rev N: workers=16 logLevel=warn",
  "stopped after 5 reloads: workers=16 logLevel=warn",
] as const;

/**
 * The lines of the demo's `stdout` after the first (which names the backend), with each
 * `rev <number>` written as `rev N`; and the revisions, in order, to check that they grow.
 */
export function demoStory(stdout: string): { lines: string[]; revisions: number[] } {
  const lines = stdout.trimEnd().split("\n").slice(1);
  const revisions = lines.flatMap((line) =>
    [...line.matchAll(/rev (\d+)/g)].map((m) => Number(m[1])),
  );
  return { lines: lines.map((line) => line.replace(/rev \d+/g, "rev N")), revisions };
}
