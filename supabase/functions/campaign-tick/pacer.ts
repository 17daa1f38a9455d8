/**
 * Runs a tick's claimed sends on time: never before a message's `notBefore`, never after
 * its `sendBy` (the claim's tolerance: later, it is handed back, so no second ever holds
 * more than a number's rate, whichever tick sends it), at most `concurrency` requests in
 * flight; a send without a latest start keeps its number's claimed spacing even when that
 * number falls behind.
 * A slow request holds only its own slot: other numbers go on. One pacer lives for a whole
 * tick and is fed batch after batch (`add`), so spacing holds across batches. At
 * `deadline` (the tick's time budget) no new send starts; what did not start is reported
 * (`onNotStarted`, and in the report) so the caller can hand it back to the queue.
 *
 * Time comes from an injectable `Clock`, so tests run on a fake clock, exactly and fast.
 */

export interface Clock {
  /** Milliseconds on the same scale as `notBefore` and `deadline` (epoch ms by default). */
  now(): number;
  /** Resolves after `ms`, or early (without error) once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done);
    }),
};

export interface PacedSend<T> {
  /** The sending number (or Messaging Service): spacing and stops apply per key. */
  key: string;
  /** Earliest start, from the claim (spaced per sending number). */
  notBefore: number;
  /** Latest start (default: none); a send that cannot start by then is not started. */
  sendBy?: number;
  item: T;
}

export interface PacerOptions {
  /** Requests in flight at once, over all numbers. */
  concurrency: number;
  /** Requests in flight at once per number; default unbounded (spacing still holds). */
  perKeyConcurrency?: number;
  /** No send starts at or after this instant. */
  deadline: number;
  clock?: Clock;
  /** Told at once of each send that will not start (the report lists them too). */
  onNotStarted?: (skipped: NotStarted<unknown>) => void;
  /** Whether the report lists the sends that finished (default true; a long stream of
   * sends may rather not keep them all). */
  keepDone?: boolean;
}

/** What a send may tell the pacer: e.g. after `fatal_config`, stop its number or everything. */
export interface PacerControl {
  stopKey(key: string): void;
  stopAll(): void;
}

export interface Started<T, R> {
  send: PacedSend<T>;
  startedAt: number;
  result: R;
}

export interface Failed<T> {
  send: PacedSend<T>;
  startedAt: number;
  /** What `send` threw; sends should return failures as values, so this is a bug. */
  error: unknown;
}

export interface NotStarted<T> {
  send: PacedSend<T>;
  /** deadline: the tick's budget; late: past its sendBy; stopped: its number or all. */
  reason: "deadline" | "late" | "stopped";
}

export interface PacerReport<T, R> {
  /** In the order they finished. */
  done: Started<T, R>[];
  threw: Failed<T>[];
  /** In each key's order; the caller returns them to the queue. */
  notStarted: NotStarted<T>[];
}

interface Lane<T> {
  key: string;
  queue: PacedSend<T>[];
  inFlight: number;
  /** Start and notBefore of the last send started on this lane. */
  lastStart?: number;
  lastNotBefore?: number;
  stopped: boolean;
}

export interface Pacer<T, R> {
  /** More sends (each lane kept in notBefore order); refused once closed. */
  add(sends: readonly PacedSend<T>[]): void;
  /** Sends queued and not started. */
  queued(): number;
  /** Requests in flight. */
  inFlight(): number;
  /** Stops every send not started yet (reported as stopped). */
  stopAll(): void;
  /** No more sends will be added: resolves once every queued one started or was dropped. */
  close(): Promise<PacerReport<T, R>>;
}

/**
 * A pacer for a stream of sends: each starts at `max(notBefore, previous start on its key
 * + the claimed gap)` once a slot is free, if that is before its `sendBy` and `deadline`.
 */
