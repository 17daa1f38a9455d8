/**
 * What the tick does about each refusal of Twilio's `CreateMessage`, by Twilio error code.
 * Sources are Twilio's error dictionary (https://www.twilio.com/docs/api/errors/<code>)
 * unless a row says otherwise; Twilio itself warns that causes behind a code change over
 * time (changelog, 2024-07-10: "Updates to the error code dictionary to clarify number
 * validation errors"), so a code missing here falls back by HTTP status (see
 * `classifyTwilioError`), never to a blind resend.
 */

/**
 * - `suppress`: the recipient opted out; record a `recipient_stop` suppression, no retry.
 * - `invalid_recipient`: this number cannot get SMS from us; fail the target, no retry.
 * - `rejected`: Twilio refused this one message (its body, its country…); fail the
 *   target, keep sending others.
 * - `retry`: nothing was sent; try again later (when: `private.retry_at` in SQL).
 * - `fatal_config`: our account, credentials or sender are wrong; stop sending from that
 *   number (or account) and leave its targets pending for after the fix.
 * - `unknown_outcome`: the request may have reached Twilio and created a message; the
 *   caller must reconcile (e.g. look the message up) before any resend.
 */
export type FailureClass =
  | "suppress"
  | "invalid_recipient"
  | "rejected"
  | "retry"
  | "fatal_config"
  | "unknown_outcome";

/** Whether a `fatal_config` failure disables one sender or the whole account. */
export type FailureScope = "sender" | "account";

interface CodeRule {
  class: FailureClass;
  scope?: FailureScope;
}

export const TWILIO_ERROR_CLASSES: Readonly<Record<number, CodeRule>> = {
  // 20003 Authenticate: wrong Account SID or Auth Token (HTTP 401).
  20003: { class: "fatal_config", scope: "account" },
  // 20005 Account not active (suspended or closed).
  20005: { class: "fatal_config", scope: "account" },
  // 20404 Resource not found: on the Messages URL this means the account path is wrong.
  20404: { class: "fatal_config", scope: "account" },
  // 20429 Too Many Requests: "Requests that receive 429 responses aren't processed and
  // are safe to retry after backing off".
  20429: { class: "retry" },
  // 20500 / 20503 Internal server error / service unavailable (sandbox and Twilio 5xx).
  20500: { class: "retry" },
  20503: { class: "retry" },

  // 21211 Invalid 'To' phone number: Twilio's support article "Does Twilio check to see
  // if phone numbers can receive SMS?" (step 1: a number that cannot exist by its format;
  // also short codes, alphanumeric IDs and To = From).
  21211: { class: "invalid_recipient" },
  // 21265 'To' number cannot be a short code.
  21265: { class: "invalid_recipient" },
  // 21266 'To' and 'From' numbers cannot be the same (the lead's number is one of ours).
  21266: { class: "invalid_recipient" },
  // 21612 'To' not reachable / the To–From combination cannot be sent (carrier routing
  // incompatibility). Not in the local documentation copy; classed from Twilio's support
  // article above ("messages that cannot be delivered due to incompatibility between the
  // From and To numbers") and treated as the recipient's problem: no retry.
  21612: { class: "invalid_recipient" },
  // 21614 'To' number is not a valid mobile number (a landline or an invalid number).
  21614: { class: "invalid_recipient" },
  // 21635 'To' number cannot be a landline.
  21635: { class: "invalid_recipient" },

  // 21610 Attempt to send to unsubscribed recipient: the To number replied STOP to this
  // sender or Messaging Service; no message until it texts START.
  21610: { class: "suppress" },

  // 21611 This 'From' number has exceeded the maximum number of queued messages (10 h of
  // its MPS): nothing was queued; slow down and retry later.
  21611: { class: "retry" },

  // Sender and account configuration: every later send from this sender would fail too.
  // 21212 invalid 'From' number; 21601 'From' is not an SMS-capable number of this
  // account; 21603 'From' or 'MessagingServiceSid' required; 21606 'From' is not a valid
  // message-capable Twilio number for this destination/account; 21609 invalid
  // StatusCallback URL (ours, from the environment); 21659 'From' is not a Twilio phone
  // number or short code country mismatch; 21660 mismatch between 'From' and the account;
  // 21661 'From' number is not SMS-capable; 21703/21704/21705 Messaging Service
  // unusable, without senders, or invalid.
  21212: { class: "fatal_config", scope: "sender" },
  21601: { class: "fatal_config", scope: "sender" },
  21603: { class: "fatal_config", scope: "sender" },
  21606: { class: "fatal_config", scope: "sender" },
  21609: { class: "fatal_config", scope: "account" },
  21659: { class: "fatal_config", scope: "sender" },
  21660: { class: "fatal_config", scope: "sender" },
  21661: { class: "fatal_config", scope: "sender" },
  21703: { class: "fatal_config", scope: "sender" },
  21704: { class: "fatal_config", scope: "sender" },
  21705: { class: "fatal_config", scope: "sender" },

  // This message only: 21602 body required; 21604 'To' required; 21617 body over 1600
  // characters; 21620 invalid media URL; 21408 permission to send to this region is not
  // enabled (a country the account does not serve; other recipients are fine).
  21602: { class: "rejected" },
  21604: { class: "rejected" },
  21617: { class: "rejected" },
  21620: { class: "rejected" },
  21408: { class: "rejected" },
};

export interface Classification {
  class: FailureClass;
  scope?: FailureScope;
}

/**
 * The class of a Twilio error answer: by code first, then by HTTP status for codes not
 * in the table. 429 and 5xx except 504 retry; 504 (a gateway gave up waiting for Twilio,
 * which may have created the message) is an unknown outcome; 401/403 stop the account;
 * any other 4xx is a refusal of this one message.
 */
export function classifyTwilioError(code: number | null, httpStatus: number): Classification {
  const rule = code === null ? undefined : TWILIO_ERROR_CLASSES[code];
  if (rule) return rule.scope ? { class: rule.class, scope: rule.scope } : { class: rule.class };
  if (httpStatus === 504) return { class: "unknown_outcome" };
  if (httpStatus === 429 || httpStatus >= 500) return { class: "retry" };
  if (httpStatus === 401 || httpStatus === 403) return { class: "fatal_config", scope: "account" };
  return { class: "rejected" };
}
