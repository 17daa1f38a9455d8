/** Backoff for retryable sends: bounds, growth, cap, jitter and Retry-After. */
import assert from "node:assert/strict";
import {
  backoffDelay,
  canRetry,
  DEFAULT_BACKOFF,
  MAX_RETRY_AFTER_MS,
  MAX_SEND_ATTEMPTS,
  parseRetryAfter,
} from "../supabase/functions/campaign-tick/backoff.ts";

const policy = { baseMs: 1000, capMs: 30_000 };

Deno.test("delays double per attempt within [step/2, step], up to the cap", () => {
  for (let attempt = 1; attempt <= 12; attempt++) {
    const step = Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1));
    assert.equal(
      backoffDelay(attempt, { policy, random: () => 0 }),
      step / 2,
      `attempt ${attempt}`,
    );
    assert.equal(
      backoffDelay(attempt, { policy, random: () => 0.999999 }),
      Math.round(step),
      `attempt ${attempt}`,
    );
  }
  assert.equal(backoffDelay(1, { policy, random: () => 0.5 }), 750);
  assert.equal(backoffDelay(3, { policy, random: () => 0.5 }), 3000);
  // Huge attempt numbers stay finite and capped.
  assert.equal(backoffDelay(10_000, { policy, random: () => 1 }), policy.capMs);
});

Deno.test("real jitter stays in bounds and spreads", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) {
    const delay = backoffDelay(4);
    const step = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 8);
    assert.ok(delay >= step / 2 && delay <= step, `${delay}`);
    seen.add(delay);
  }
  assert.ok(seen.size > 50, "jitter spreads retries out");
});

Deno.test("Retry-After is a floor, bounded by MAX_RETRY_AFTER_MS", () => {
  assert.equal(backoffDelay(1, { policy, random: () => 0, retryAfterMs: 7000 }), 7000);
  assert.equal(backoffDelay(5, { policy, random: () => 1, retryAfterMs: 1000 }), 16_000);
  assert.equal(backoffDelay(1, { policy, random: () => 0, retryAfterMs: null }), 500);
  assert.equal(
    backoffDelay(1, { policy, random: () => 0, retryAfterMs: 10 * MAX_RETRY_AFTER_MS }),
    MAX_RETRY_AFTER_MS,
  );
  assert.equal(backoffDelay(1, { policy, random: () => 0, retryAfterMs: -5 }), 500);
});

Deno.test("attempt numbers are checked", () => {
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => backoffDelay(bad), RangeError);
});

Deno.test("MAX_SEND_ATTEMPTS bounds retries", () => {
  assert.equal(MAX_SEND_ATTEMPTS, 5);
  for (let attempt = 1; attempt < MAX_SEND_ATTEMPTS; attempt++) assert.ok(canRetry(attempt));
  assert.equal(canRetry(MAX_SEND_ATTEMPTS), false);
  assert.equal(canRetry(MAX_SEND_ATTEMPTS + 1), false);
});

Deno.test("parseRetryAfter reads seconds and HTTP dates", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(parseRetryAfter("7", now), 7000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", now), 0, "past dates mean now");
  for (const bad of ["", "-1", "1.5", "soon", "12abc"]) {
    assert.equal(parseRetryAfter(bad, now), null, JSON.stringify(bad));
  }
});