export function createPacer<T, R>(
  send: (item: T, control: PacerControl, paced: PacedSend<T>) => Promise<R>,
  options: PacerOptions,
): Pacer<T, R> {
  const clock = options.clock ?? systemClock;
  const concurrency = positive(options.concurrency, "concurrency");
  const perKey = positive(options.perKeyConcurrency ?? Infinity, "perKeyConcurrency");
  const report: PacerReport<T, R> = { done: [], threw: [], notStarted: [] };
  const lanes = new Map<string, Lane<T>>();
  let queued = 0;
  let inFlight = 0;
  let stoppedAll = false;
  let closed = false;
  const running = new Set<Promise<void>>();
  // Wakes the scheduler when a send finishes, sends arrive, or a stop arrives.
  let wake = new AbortController();

  const drop = (lane: Lane<T>, reason: NotStarted<T>["reason"], all: boolean) => {
    const dropped = all ? lane.queue.splice(0) : lane.queue.splice(0, 1);
    queued -= dropped.length;
    for (const paced of dropped) {
      const skipped = { send: paced, reason };
      report.notStarted.push(skipped);
      options.onNotStarted?.(skipped as NotStarted<unknown>);
    }
  };

  const control: PacerControl = {
    stopKey(key) {
      let lane = lanes.get(key);
      if (!lane) {
        lane = { key, queue: [], inFlight: 0, stopped: false };
        lanes.set(key, lane);
      }
      if (!lane.stopped) {
        lane.stopped = true;
        wake.abort();
      }
    },
    stopAll() {
      stoppedAll = true;
      wake.abort();
    },
  };

  const start = (lane: Lane<T>, at: number) => {
    const paced = lane.queue.shift()!;
    queued--;
    lane.inFlight++;
    inFlight++;
    lane.lastStart = at;
    lane.lastNotBefore = paced.notBefore;
    const task: Promise<void> = (async () => {
      try {
        const result = await send(paced.item, control, paced);
        if (options.keepDone ?? true) report.done.push({ send: paced, startedAt: at, result });
      } catch (error) {
        report.threw.push({ send: paced, startedAt: at, error });
      } finally {
        lane.inFlight--;
        inFlight--;
        wake.abort();
      }
    })();
    running.add(task);
    task.then(() => running.delete(task));
  };

  const loop = async () => {
    while (true) {
      const now = clock.now();
      let next: { lane: Lane<T>; at: number } | undefined;
      for (const lane of lanes.values()) {
        if ((lane.stopped || stoppedAll) && lane.queue.length > 0) drop(lane, "stopped", true);
        while (lane.queue.length > 0) {
          const at = Math.max(now, earliestStart(lane));
          if (at >= options.deadline) {
            // Later sends on this lane start later still: none of them can make it.
            drop(lane, "deadline", true);
          } else if (at > (lane.queue[0].sendBy ?? Infinity)) {
            drop(lane, "late", false);
          } else {
            if (lane.inFlight < perKey && (!next || at < next.at)) next = { lane, at };
            break;
          }
        }
      }
      if (queued === 0 && inFlight === 0 && closed) break;

      if (next && inFlight < concurrency && next.at <= now) {
        start(next.lane, now);
        continue;
      }
      // Sleep until the next due start, or until a finish, an add or a stop changes the
      // picture.
      if (wake.signal.aborted) wake = new AbortController();
      const signal = wake.signal;
      if (next && inFlight < concurrency) {
        // The latest instant it may still start, at most: a late wake-up drops it.
        await clock.sleep(Math.min(next.at, options.deadline) - now, signal);
      } else if (inFlight > 0) {
        await Promise.race([
          ...running,
          new Promise<void>((resolve) => {
            if (signal.aborted) resolve();
            signal.addEventListener("abort", () => resolve(), { once: true });
          }),
        ]);
      } else if (queued > 0) {
        // Only lanes held by perKeyConcurrency with nothing in flight: cannot happen, but
        // never spin.
        await clock.sleep(Math.max(0, options.deadline - now), signal);
      } else {
        // Nothing queued, nothing in flight, not closed: wait for sends or the close.
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
      }
    }
    await Promise.all(running);
    return report;
  };
  const finished = loop();
  // Surfaced by close(); never an unhandled rejection meanwhile.
  finished.catch(() => {});

  return {
    add(sends) {
      if (closed) throw new Error("the pacer is closed");
      const touched = new Set<Lane<T>>();
      for (const paced of sends) {
        if (!Number.isFinite(paced.notBefore)) {
          throw new RangeError("notBefore must be a finite instant");
        }
      }
      for (const paced of sends) {
        let lane = lanes.get(paced.key);
        if (!lane) {
          lane = { key: paced.key, queue: [], inFlight: 0, stopped: false };
          lanes.set(paced.key, lane);
        }
        lane.queue.push(paced);
        touched.add(lane);
      }
      queued += sends.length;
      for (const lane of touched) lane.queue.sort((a, b) => a.notBefore - b.notBefore);
      wake.abort();
    },
    queued: () => queued,
    inFlight: () => inFlight,
    stopAll: () => control.stopAll(),
    close() {
      closed = true;
      wake.abort();
      return finished;
    },
  };
}

/**
 * Runs a fixed set of sends through one pacer and resolves when every started send has
 * finished.
 */
export async function runPaced<T, R>(
  sends: readonly PacedSend<T>[],
  send: (item: T, control: PacerControl, paced: PacedSend<T>) => Promise<R>,
  options: PacerOptions,
): Promise<PacerReport<T, R>> {
  const pacer = createPacer(send, options);
  pacer.add(sends);
  return await pacer.close();
}

/**
 * A send with a latest start goes at its slot (its tolerance bounds how late it may be:
 * the slots' spacing accounts for it, and carrying one send's small delay over to the
 * next would only add up). Without one, the claimed gap to the previous send on the same
 * key is kept once the key is behind.
 */
function earliestStart<T>(lane: Lane<T>): number {
  const head = lane.queue[0];
  if (head.sendBy !== undefined) return head.notBefore;
  if (lane.lastStart === undefined || lane.lastNotBefore === undefined) return head.notBefore;
  return Math.max(head.notBefore, lane.lastStart + (head.notBefore - lane.lastNotBefore));
}

function positive(value: number, name: string): number {
  if (!(value >= 1)) throw new RangeError(`${name} must be at least 1`);
  return value;
}
