/**
 * MemoryEtcd must not share code, and so bugs, with the library it helps test:
 * `src/memory-etcd/` imports only its own files, `etcd3`, `@grpc/proto-loader` and
 * node's built-ins.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import test from "ava";

const folder = resolve(import.meta.dirname, "../../src/memory-etcd");
const allowed = /^(\.\/[\w-]+\.js|etcd3|@grpc\/proto-loader|node:[\w/]+)$/;

test("layering: src/memory-etcd/ imports only itself, etcd3, @grpc/proto-loader and node", (t) => {
  const files = readdirSync(folder).filter((name) => name.endsWith(".ts"));
  t.true(files.length > 0);
  for (const file of files) {
    const text = readFileSync(join(folder, file), "utf8");
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      t.regex(match[1] ?? "", allowed, `${file} imports ${match[1]}`);
    }
  }
});
