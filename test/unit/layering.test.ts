/**
 * The folder layout is the architecture, bottom up: `src/event/` (the contract and
 * shared machinery), `src/etcd-types/` (public etcd types: status, diagnostics, options,
 * guards, write results), `src/etcd/` (etcd internals), `src/coordination/` (the
 * machinery of locks and elections), then the values at the top of `src/`. Each layer
 * imports only itself and the layers below, type-only imports included; nothing imports
 * the package barrel. This test fails when an import points upward.
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

/** Every relative import and re-export of `file`, `import type` and `import("…")` included. */
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

test("layering: src/etcd-types/ imports only src/event/ and itself", (t) => {
  const files = sourceFiles(join(srcRoot, "etcd-types"));
  t.true(files.length > 0, "src/etcd-types/ holds the public etcd types");
  for (const file of files) {
    for (const target of relativeImports(file)) {
      t.true(
        target.startsWith("event/") || target.startsWith("etcd-types/"),
        `${relative(srcRoot, file)} imports ${target}`,
      );
    }
  }
});

test("layering: src/etcd/ imports only src/event/, src/etcd-types/ and itself", (t) => {
  for (const file of sourceFiles(join(srcRoot, "etcd"))) {
    for (const target of relativeImports(file)) {
      t.true(
        ["event/", "etcd-types/", "etcd/"].some((layer) => target.startsWith(layer)),
        `${relative(srcRoot, file)} imports ${target}`,
      );
    }
  }
});

test("layering: src/coordination/ imports only src/event/, src/etcd-types/, src/etcd/ and itself", (t) => {
  for (const file of sourceFiles(join(srcRoot, "coordination"))) {
    for (const target of relativeImports(file)) {
      t.true(
        ["event/", "etcd-types/", "etcd/", "coordination/"].some((layer) =>
          target.startsWith(layer),
        ),
        `${relative(srcRoot, file)} imports ${target}`,
      );
    }
  }
});
