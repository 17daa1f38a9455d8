/**
 * Twilio's `Retry-After` header, read for the database: when a send may be tried again is
 * decided in SQL (`private.retry_at`: capped exponential backoff, never sooner than what
 * the server asked for, and `private.max_send_attempts`), so the tick only passes on what
 * Twilio said.
 */

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
