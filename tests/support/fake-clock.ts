/**
 * A clock for tests of timed code (campaign-tick's pacer and tick): time moves only when
 * every task waits on it, so instants are exact and seconds of pacing run in milliseconds.
 */
import type { Clock } from "../../supabase/functions/campaign-tick/pacer.ts";

export class FakeClock implements Clock {
  #now: number;
  #timers: { at: number; seq: number; resolve: () => void }[] = [];
  #seq = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, resolve };
      this.#timers.push(timer);
      signal?.addEventListener("abort", () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        resolve();
      }, { once: true });
    });
  }

  /** Settles `work`, advancing time to the next timer whenever everything waits. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(() => settled = true, () => settled = true);
    for (let steps = 0; steps < 100_000; steps++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (settled) return await work;
      if (this.#timers.length === 0) throw new Error("deadlock: nothing to wait for");
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const timer = this.#timers.shift()!;
      this.#now = Math.max(this.#now, timer.at);
      timer.resolve();
    }
    throw new Error("too many steps");
  }
}
