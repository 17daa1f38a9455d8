/**
 * Background work of the sandbox (status-callback sequences) with every timer and
 * fetch tied to an AbortSignal, so `cancelAll()` and `close()` stop it at once and
 * Deno's test sanitizers never see a leaked timer or request.
 */

export class TaskGroup {
  #controller = new AbortController();
  #running = new Set<Promise<void>>();
  #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Signal of the current generation of tasks; aborted by `cancelAll()` and `close()`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Starts `work` in the background; its failures are reported, never thrown. */
  run(work: (signal: AbortSignal) => Promise<void>): void {
    const signal = this.#controller.signal;
    const task = work(signal).catch((error) => {
      if (!signal.aborted) this.#onError(error);
    }).finally(() => this.#running.delete(task));
    this.#running.add(task);
  }

  /** Stops everything running and lets new tasks start afresh. */
  cancelAll(): void {
    this.#controller.abort();
    this.#controller = new AbortController();
  }

  /** Stops everything running and waits until it has wound down. */
  async close(): Promise<void> {
    this.#controller.abort();
    await Promise.allSettled([...this.#running]);
  }
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts, clearing its timer either way. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
