/**
 * The folder layout is the architecture: `src/event/` is the contract and shared
 * machinery and imports nothing built on it; values import `src/event/` but never the
 * package barrel. This test fails when an import points upward.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import test from "ava";

const srcRoot = resolve(import.meta.dirname, "../../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((match) =>
    relative(srcRoot, resolve(file, "..", match[1] ?? "")),
  );
}

test("layering: src/event/ imports nothing outside src/event/", (t) => {
  for (const file of sourceFiles(join(srcRoot, "event"))) {
    for (const target of relativeImports(file)) {
      t.true(target.startsWith("event/"), `${relative(srcRoot, file)} imports ${target}`);
    }
  }
});

test("layering: only src/index.ts re-exports; nothing imports the barrel", (t) => {
  for (const file of sourceFiles(srcRoot)) {
    for (const target of relativeImports(file)) {
      t.not(target, "index.js", `${relative(srcRoot, file)} imports the barrel`);
    }
  }
});
