/**
 * The package as a user gets it: `npm pack` (whose `prepare` builds `dist/`), then the
 * tarball installed with its peer dependency `etcd3` into a new project outside the
 * repository. There, a plain ESM program runs against a real etcd member, the shipped
 * declarations type-check a TypeScript file (`skipLibCheck: false`), and every source
 * map names a source file that ships with the package. Needs the npm registry (or a
 * warm npm cache) for etcd3 and @types/node.
 */

import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { withCluster } from "../harness/ava.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const fixtures = resolve(import.meta.dirname, "fixtures");
const cluster = withCluster(test, { members: 1 });

/** The temporary directory: the tarball, and the project in `app/`. */
let dir: string | undefined;
test.after.always(() =>
  dir === undefined ? undefined : rm(dir, { recursive: true, force: true }),
);

/** Packs the repository and installs the tarball into a new project; resolves with its directory. */
async function installedProject(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), "event-value-installed-"));
  const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
    peerDependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const app = join(dir, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), '{ "private": true, "type": "module" }\n');
  for (const file of ["app.mjs", "app.ts", "tsconfig.json"]) {
    await copyFile(join(fixtures, file), join(app, file));
  }
  await run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      join(dir, filename),
      `etcd3@${manifest.peerDependencies.etcd3}`,
      `@types/node@${manifest.devDependencies["@types/node"]}`,
    ],
    { cwd: app, maxBuffer: 64 * 1024 * 1024 },
  );
  return app;
}

/** The installed project, made once (at first use) for the tests of this file. */
let project: Promise<string> | undefined;
const installed = (): Promise<string> => {
  project ??= installedProject();
  return project;
};

test("package: an ESM program runs against etcd from the installed tarball", async (t) => {
  const app = await installed();
  const { stdout } = await run(process.execPath, ["app.mjs"], {
    cwd: app,
    env: { ...process.env, ETCD_ENDPOINTS: cluster().endpoints.join(",") },
  });
  t.is(stdout, "memory: ok\netcd: workers=3\ndone\n");
});

test("package: the shipped declarations type-check a TypeScript program", async (t) => {
  const app = await installed();
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  const result = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app }).then(
    () => "",
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  t.is(result, "", "tsc reports no error");
});

test("package: every source map names sources that ship with the package", async (t) => {
  const app = await installed();
  const pkg = join(app, "node_modules/event-value");
  const maps = (await readdir(join(pkg, "dist"), { recursive: true })).filter((f) =>
    f.endsWith(".map"),
  );
  t.true(maps.length > 0, "dist has source maps");
  const missing: string[] = [];
  for (const map of maps) {
    const file = join(pkg, "dist", map);
    const { sources } = JSON.parse(await readFile(file, "utf8")) as { sources: string[] };
    for (const source of sources) {
      const path = resolve(dirname(file), source);
      await readFile(path).catch(() => missing.push(relative(pkg, path)));
    }
  }
  t.deepEqual(missing, [], "each source a map names is in the package");
});
