/**
 * README example and the demo's controller: the config controller run as replicas, each
 * with its own client, of which only the elected leader acts. `npm run demo` runs two of
 * them (examples/demo.ts); test/etcd/examples.test.ts and test/unit/examples.test.ts run
 * the demo on etcd and on `MemoryEtcd`.
 *
 * A replica campaigns with `EtcdElection`; while it leads, it registers itself with an
 * `EtcdTempKey`, hot-reloads the config from an `EtcdValue` and records each config it
 * applies with `update`, guarded by its leadership (etcd refuses the write once another
 * replica leads). When its leadership is lost it campaigns again; when its `signal`
 * aborts it steps down: deregisters, then resigns, so that the next replica leads.
 *
 * The parts between `// #region NAME` and `// #endregion` are copied into README.md
 * (with `../src/index.js` written as `event-value`); test/unit/examples.test.ts checks
 * that they match.
 *
 * @module
 */

// #region imports
import type { Etcd3, Namespace } from "etcd3";
import {
  codecs,
  decoders,
  EtcdElection,
  EtcdTempKey,
  EtcdValue,
  type Leadership,
  LostError,
} from "../src/index.js";
import { type AppConfig, formatConfig, validateConfig } from "./config-controller.js";
// #endregion

// #region status
/** What the leader records at `status` after applying a config. */
export interface ControllerStatus {
  /** The replica that applied `config`. */
  leader: string;
  config: AppConfig;
  /** How many status writes so far, by every leader (each adds one). */
  writes: number;
}
// #endregion

// #region campaign
/**
 * Runs replica `name` until `signal` aborts, then resolves once it has stepped down.
 * Keys are relative to `client` (give each replica its own client, or a namespace of
 * it): the election `leader/`, the config `config`, the status `status` and the
 * registry `replicas/`. Logs one line per step, prefixed with `name`.
 */
export async function runReplica(
  client: Etcd3 | Namespace,
  name: string,
  signal: AbortSignal,
  log: (line: string) => void = console.log,
): Promise<void> {
  const election = new EtcdElection(client, "leader", { codec: codecs.text });
  while (!signal.aborted) {
    log(`${name}: campaigning`);
    let leadership: Leadership<string>;
    try {
      leadership = await election.campaign(name, { signal }); // waits in line
    } catch (error) {
      if (signal.aborted) return; // stopped while waiting: the key is removed
      if (error instanceof LostError) continue; // lost our place in line: again
      throw error;
    }
    await lead(client, name, leadership, signal, log); // until stopped or deposed
  }
}
// #endregion

// #region lead
/** Acts as the leader until `stop` aborts or `leadership` is lost, then steps down. */
async function lead(
  client: Etcd3 | Namespace,
  name: string,
  leadership: Leadership<string>,
  stop: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  log(`${name}: leading`);
  const ended = () => {
    const reason = leadership.signal.reason;
    log(`${name}: leadership ended (${reason instanceof LostError ? reason.reason : reason})`);
  };
  // It may be lost already: an abort listener added after the abort never runs.
  if (leadership.signal.aborted) ended();
  else leadership.signal.addEventListener("abort", ended, { once: true });
  const leading = AbortSignal.any([stop, leadership.signal]);
  const config = new EtcdValue(client, "config", { decoder: decoders.json<AppConfig>() });
  const status = new EtcdValue(client, "status", { codec: codecs.json<ControllerStatus>() });
  const registration = new EtcdTempKey(client, `replicas/${name}`, name); // ephemeral
  try {
    await using registered = registration.watch();
    await registered.get({ filter: (present) => present, signal: leading });
    log(`${name}: registered`);
    let applied: AppConfig | undefined;
    for await (const next of config.watch({ signal: leading })) {
      const problem = next === undefined ? "it is absent" : validateConfig(next);
      if (next === undefined || problem !== undefined) {
        log(`${name}: config not applied (${problem}); keeping ${formatConfig(applied)}`);
        continue;
      }
      applied = next; // apply it: resize a pool, set a log level…
      // Fenced: etcd writes the status only while this leadership holds.
      const written = await status.update(
        (current) => ({ leader: name, config: next, writes: (current?.writes ?? 0) + 1 }),
        { guard: leadership, signal: leading },
      );
      if (!written.ok) {
        log(`${name}: status write refused: no longer the leader`); // reason: "guard"
        break;
      }
      log(`${name}: applied ${formatConfig(next)}, status written`);
    }
  } catch (error) {
    if (!leading.aborted) throw error; // else stopped or deposed while waiting or writing
  } finally {
    await registration.close(); // deletes the registration
    log(`${name}: deregistered`);
    await leadership.resign(); // its signal aborts, then the next candidate leads
  }
}
// #endregion
