/**
 * The Message resource: validating a create request as Twilio does and building the
 * JSON Twilio answers with (`api.v2010.account.message` in Twilio's OpenAPI file).
 */
import { TwilioApiError } from "./errors.ts";
import { isE164, isValidSender } from "./phone.ts";
import { countSegments } from "./segments.ts";

export const API_VERSION = "2010-04-01";
const MAX_BODY_LENGTH = 1600;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

export type MessageStatus =
  | "accepted"
  | "queued"
  | "sending"
  | "sent"
  | "delivered"
  | "undelivered"
  | "failed";

/** Exactly the properties of `api.v2010.account.message`, nothing more. */
export interface MessageResource {
  account_sid: string;
  api_version: string;
  body: string;
  date_created: string;
  date_sent: string | null;
  date_updated: string;
  direction: "outbound-api";
  error_code: number | null;
  error_message: string | null;
  from: string | null;
  messaging_service_sid: string | null;
  num_media: string;
  num_segments: string;
  price: string | null;
  price_unit: string;
  sid: string;
  status: MessageStatus;
  subresource_uris: { media: string };
  to: string;
  uri: string;
}

/** A create request that passed validation. */
export interface CreateRequest {
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  /** Whose rate limit applies: the From number, or the service that will pick one. */
  sender: string;
  body: string;
  mediaUrls: string[];
  statusCallback: string | null;
}

/** RFC 2822 in GMT, the way Twilio writes dates: "Thu, 26 Nov 2026 07:18:53 +0000". */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/** A Twilio SID: two-letter prefix and 32 lowercase hex digits. */
export function newSid(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Form parameters Twilio treats as absent when empty. */
function param(form: URLSearchParams, name: string): string | null {
  const value = form.get(name);
  return value === null || value === "" ? null : value;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * Checks the parameters of `CreateMessage` in the order Twilio reports problems and
 * with Twilio's error codes. Parameters the sandbox does not model are accepted and
 * ignored, as Twilio ignores parameters it does not know.
 */
export function parseCreateRequest(form: URLSearchParams): CreateRequest {
  const to = validateTo(param(form, "To"));
  const { from, messagingServiceSid, sender } = validateSender(form, to);
  const mediaUrls = form.getAll("MediaUrl").filter((url) => url !== "");
  const body = validateBody(param(form, "Body"), mediaUrls, param(form, "ContentSid"));
  validateMediaUrls(mediaUrls);
  validateValidityPeriod(param(form, "ValidityPeriod"));
  const statusCallback = validateStatusCallback(param(form, "StatusCallback"));
  return { to, from, messagingServiceSid, sender, body, mediaUrls, statusCallback };
}

function validateTo(to: string | null): string {
  if (to === null) throw new TwilioApiError(400, 21604, "A 'To' phone number is required.");
  if (!isE164(to)) {
    throw new TwilioApiError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
  }
  return to;
}

function validateSender(form: URLSearchParams, to: string) {
  const from = param(form, "From");
  const messagingServiceSid = param(form, "MessagingServiceSid");
  const sender = from ?? messagingServiceSid;
  if (sender === null) {
    throw new TwilioApiError(
      400,
      21603,
      "A 'From' or 'MessagingServiceSid' parameter is required",
    );
  }
  if (from !== null && !isValidSender(from)) {
    throw new TwilioApiError(
      400,
      21212,
      `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
    );
  }
  if (from === to) {
    throw new TwilioApiError(400, 21266, "'To' and 'From' number cannot be the same");
  }
  if (messagingServiceSid !== null && !MESSAGING_SERVICE_SID.test(messagingServiceSid)) {
    throw new TwilioApiError(400, 21705, "The Messaging Service is invalid");
  }
  return { from, messagingServiceSid, sender };
}

function validateBody(body: string | null, mediaUrls: string[], contentSid: string | null) {
  if (body === null && mediaUrls.length === 0 && contentSid === null) {
    throw new TwilioApiError(400, 21602, "Message body is required.");
  }
  // Counted in UTF-16 units: Twilio's docs warn that emoji and the like count as more than one.
  if (body !== null && body.length > MAX_BODY_LENGTH) {
    throw new TwilioApiError(
      400,
      21617,
      "The concatenated message body exceeds the 1600 character limit.",
    );
  }
  return body ?? "";
}

function validateMediaUrls(mediaUrls: string[]): void {
  if (mediaUrls.length > 10 || !mediaUrls.every(isHttpUrl)) {
    throw new TwilioApiError(400, 21620, "Invalid media URL(s)");
  }
}

function validateValidityPeriod(value: string | null): void {
  if (value === null) return;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 36_000) {
    throw new TwilioApiError(400, 21624, "Invalid validity period value");
  }
}

function validateStatusCallback(url: string | null): string | null {
  if (url !== null && !isHttpUrl(url)) {
    throw new TwilioApiError(400, 21609, `The StatusCallback URL ${url} is not a valid URL.`);
  }
  return url;
}

/**
 * The resource as Twilio returns it from create. Sent through a Messaging Service
 * without `From`, Twilio has not picked a sender yet: status `accepted`, `from` null
 * and `num_segments` "0" until the message is queued.
 */
export function newMessageResource(
  accountSid: string,
  request: CreateRequest,
  now: Date,
): MessageResource {
  const hasMedia = request.mediaUrls.length > 0;
  const sid = newSid(hasMedia ? "MM" : "SM");
  const awaitingSender = request.from === null;
  const uri = `/${API_VERSION}/Accounts/${accountSid}/Messages/${sid}`;
  return {
    account_sid: accountSid,
    api_version: API_VERSION,
    body: request.body,
    date_created: rfc2822(now),
    date_sent: null,
    date_updated: rfc2822(now),
    direction: "outbound-api",
    error_code: null,
    error_message: null,
    from: request.from,
    messaging_service_sid: request.messagingServiceSid,
    num_media: String(request.mediaUrls.length),
    num_segments: awaitingSender ? "0" : String(segmentsOf(request.body, hasMedia)),
    price: null,
    price_unit: "USD",
    sid,
    status: awaitingSender ? "accepted" : "queued",
    subresource_uris: { media: `${uri}/Media.json` },
    to: request.to,
    uri: `${uri}.json`,
  };
}

/** An MMS is billed as one message whatever its text length. */
export function segmentsOf(body: string, hasMedia: boolean): number {
  return hasMedia ? 1 : countSegments(body);
}
