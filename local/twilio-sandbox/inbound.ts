/**
 * `POST /_sandbox/inbound`: plays a phone texting one of our numbers. The sandbox
 * posts Twilio's incoming-message webhook, signed, to our twilio function and hands
 * back what it answered (TwiML), so tests can drive STOP/HELP/START end to end.
 * `postInbound` is that webhook, also used for the recipients' simulated replies
 * (replies.ts).
 */
import { z } from "zod";
import { jsonResponse } from "./errors.ts";
import { API_VERSION, newSid } from "./message.ts";
import { countryOf, isE164 } from "./phone.ts";
import { countSegments } from "./segments.ts";
import type { SandboxState } from "./state.ts";
import { postSigned, type WebhookResult } from "./webhook.ts";

const e164 = z.string().refine(isE164, { error: "must be an E.164 number like +15551234567" });

const inboundRequest = z.object({
  from: e164,
  to: e164,
  body: z.string().max(1600),
  url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  messaging_service_sid: z.string().regex(/^MG[0-9a-fA-F]{32}$/, "must be MG + 32 hex").optional(),
});

/** A text from a phone to one of our numbers. */
export interface InboundMessage {
  from: string;
  to: string;
  body: string;
  /** Set when the number belongs to a Messaging Service, as Twilio sets it. */
  messaging_service_sid?: string;
}

export async function handleInbound(req: Request, state: SandboxState): Promise<Response> {
  const input = inboundRequest.safeParse(await req.json().catch(() => undefined));
  if (!input.success) {
    const problems = input.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
    return jsonResponse({ error: `invalid inbound message: ${problems.join("; ")}` }, 400);
  }
  const url = input.data.url ?? state.config.inbound_url;
  if (!url) {
    return jsonResponse({
      error: "no inbound url: pass `url` or set `inbound_url` (POST /_sandbox/config)",
    }, 400);
  }
  const { sid, result } = await postInbound(state, url, input.data, state.stopping.signal);
  if (result.status === null) {
    return jsonResponse({ sid, status: null, response: null, error: result.error }, 502);
  }
  return jsonResponse({ sid, status: result.status, response: result.body });
}

/** Posts Twilio's signed incoming-message webhook for `message` to `url`, under a new SID. */
export async function postInbound(
  state: SandboxState,
  url: string,
  message: InboundMessage,
  signal: AbortSignal,
): Promise<{ sid: string; result: WebhookResult }> {
  const sid = newSid("SM");
  const result = await postSigned({
    url,
    params: inboundParams(sid, state.accountSid, message),
    authToken: state.authToken,
    idempotencyToken: crypto.randomUUID(),
    client: state.client,
    signal,
  });
  return { sid, result };
}

/**
 * Twilio's incoming-SMS parameters. City, state and zip come from Twilio's number
 * data, which the sandbox does not have: it sends them empty, as Twilio does for
 * numbers it cannot place.
 */
function inboundParams(
  sid: string,
  accountSid: string,
  input: InboundMessage,
): Record<string, string> {
  const params: Record<string, string> = {
    ToCountry: countryOf(input.to),
    ToState: "",
    SmsMessageSid: sid,
    NumMedia: "0",
    ToCity: "",
    FromZip: "",
    SmsSid: sid,
    FromState: "",
    SmsStatus: "received",
    FromCity: "",
    Body: input.body,
    FromCountry: countryOf(input.from),
    To: input.to,
    ToZip: "",
    NumSegments: String(countSegments(input.body)),
    MessageSid: sid,
    AccountSid: accountSid,
    From: input.from,
    ApiVersion: API_VERSION,
  };
  if (input.messaging_service_sid) params.MessagingServiceSid = input.messaging_service_sid;
  return params;
}
