/**
 * Carrier behaviour the sandbox simulates, changed at run time through
 * `POST /_sandbox/config`. Field names are snake_case like the rest of Twilio's JSON.
 */
import { z } from "zod";
import { isE164 } from "./phone.ts";

export interface SandboxConfig {
  /** Share of messages that end `delivered`; the rest end with an error from `error_mix`. */
  delivery_rate: number;
  /** Error code → relative weight, for messages that do not get delivered. */
  error_mix: Record<string, number>;
  /** Delay before each status step (queued, sent, final), drawn uniformly in [min, max]. */
  latency_ms: { min: number; max: number };
  /** Probability that a create request is refused with 429 / 20429. */
  rate_limit_429: number;
  /** Accepted messages per second allowed per sender (From or MessagingServiceSid). */
  max_mps_per_from: number | null;
  /**
   * `Retry-After` (seconds) on 429 answers; null sends none. Twilio documents no such
   * header for 429s, so the default is null; clients that honour one are tested with it.
   */
  retry_after_seconds: number | null;
  /** Probability that a create request fails with 500 / 20500 before anything is stored. */
  server_error_rate: number;
  /**
   * Delay before answering a create request that was accepted: the message exists (and
   * its callbacks run) while the client waits, as when Twilio's answer is lost in transit.
   */
  response_delay_ms: number;
  /** Recipients that replied STOP: sending to them fails with 21610. */
  opted_out: string[];
  /** Recipients that cannot receive SMS: sending to them fails with 21614. */
  landlines: string[];
  /** Probability that a status callback is posted twice. */
  duplicate_callbacks: number;
  /** Probability that a message's final status callback is posted before `sent`. */
  out_of_order: number;
  /** Default target of `POST /_sandbox/inbound`. */
  inbound_url: string | null;
  /** Seed of the carrier's randomness; null means a fresh random seed. */
  seed: number | null;
  /** Extra attempts for a status callback that failed (network error or non-2xx). */
  callback_retries: number;
  /** Pause between those attempts. */
  callback_retry_delay_ms: number;
  /**
   * Probability that the recipient of a delivered message texts back (posted to
   * `inbound_url` like `POST /_sandbox/inbound`). 0 by default: nothing arrives unasked.
   */
  reply_rate: number;
  /** Share of those replies that opt out ("STOP", "Stop texting me", …); the rest ask questions. */
  stop_share: number;
  /** Time from delivery to the reply, drawn uniformly in [min, max]. */
  reply_delay_ms: { min: number; max: number };
}

export function defaultConfig(inboundUrl: string | null): SandboxConfig {
  return {
    delivery_rate: 1,
    error_mix: { "30003": 1, "30004": 1, "30005": 1, "30006": 1, "30007": 1, "30008": 1 },
    latency_ms: { min: 100, max: 500 },
    rate_limit_429: 0,
    max_mps_per_from: null,
    retry_after_seconds: null,
    server_error_rate: 0,
    response_delay_ms: 0,
    opted_out: [],
    landlines: [],
    duplicate_callbacks: 0,
    out_of_order: 0,
    inbound_url: inboundUrl,
    seed: null,
    callback_retries: 2,
    callback_retry_delay_ms: 200,
    reply_rate: 0,
    stop_share: 0.2,
    reply_delay_ms: { min: 2_000, max: 20_000 },
  };
}

const probability = z.number().min(0).max(1);
const e164 = z.string().refine(isE164, { error: "must be an E.164 number like +15551234567" });
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const errorMix = z
  .record(
    z.string().regex(/^\d{5}$/, "error codes are 5-digit Twilio codes like 30007"),
    z.number().min(0),
  )
  .refine((mix) => Object.values(mix).some((w) => w > 0), {
    error: "needs at least one error code with a positive weight",
  });

/** A `{min, max}` delay in milliseconds, max at most `longestMs`. */
const delayRange = (longestMs: number) =>
  z
    .strictObject({ min: z.int().min(0), max: z.int().min(0).max(longestMs) })
    .refine((l) => l.min <= l.max, { error: "min must not exceed max", path: ["min"] });

/** Every field optional: a POST changes only what it names. Unknown fields are refused. */
const configPatch = z.strictObject({
  delivery_rate: probability,
  error_mix: errorMix,
  latency_ms: delayRange(60_000),
  rate_limit_429: probability,
  max_mps_per_from: z.int().positive().nullable(),
  retry_after_seconds: z.int().min(0).max(3600).nullable(),
  server_error_rate: probability,
  response_delay_ms: z.int().min(0).max(60_000),
  opted_out: z.array(e164),
  landlines: z.array(e164),
  duplicate_callbacks: probability,
  out_of_order: probability,
  inbound_url: httpUrl.nullable(),
  seed: z.int().min(0).max(0xffffffff).nullable(),
  callback_retries: z.int().min(0).max(10),
  callback_retry_delay_ms: z.int().min(0).max(60_000),
  reply_rate: probability,
  stop_share: probability,
  reply_delay_ms: delayRange(3_600_000),
}).partial();

export type ConfigPatch = z.infer<typeof configPatch>;

export interface ConfigIssue {
  field: string;
  message: string;
}

export type PatchResult = { ok: true; patch: ConfigPatch } | { ok: false; issues: ConfigIssue[] };

export function parseConfigPatch(input: unknown): PatchResult {
  const result = configPatch.safeParse(input);
  if (result.success) return { ok: true, patch: result.data };
  return { ok: false, issues: result.error.issues.flatMap(describeIssue) };
}

/** One issue per offending field, named by its dotted path (`latency_ms.min`, `opted_out.0`). */
function describeIssue(issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ field: key, message: "is not a config field" }));
  }
  const field = issue.path.map(String).join(".") || "(body)";
  return [{ field, message: issue.message }];
}

export function applyConfigPatch(config: SandboxConfig, patch: ConfigPatch): SandboxConfig {
  const next: SandboxConfig = { ...config };
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  return next;
}
