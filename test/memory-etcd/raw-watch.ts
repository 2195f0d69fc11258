/**
 * A raw etcd watch stream (etcd3's `WatchClient`, no `Watcher` bookkeeping) for tests
 * that assert exact responses: created, cancel, progress, batches.
 */

import type { Etcd3, IWatchRequest, IWatchResponse } from "etcd3";

/** A raw stream whose responses are read in order. */
export interface RawWatch {
  write(request: IWatchRequest): void;
  /** The next response (waits for it). */
  next(): Promise<IWatchResponse>;
  /** Responses received and not yet read. */
  readonly buffered: number;
  /** Resolves with the error that ended the stream. */
  readonly ended: Promise<Error>;
  close(): void;
}

/** Opens a raw watch stream on `client`. */
export async function openRawWatch(client: Etcd3): Promise<RawWatch> {
  const stream = await client.watchClient.watch();
  const queue: IWatchResponse[] = [];
  const waiting: ((response: IWatchResponse) => void)[] = [];
  stream.on("data", (response: IWatchResponse) => {
    const waiter = waiting.shift();
    if (waiter) waiter(response);
    else queue.push(response);
  });
  const ended = new Promise<Error>((resolve) => {
    stream.on("error", resolve);
    stream.on("end", () => resolve(new Error("ended")));
  });
  return {
    write: (request) => stream.write(request),
    next: () => {
      const response = queue.shift();
      if (response) return Promise.resolve(response);
      return new Promise((resolve) => waiting.push(resolve));
    },
    get buffered() {
      return queue.length;
    },
    ended,
    close: () => {
      stream.end();
      stream.cancel();
    },
  };
}
