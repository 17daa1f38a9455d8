/**
 * The most requests one sending number started within one second (a sliding window): the
 * slots' spacing promises it never exceeds the number's rate, and the tick's report says
 * what it actually did. (When Twilio accepts a request is up to the network after that.)
 */

export interface BusiestSecond {
  /** The sending number (or Messaging Service) the requests went from. */
  from: string;
  /** Requests started within one second, at most. */
  starts: number;
}

export interface StartCounter {
  /** A request from `from` started at `at` (ms). */
  record(from: string, at: number): void;
  /** The busiest second so far, of any number; null before the first request. */
  busiest(): BusiestSecond | null;
}

export function createStartCounter(windowMs = 1_000): StartCounter {
  // Each number's starts within the last window, oldest first (never more than its rate).
  const recent = new Map<string, number[]>();
  let busiest: BusiestSecond | null = null;
  return {
    record(from, at) {
      let starts = recent.get(from);
      if (!starts) recent.set(from, starts = []);
      starts.push(at);
      // The window is (at - windowMs, at]: a start exactly one window earlier is outside.
      while (starts[0] <= at - windowMs) starts.shift();
      if (busiest === null || starts.length > busiest.starts) {
        busiest = { from, starts: starts.length };
      }
    },
    busiest: () => busiest,
  };
}
