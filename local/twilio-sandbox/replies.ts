/**
 * Recipients texting back. After a message is delivered, with probability `reply_rate`,
 * its recipient replies after a delay drawn from `reply_delay_ms`: an opt-out for a
 * `stop_share` of replies, a question otherwise. What they say and when is drawn when the
 * message is accepted (with the carrier's other decisions), so a seeded sandbox replays
 * the same replies. A reply reaches our inbound webhook exactly as `POST /_sandbox/inbound`
 * sends one.
 *
 * Like Twilio, the sandbox itself honours a reply that is one of Twilio's opt-out keywords
 * and nothing else ("STOP", "unsubscribe"): the recipient joins `opted_out`, so later sends
 * to them fail with 21610. "Stop texting me" is no keyword to Twilio: only our own keyword
 * engine reads it as an opt-out.
 */
import type { SandboxConfig } from "./config.ts";
import type { OutboundMessage } from "./carrier.ts";
import { postInbound } from "./inbound.ts";
import type { Random } from "./random.ts";
import { type SandboxState, updateConfig } from "./state.ts";
import { isSuccess } from "./webhook.ts";

/** What a recipient who wants no more texts writes. */
export const OPT_OUT_REPLIES: readonly string[] = ["STOP", "Stop texting me", "unsubscribe"];

/** What an interested recipient asks; none of it reads as an opt-out ("stop by" is a visit). */
export const QUESTION_REPLIES: readonly string[] = [
  "What's the price?",
  "Can I stop by Saturday?",
  "Is it still available?",
  "How many bedrooms does it have?",
  "Who is this?",
];

/**
 * Twilio's standard opt-out keywords on long codes. Twilio acts on a message that is one
 * of them alone, in any case; it then refuses to send to that recipient (21610).
 */
const TWILIO_OPT_OUT_KEYWORDS = new Set([
  "STOP",
  "STOPALL",
  "UNSUBSCRIBE",
  "CANCEL",
  "END",
  "QUIT",
  "REVOKE",
  "OPTOUT",
]);

export interface PlannedReply {
  body: string;
  /** From the message's last status step to the reply. */
  delayMs: number;
}

/** Whether the recipient of a delivered message replies, with what and when. */
export function planReply(config: SandboxConfig, random: Random): PlannedReply | null {
  if (!random.chance(config.reply_rate)) return null;
  const texts = random.chance(config.stop_share) ? OPT_OUT_REPLIES : QUESTION_REPLIES;
  return {
    body: texts[random.between(0, texts.length - 1)],
    delayMs: random.between(config.reply_delay_ms.min, config.reply_delay_ms.max),
  };
}

/** True for a message Twilio itself treats as an opt-out. */
export function isTwilioOptOut(body: string): boolean {
  return TWILIO_OPT_OUT_KEYWORDS.has(body.trim().toUpperCase());
}

/**
 * The recipient of `message` sends `reply` to the number that texted them. Failures are
 * recorded on the message and logged, never thrown (a stop of the sandbox still aborts).
 */
export async function sendReply(
  state: SandboxState,
  message: OutboundMessage,
  reply: PlannedReply,
  signal: AbortSignal,
): Promise<void> {
  const recipient = message.resource.to;
  if (isTwilioOptOut(reply.body)) rememberOptOut(state, recipient);
  const url = state.config.inbound_url;
  // A Messaging Service's sender is known once the message was queued.
  const ourNumber = message.resource.from;
  const at = new Date().toISOString();
  if (url === null || ourNumber === null) {
    const error = url === null ? "no inbound_url configured" : "the message has no sender";
    message.reply = { sid: null, body: reply.body, at, http_status: null, error };
    state.log({ event: "simulated_reply_not_sent", message_sid: message.resource.sid, error });
    return;
  }
  const { sid, result } = await postInbound(state, url, {
    from: recipient,
    to: ourNumber,
    body: reply.body,
    ...(message.resource.messaging_service_sid
      ? { messaging_service_sid: message.resource.messaging_service_sid }
      : {}),
  }, signal);
  message.reply = { sid, body: reply.body, at, http_status: result.status, error: result.error };
  if (!isSuccess(result)) {
    state.log({
      event: "simulated_reply_failed",
      message_sid: message.resource.sid,
      sid,
      url,
      http_status: result.status,
      error: result.error,
    });
  }
}

/** Twilio keeps an opt-out until the recipient texts START; `opted_out` is that list here. */
function rememberOptOut(state: SandboxState, phone: string): void {
  if (state.config.opted_out.includes(phone)) return;
  updateConfig(state, { opted_out: [...state.config.opted_out, phone] });
}
