/**
 * The simulated carrier: after a message is accepted it walks queued → sent →
 * delivered (or → undelivered / failed), updates the stored resource and posts a
 * signed status callback for each step, with the delays, duplicates and reordering
 * real Twilio traffic shows; a delivered message's recipient may then reply
 * (replies.ts). All randomness is drawn when the message is accepted, so a seeded run is
 * reproducible whatever the timing.
 */
import type { SandboxConfig } from "./config.ts";
import type { Random } from "./random.ts";
import {
  API_VERSION,
  type MessageResource,
  type MessageStatus,
  rfc2822,
  segmentsOf,
} from "./message.ts";
import { type PlannedReply, planReply } from "./replies.ts";
import { sleep } from "./tasks.ts";
import { isSuccess, postSigned, type WebhookResult } from "./webhook.ts";

type FinalStatus = "delivered" | "undelivered" | "failed";
type StepStatus = "queued" | "sent" | FinalStatus;

/** Sender a Messaging Service "picks" when the request had no From: Twilio's test number. */
export const SERVICE_SENDER = "+15005550006";
/** A US SMS segment's list price, so `price` looks like Twilio's once a message is sent. */
const PRICE_PER_SEGMENT = 0.0079;

/** Twilio's descriptions, and whether the message never left Twilio (failed) or the carrier refused it. */
const CARRIER_ERRORS: Record<string, { status: "failed" | "undelivered"; message: string }> = {
  "30001": { status: "failed", message: "Queue overflow" },
  "30002": { status: "failed", message: "Account suspended" },
  "30003": { status: "undelivered", message: "Unreachable destination handset" },
  "30004": { status: "undelivered", message: "Message blocked" },
  "30005": { status: "undelivered", message: "Unknown destination handset" },
  "30006": { status: "undelivered", message: "Landline or unreachable carrier" },
  "30007": { status: "undelivered", message: "Message filtered" },
  "30008": { status: "undelivered", message: "Unknown error" },
};

const STATUS_RANK: Record<MessageStatus, number> = {
  accepted: 0,
  queued: 1,
  sending: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
};

export interface CallbackAttempt {
  status: StepStatus;
  http_status: number | null;
  attempt: number;
  /** True for the extra copy sent when `duplicate_callbacks` fired. */
  duplicate: boolean;
  error: string | null;
  at: string;
}

/** The recipient's simulated reply, once it was posted (or could not be). */
export interface SimulatedReply {
  /** SID of the incoming message; null when it could not be posted. */
  sid: string | null;
  body: string;
  at: string;
  http_status: number | null;
  error: string | null;
}

export interface OutboundMessage {
  resource: MessageResource;
  /**
   * When the create request was accepted, to the millisecond (`date_created` has whole
   * seconds, as Twilio's does): what a sender's pacing is judged by.
   */
  acceptedAt: Date;
  statusCallback: string | null;
  callbacks: CallbackAttempt[];
  reply: SimulatedReply | null;
}

interface Step {
  status: StepStatus;
  delayMs: number;
  duplicate: boolean;
}

export interface DeliveryPlan {
  errorCode: number | null;
  steps: Step[];
  retries: number;
  retryDelayMs: number;
  /** What the recipient answers once the message is delivered; null: no answer. */
  reply: PlannedReply | null;
}

export interface CarrierContext {
  authToken: string;
  client: Deno.HttpClient;
  log: (entry: Record<string, unknown>) => void;
  /** Posts the recipient's reply (replies.ts). */
  sendReply: (message: OutboundMessage, reply: PlannedReply, signal: AbortSignal) => Promise<void>;
}

export function planDelivery(config: SandboxConfig, random: Random): DeliveryPlan {
  const delivered = random.chance(config.delivery_rate);
  const errorCode = delivered ? null : Number(random.weighted(config.error_mix));
  const final: FinalStatus = errorCode === null ? "delivered" : errorStatus(errorCode);
  const statuses: StepStatus[] = final === "failed"
    ? ["queued", "failed"]
    : ["queued", "sent", final];
  // Carriers' delivery receipts can overtake Twilio's own "sent" callback.
  if (statuses.length === 3 && random.chance(config.out_of_order)) {
    [statuses[1], statuses[2]] = [statuses[2], statuses[1]];
  }
  const steps = statuses.map((status) => ({
    status,
    delayMs: random.between(config.latency_ms.min, config.latency_ms.max),
    duplicate: random.chance(config.duplicate_callbacks),
  }));
  return {
    errorCode,
    steps,
    retries: config.callback_retries,
    retryDelayMs: config.callback_retry_delay_ms,
    // Drawn last, and nothing at all with reply_rate 0: other draws stay as they were.
    reply: errorCode === null ? planReply(config, random) : null,
  };
}

function errorStatus(code: number): "failed" | "undelivered" {
  return CARRIER_ERRORS[String(code)]?.status ?? "undelivered";
}

