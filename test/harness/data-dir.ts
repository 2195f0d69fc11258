import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trackDir, untrackDir } from "./cleanup.js";

/** Where data dirs go: `/dev/shm` when it exists (memory, faster), else `os.tmpdir()`. */
export function dataDirBase(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}

/**
 * Creates a fresh, empty, mode-0700 directory for the member `name`, deleted when the
 * worker exits if {@link removeDataDir} was not called first.
 */
export async function makeDataDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(dataDirBase(), `event-value-etcd-${name}-`));
  trackDir(dir);
  return dir;
}

/** Empties `dir` (keeps the directory itself, mode 0700). */
export async function emptyDataDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
}

/** Deletes `dir` and everything in it. */
export async function removeDataDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  untrackDir(dir);
}
