/**
 * When to try a send again after a retryable failure: capped exponential backoff with
 * "equal jitter" (half the step fixed, half random), never sooner than the server's
 * `Retry-After`. The delay is a schedule for the queue (`next attempt at now + delay`),
 * not a sleep inside one tick.
 */

/**
 * Attempts a target gets in all (the first send included) before it is given up as
 * failed. The claim SQL uses the same number: change both together.
 */
export const MAX_SEND_ATTEMPTS = 5;

export interface BackoffPolicy {
  /** Delay step before the second attempt; each later step doubles it. */
  baseMs: number;
  /** No computed delay exceeds this (a longer `Retry-After` still wins). */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, capMs: 300_000 };

/** A `Retry-After` beyond this is treated as this: a broken header must not park a target for days. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export interface BackoffOptions {
  policy?: BackoffPolicy;
  /** What the server asked for (from `parseRetryAfter`), if anything. */
  retryAfterMs?: number | null;
  /** Uniform in [0, 1); injectable so tests are exact. */
  random?: () => number;
}

/**
 * The delay before the next attempt, after attempt number `attempt` (1 = the first send)
 * failed retryably: `step = min(cap, base · 2^(attempt-1))`, drawn in `[step/2, step]`,
 * then at least `retryAfterMs` (itself at most `MAX_RETRY_AFTER_MS`).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  }
  const { baseMs, capMs } = options.policy ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const step = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 52));
  const jittered = Math.round(step / 2 + random() * (step / 2));
  const asked = Math.min(Math.max(options.retryAfterMs ?? 0, 0), MAX_RETRY_AFTER_MS);
  return Math.max(jittered, asked);
}

/** Whether a target whose attempt number `attempt` just failed retryably may be tried again. */
export function canRetry(attempt: number): boolean {
  return attempt < MAX_SEND_ATTEMPTS;
}

/**
 * `Retry-After` in milliseconds from now: delay-seconds (`"7"`) or an HTTP date
 * (RFC 9110 §10.2.3). Null when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}