function errorDescription(code: number): string {
  return CARRIER_ERRORS[String(code)]?.message ?? `Error ${code}`;
}

/**
 * Plays the plan: each step after its delay, its callback (and duplicate) posted in turn;
 * then the recipient's reply, if any, after its delay.
 */
export async function runDelivery(
  context: CarrierContext,
  message: OutboundMessage,
  plan: DeliveryPlan,
  signal: AbortSignal,
): Promise<void> {
  for (const step of plan.steps) {
    await sleep(step.delayMs, signal);
    advance(message.resource, step.status, plan.errorCode, new Date());
    if (message.statusCallback === null) continue;
    const params = callbackParams(message.resource, step.status, plan.errorCode, new Date());
    // Twilio keeps one idempotency token per event, so a duplicate reads as a redelivery.
    const token = crypto.randomUUID();
    const copies = step.duplicate ? [false, true] : [false];
    for (const duplicate of copies) {
      const event = { url: message.statusCallback, params, token, duplicate, step, plan, signal };
      await postWithRetries(context, message, event);
    }
  }
  if (plan.reply !== null) {
    await sleep(plan.reply.delayMs, signal);
    await context.sendReply(message, plan.reply, signal);
  }
}

/**
 * Moves the stored resource forward. A status never goes back: when "delivered"
 * overtook "sent", the late "sent" only produces its callback.
 */
function advance(
  resource: MessageResource,
  status: StepStatus,
  errorCode: number | null,
  now: Date,
): void {
  if (STATUS_RANK[status] <= STATUS_RANK[resource.status]) return;
  resource.status = status;
  resource.date_updated = rfc2822(now);
  if (resource.from === null) assignServiceSender(resource);
  if (status !== "queued" && status !== "failed") {
    resource.date_sent ??= rfc2822(now);
    resource.price ??= (-PRICE_PER_SEGMENT * Number(resource.num_segments)).toFixed(5);
  }
  if ((status === "failed" || status === "undelivered") && errorCode !== null) {
    resource.error_code = errorCode;
    resource.error_message = errorDescription(errorCode);
  }
}

/** What Twilio fills in once the Messaging Service has chosen a sender. */
function assignServiceSender(resource: MessageResource): void {
  resource.from = SERVICE_SENDER;
  resource.num_segments = String(segmentsOf(resource.body, resource.num_media !== "0"));
}

/** Twilio's status-callback parameters for one step. */
function callbackParams(
  resource: MessageResource,
  status: StepStatus,
  errorCode: number | null,
  now: Date,
): Record<string, string> {
  const params: Record<string, string> = {
    MessageSid: resource.sid,
    SmsSid: resource.sid,
    AccountSid: resource.account_sid,
    From: resource.from ?? "",
    To: resource.to,
    MessageStatus: status,
    SmsStatus: status,
    ApiVersion: API_VERSION,
  };
  if (resource.messaging_service_sid) params.MessagingServiceSid = resource.messaging_service_sid;
  if ((status === "failed" || status === "undelivered") && errorCode !== null) {
    params.ErrorCode = String(errorCode);
  }
  if (status === "delivered") params.RawDlrDoneDate = rawDlrDate(now);
  return params;
}

/** The carrier's delivery-receipt time, YYMMDDhhmm in UTC, as Twilio passes it on. */
function rawDlrDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return two(date.getUTCFullYear() % 100) + two(date.getUTCMonth() + 1) + two(date.getUTCDate()) +
    two(date.getUTCHours()) + two(date.getUTCMinutes());
}

interface CallbackEvent {
  url: string;
  params: Record<string, string>;
  token: string;
  duplicate: boolean;
  step: Step;
  plan: DeliveryPlan;
  signal: AbortSignal;
}

/** Posts one callback, retrying a bounded number of times; failures are logged, never thrown. */
async function postWithRetries(
  context: CarrierContext,
  message: OutboundMessage,
  event: CallbackEvent,
): Promise<void> {
  const { url } = event;
  for (let attempt = 1; attempt <= event.plan.retries + 1; attempt++) {
    const result = await postSigned({
      url,
      params: event.params,
      authToken: context.authToken,
      idempotencyToken: event.token,
      client: context.client,
      signal: event.signal,
    });
    recordAttempt(message, event, attempt, result);
    if (isSuccess(result)) return;
    context.log({
      event: "status_callback_failed",
      sid: message.resource.sid,
      status: event.step.status,
      url,
      attempt,
      http_status: result.status,
      error: result.error,
    });
    if (attempt <= event.plan.retries) await sleep(event.plan.retryDelayMs, event.signal);
  }
}

function recordAttempt(
  message: OutboundMessage,
  event: CallbackEvent,
  attempt: number,
  result: WebhookResult,
): void {
  message.callbacks.push({
    status: event.step.status,
    http_status: result.status,
    attempt,
    duplicate: event.duplicate,
    error: result.error,
    at: new Date().toISOString(),
  });
}
