/** Reading Twilio's Retry-After header (supabase/functions/campaign-tick/retry-after.ts). */
import assert from "node:assert/strict";
import { parseRetryAfter } from "../supabase/functions/campaign-tick/retry-after.ts";

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
