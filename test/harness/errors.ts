/**
 * Errors thrown by the etcd test harness. Each names what went wrong and, where a
 * process was involved, carries the tail of its log so a failed start explains itself.
 */

/** Base class of every harness error. */
export class EtcdHarnessError extends Error {
  override name = "EtcdHarnessError";
}

/** No way to get an etcd was found; the message says how to install one. */
export class EtcdUnavailableError extends EtcdHarnessError {
  override name = "EtcdUnavailableError";
}

/**
 * A member did not become healthy: its process exited, or it did not answer in time.
 * `logTail` holds the last lines of its stderr; the message includes them too.
 */
export class EtcdStartError extends EtcdHarnessError {
  override name = "EtcdStartError";
  /** The member's name, e.g. `m0`. */
  readonly member: string;
  /** The last lines (at most 200) the member wrote to stderr. */
  readonly logTail: readonly string[];
  /** True when the member died because one of its ports was taken. */
  readonly portInUse: boolean;

  constructor(
    member: string,
    reason: string,
    logTail: readonly string[],
    portInUse: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      `etcd member ${member} ${reason}\n--- last ${logTail.length} log lines of ${member} ---\n${logTail.join("\n")}`,
      options,
    );
    this.member = member;
    this.logTail = logTail;
    this.portInUse = portInUse;
  }
}

/** A call needs member control (kill, freeze, restart, wipe) on a cluster the harness did not spawn. */
export class MemberControlError extends EtcdHarnessError {
  override name = "MemberControlError";
}

/** A bounded wait ran out; the message says what was awaited and the last observation. */
export class EtcdTimeoutError extends EtcdHarnessError {
  override name = "EtcdTimeoutError";
}
