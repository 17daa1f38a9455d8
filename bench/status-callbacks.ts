/**
 * The status callbacks bench/twilio-status.ts sends (through bench/load-generator.ts), and
 * the scratch messages they are about. Both sides derive everything from a message's
 * number `i` (0 … N−1): its SID is `'SM' || md5('<slug>:' || i)`, computed the same way
 * here and in the SQL that loads the messages, so the load generator needs no database.
 *
 * A phase of the benchmark takes its callbacks from a range `[from, from + count)` of a
 * fixed permutation of 0 … N−1 (an affine map), so consecutive callbacks hit messages
 * scattered over the whole table and two phases never touch the same message: every
 * message gets its final status once, plus the duplicates Twilio sends.
 */
import { createHash } from "node:crypto";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { createRandom } from "../local/twilio-sandbox/random.ts";

/** Ten sending numbers; message i is sent from number i % 10 to lead number i. */
export const SENDING_NUMBERS = 10;

export function sidOf(slug: string, i: number): string {
  return `SM${createHash("md5").update(`${slug}:${i}`).digest("hex")}`;
}

/** The sending number of message i, as the SQL that loads them writes it. */
export function fromPhoneOf(i: number): string {
  return `+1646992${String(i % SENDING_NUMBERS).padStart(4, "0")}`;
}

/** The recipient of message i (212-200-0000 onwards), as the SQL writes it. */
export function toPhoneOf(i: number): string {
  return `+1212${200 + Math.floor(i / 10_000)}${String(i % 10_000).padStart(4, "0")}`;
}

/** The permutation's multiplier: a prime that divides no table size we use. */
const STRIDE = 7_919_071;
const OFFSET = 104_729;

/** The message the k-th callback of the permutation is about. */
export function messageAt(k: number, total: number): number {
  if (total % STRIDE === 0) throw new Error(`${total} messages: pick another size`);
  return Number((BigInt(k) * BigInt(STRIDE) + BigInt(OFFSET)) % BigInt(total));
}

export interface CallbackSpec {
  slug: string;
  /** Messages in the table. */
  total: number;
  /** The first position in the permutation this phase uses, and how many it may use. */
  from: number;
  count: number;
  accountSid: string;
  authToken: string;
  /** The URL Twilio signs: PUBLIC_BASE_URL (or SUPABASE_URL) + /functions/v1/twilio/status. */
  signedUrl: string;
  /** Seed of the status mix. */
  seed: number;
}

/** The share of each kind of callback (the rest: delivered). */
export const MIX = { undelivered30003: 0.03, undelivered30007: 0.03, duplicate: 0.06 };

export interface Callback {
  body: string;
  signature: string;
  kind: "delivered" | "undelivered" | "duplicate";
}

function rawDlrDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return two(date.getUTCFullYear() % 100) + two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) + two(date.getUTCHours()) + two(date.getUTCMinutes());
}

/**
 * `spec.count` signed callbacks as Twilio sends them (the parameters the sandbox sends,
 * in Twilio's form encoding): mostly `delivered`, some `undelivered` with ErrorCode 30003
 * (unreachable) or 30007 (carrier filtering), and some duplicates — the same callback
 * again, a moment later (Twilio retries and repeats), which the function answers without
 * changing anything.
 */
export function buildCallbacks(spec: CallbackSpec): Callback[] {
  // Seeded (mulberry32, as the sandbox's carrier): the same mix for the same seed.
  const next = createRandom(spec.seed).next;
  const out: Callback[] = [];
  const now = new Date();
  for (let k = 0; k < spec.count; k++) {
    const r = next();
    if (k >= 100 && r < MIX.duplicate) {
      // One of the last hundred callbacks again.
      const earlier = out[k - 1 - Math.floor(next() * 100)];
      out.push({ ...earlier, kind: "duplicate" });
      continue;
    }
    const i = messageAt(spec.from + k, spec.total);
    const sid = sidOf(spec.slug, i);
    const u = next();
    const status = u < MIX.undelivered30003 + MIX.undelivered30007 ? "undelivered" : "delivered";
    const params: Record<string, string> = {
      ApiVersion: "2010-04-01",
      AccountSid: spec.accountSid,
      From: fromPhoneOf(i),
      To: toPhoneOf(i),
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: status,
      SmsStatus: status,
    };
    if (status === "undelivered") {
      params.ErrorCode = u < MIX.undelivered30003 ? "30003" : "30007";
    } else {
      params.RawDlrDoneDate = rawDlrDate(now);
    }
    out.push({
      body: new URLSearchParams(params).toString(),
      signature: getExpectedTwilioSignature(spec.authToken, spec.signedUrl, params),
      kind: status,
    });
  }
  return out;
}
