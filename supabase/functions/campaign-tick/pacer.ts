/**
 * Runs a tick's claimed sends on time: never before a message's `notBefore`, at most
 * `concurrency` requests in flight, and with each sending number's spacing kept even when
 * that number falls behind. A slow request holds only its own slot: other numbers go on.
 * At `deadline` (the tick's time budget) no new send starts; what did not start is
 * reported so the caller can hand it back to the queue.
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
  /** Earliest start, from the claim (spaced 1/mps per sending number). */
  notBefore: number;
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
  reason: "deadline" | "stopped";
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

/**
 * Starts each send at `max(notBefore, previous start on its key + the claimed gap)` once a
 * slot is free and before `deadline`; resolves when every started send has finished.
 */
export async function runPaced<T, R>(
  sends: readonly PacedSend<T>[],
  send: (item: T, control: PacerControl, paced: PacedSend<T>) => Promise<R>,
  options: PacerOptions,
): Promise<PacerReport<T, R>> {
  const clock = options.clock ?? systemClock;
  const concurrency = positive(options.concurrency, "concurrency");
  const perKey = positive(options.perKeyConcurrency ?? Infinity, "perKeyConcurrency");
  const report: PacerReport<T, R> = { done: [], threw: [], notStarted: [] };
  const lanes = lanesOf(sends);
  let inFlight = 0;
  let stoppedAll = false;
  const running = new Set<Promise<void>>();
  // Wakes the scheduler when a send finishes or a stop arrives.
  let wake = new AbortController();

  const control: PacerControl = {
    stopKey(key) {
      const lane = lanes.get(key);
      if (lane && !lane.stopped) {
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
    lane.inFlight++;
    inFlight++;
    lane.lastStart = at;
    lane.lastNotBefore = paced.notBefore;
    const task: Promise<void> = (async () => {
      try {
        const result = await send(paced.item, control, paced);
        report.done.push({ send: paced, startedAt: at, result });
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

  while (true) {
    for (const lane of lanes.values()) {
      if ((lane.stopped || stoppedAll) && lane.queue.length > 0) {
        for (const paced of lane.queue.splice(0)) {
          report.notStarted.push({ send: paced, reason: "stopped" });
        }
      }
    }
    const now = clock.now();
    let next: { lane: Lane<T>; at: number } | undefined;
    for (const lane of lanes.values()) {
      if (lane.queue.length === 0) continue;
      const at = earliestStart(lane);
      if (at >= options.deadline || now >= options.deadline) {
        // Later sends on this lane start later still: none of them can make it.
        for (const paced of lane.queue.splice(0)) {
          report.notStarted.push({ send: paced, reason: "deadline" });
        }
        continue;
      }
      if (lane.inFlight >= perKey) continue;
      if (!next || at < next.at) next = { lane, at };
    }
    const waiting = [...lanes.values()].some((lane) => lane.queue.length > 0);
    if (!waiting && inFlight === 0) break;

    if (next && inFlight < concurrency && next.at <= now) {
      start(next.lane, now);
      continue;
    }
    // Sleep until the next due start, or until a finish or stop changes the picture.
    if (wake.signal.aborted) wake = new AbortController();
    const signal = wake.signal;
    if (next && inFlight < concurrency) {
      await clock.sleep(Math.min(next.at, options.deadline) - now, signal);
    } else if (inFlight > 0) {
      await Promise.race([
        ...running,
        new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener("abort", () => resolve(), { once: true });
        }),
      ]);
    } else if (waiting) {
      // Only lanes held by perKeyConcurrency with nothing in flight: cannot happen, but
      // never spin.
      await clock.sleep(Math.max(0, options.deadline - now), signal);
    }
  }
  await Promise.all(running);
  return report;
}

/** Keeps the claimed gap to the previous send on the same key once the key is behind. */
function earliestStart<T>(lane: Lane<T>): number {
  const head = lane.queue[0];
  if (lane.lastStart === undefined || lane.lastNotBefore === undefined) return head.notBefore;
  return Math.max(head.notBefore, lane.lastStart + (head.notBefore - lane.lastNotBefore));
}

/** One lane per key, each in notBefore order (stable for equal instants). */
function lanesOf<T>(sends: readonly PacedSend<T>[]): Map<string, Lane<T>> {
  const lanes = new Map<string, Lane<T>>();
  for (const paced of sends) {
    if (!Number.isFinite(paced.notBefore)) {
      throw new RangeError("notBefore must be a finite instant");
    }
    let lane = lanes.get(paced.key);
    if (!lane) {
      lane = { key: paced.key, queue: [], inFlight: 0, stopped: false };
      lanes.set(paced.key, lane);
    }
    lane.queue.push(paced);
  }
  for (const lane of lanes.values()) lane.queue.sort((a, b) => a.notBefore - b.notBefore);
  return lanes;
}

function positive(value: number, name: string): number {
  if (!(value >= 1)) throw new RangeError(`${name} must be at least 1`);
  return value;
}
