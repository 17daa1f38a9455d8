/**
 * Sends one SMS through Twilio's REST API (`CreateMessage`) with plain `fetch`, and turns
 * every possible answer, including none, into a `SendResult` the tick can act on.
 *
 * The `twilio` npm package is not imported: it adds ~300 ms to a cold start for one
 * form-encoded POST. Nothing here logs; the caller logs results through `_shared/log.ts`
 * (Twilio's messages can quote the recipient's number).
 */
import { parseRetryAfter } from "./retry-after.ts";
import { classifyTwilioError, type FailureClass, type FailureScope } from "./twilio-error-codes.ts";

export type { FailureClass, FailureScope } from "./twilio-error-codes.ts";

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** `https://api.twilio.com`, or the sandbox locally (TWILIO_API_BASE). */
  apiBase: string;
  /** Per request, from the first byte sent to the last byte of the answer read. */
  timeoutMs?: number;
  /** Injectable for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** For `Retry-After` dates; default Date.now. */
  now?: () => number;
}

/** Exactly one sender: a number of ours, or a Messaging Service that picks one. */
export type SmsSender = { from: string } | { messagingServiceSid: string };

export type SmsRequest = SmsSender & {
  to: string;
  body: string;
  /** Where Twilio posts status callbacks for this message (our twilio function). */
  statusCallback: string;
};

export interface SendAccepted {
  outcome: "accepted";
  /** The Message SID (`SM…`/`MM…`), the key of every later status callback. */
  sid: string;
  /** `queued`, or `accepted` through a Messaging Service that has not picked a sender yet. */
  status: string;
  /** 0 until a Messaging Service has picked a sender. */
  numSegments: number;
  /** Decimal string as Twilio writes it (`"-0.00790"`); absent until Twilio prices it. */
  price?: string;
  priceUnit?: string;
}

export interface SendFailed {
  outcome: "failed";
  class: FailureClass;
  /** For `fatal_config`: stop the sender, or every sender of the account. */
  scope?: FailureScope;
  /** Twilio's error code (21610, …); null when Twilio never answered in its error shape. */
  code: number | null;
  /** Twilio's message, or what went wrong on the way (may quote a phone number). */
  message: string;
  /** HTTP status of Twilio's answer; null when there was none. */
  httpStatus: number | null;
  /** For `retry`: what `Retry-After` asked for, in ms; null when absent. */
  retryAfterMs: number | null;
}

export type SendResult = SendAccepted | SendFailed;

export interface TwilioClient {
  /** Never throws for Twilio's or the network's failures: they are results. */
  sendSms(request: SmsRequest, options?: { signal?: AbortSignal }): Promise<SendResult>;
}

export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

export function createTwilioClient(options: TwilioClientOptions): TwilioClient {
  const base = options.apiBase.replace(/\/+$/, "");
  const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const authorization = "Basic " + btoa(`${options.accountSid}:${options.authToken}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;

  async function sendSms(
    request: SmsRequest,
    callOptions: { signal?: AbortSignal } = {},
  ): Promise<SendResult> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = callOptions.signal ? AbortSignal.any([timeout, callOptions.signal]) : timeout;
    let response: Response;
    try {
      response = await doFetch(url, {
        method: "POST",
        headers: {
          authorization,
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: formOf(request),
        signal,
      });
    } catch (error) {
      return networkFailure(error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // The status line arrived, the body did not: for a 2xx the message exists.
      return response.ok
        ? unknownOutcome(`answer ${response.status} cut off: ${describe(error)}`, response.status)
        : networkFailure(error, response.status);
    }
    return response.ok ? acceptedFrom(text, response.status) : failureFrom(text, response, now());
  }

  return { sendSms };
}

/** Twilio's form fields; `From` xor `MessagingServiceSid`. */
function formOf(request: SmsRequest): URLSearchParams {
  const form = new URLSearchParams();
  form.set("To", request.to);
  if ("from" in request) form.set("From", request.from);
  else form.set("MessagingServiceSid", request.messagingServiceSid);
  form.set("Body", request.body);
  form.set("StatusCallback", request.statusCallback);
  return form;
}

function acceptedFrom(text: string, httpStatus: number): SendResult {
  const json = parseJson(text);
  const sid = json?.sid;
  if (typeof sid !== "string" || !/^(SM|MM)[0-9a-f]{32}$/i.test(sid)) {
    return unknownOutcome(`answer ${httpStatus} without a message SID`, httpStatus);
  }
  const segments = Number(json?.num_segments);
  const accepted: SendAccepted = {
    outcome: "accepted",
    sid,
    status: typeof json?.status === "string" ? json.status : "queued",
    numSegments: Number.isInteger(segments) && segments >= 0 ? segments : 0,
  };
  if (typeof json?.price === "string" && json.price !== "") accepted.price = json.price;
  if (typeof json?.price_unit === "string" && accepted.price !== undefined) {
    accepted.priceUnit = json.price_unit;
  }
  return accepted;
}

function failureFrom(text: string, response: Response, nowMs: number): SendFailed {
  const json = parseJson(text);
  const code = typeof json?.code === "number" && Number.isInteger(json.code) ? json.code : null;
  const message = typeof json?.message === "string" && json.message !== ""
    ? json.message
    : `HTTP ${response.status}`;
  const { class: failureClass, scope } = classifyTwilioError(code, response.status);
  const failed: SendFailed = {
    outcome: "failed",
    class: failureClass,
    code,
    message,
    httpStatus: response.status,
    retryAfterMs: failureClass === "retry"
      ? parseRetryAfter(response.headers.get("retry-after"), nowMs)
      : null,
  };
  if (scope) failed.scope = scope;
  return failed;
}

/**
 * A fetch that threw. Only a failure to connect (refused, DNS, TLS handshake: Deno names
 * these "client error (Connect)") proves the request never left; a timeout, a reset or a
 * connection closed mid-exchange may come after Twilio read the whole request.
 */
function networkFailure(error: unknown, httpStatus: number | null = null): SendFailed {
  const text = describe(error);
  if (httpStatus === null && /client error \(Connect\)|Connection refused/i.test(text)) {
    return {
      outcome: "failed",
      class: "retry",
      code: null,
      message: `not sent: ${text}`,
      httpStatus: null,
      retryAfterMs: null,
    };
  }
  const isTimeout = error instanceof DOMException && error.name === "TimeoutError";
  return unknownOutcome(isTimeout ? `no answer in time: ${text}` : text, httpStatus);
}

function unknownOutcome(message: string, httpStatus: number | null): SendFailed {
  return {
    outcome: "failed",
    class: "unknown_outcome",
    code: null,
    message,
    httpStatus,
    retryAfterMs: null,
  };
}

/** The error's message and its causes' (Deno puts the useful part in `cause`). */
function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(" <- ");
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}
