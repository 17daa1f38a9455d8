/**
 * The part of Twilio's REST API the project uses, under `/2010-04-01`: create and
 * fetch a Message, and fetch the Account (the health check's proof that Twilio is
 * reachable and the credentials work).
 */
import { timingSafeEqual } from "node:crypto";
import { type CarrierContext, type OutboundMessage, planDelivery, runDelivery } from "./carrier.ts";
import { jsonResponse, methodNotAllowed, notFound, TwilioApiError } from "./errors.ts";
import {
  API_VERSION,
  type CreateRequest,
  newMessageResource,
  parseCreateRequest,
  rfc2822,
} from "./message.ts";
import { sendReply } from "./replies.ts";
import type { SandboxState } from "./state.ts";
import { abortableSleep } from "../abortable-sleep.ts";

const ACCOUNT_PREFIX = /^\/2010-04-01\/Accounts\/([^/]+?)(?:\.json$|\/)/;
const ACCOUNT = /^\/2010-04-01\/Accounts\/[^/]+\.json$/;
const MESSAGES = /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/;
const MESSAGE = /^\/2010-04-01\/Accounts\/[^/]+\/Messages\/([^/]+)\.json$/;

export async function handleTwilioApi(
  req: Request,
  path: string,
  state: SandboxState,
): Promise<Response> {
  // Twilio authenticates before it looks at the resource, so even 404s need credentials.
  authenticate(req, ACCOUNT_PREFIX.exec(path)?.[1] ?? null, state);
  if (MESSAGES.test(path)) {
    if (req.method !== "POST") throw methodNotAllowed(req.method);
    return await createMessage(req, state);
  }
  const messageSid = MESSAGE.exec(path)?.[1];
  if (messageSid !== undefined) {
    if (req.method !== "GET") throw methodNotAllowed(req.method);
    return fetchMessage(messageSid, path, state);
  }
  if (ACCOUNT.test(path)) {
    if (req.method !== "GET") throw methodNotAllowed(req.method);
    return jsonResponse(accountResource(state));
  }
  throw notFound(path);
}

/**
 * HTTP Basic with the account SID and auth token; the SID in the path must be the
 * same account. Twilio answers all of these failures with 20003.
 */
function authenticate(req: Request, pathAccountSid: string | null, state: SandboxState): void {
  const credentials = basicCredentials(req.headers.get("authorization"));
  const valid = credentials !== null &&
    sameText(credentials.username, state.accountSid) &&
    sameText(credentials.password, state.authToken) &&
    (pathAccountSid === null || pathAccountSid === state.accountSid);
  if (!valid) {
    throw new TwilioApiError(
      401,
      20003,
      "Authenticate",
      "Your AccountSid or AuthToken was incorrect.",
    );
  }
}

function basicCredentials(header: string | null): { username: string; password: string } | null {
  const match = header?.match(/^Basic\s+(\S+)$/i);
  if (!match) return null;
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Constant-time comparison, so the sandbox does not teach callers timing-leaky habits. */
function sameText(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function createMessage(req: Request, state: SandboxState): Promise<Response> {
  // Twilio reads only form fields; a JSON body therefore looks like a request without `To`.
  const request = parseCreateRequest(new URLSearchParams(await req.text()));
  const now = Date.now();
  if (state.random.chance(state.config.server_error_rate)) {
    throw new TwilioApiError(500, 20500, "Internal Server Error");
  }
  enforceRateLimits(state, request.sender, now);
  enforceRecipientRules(state, request.to);
  const message = accept(state, request, new Date(now));
  state.limiter.record(request.sender, now);
  // Holds the answer back; ends early when the sandbox stops.
  await abortableSleep(state.config.response_delay_ms, state.stopping.signal);
  return jsonResponse(message.resource, 201);
}

function enforceRateLimits(state: SandboxState, sender: string, now: number): void {
  const { rate_limit_429, max_mps_per_from, retry_after_seconds } = state.config;
  if (
    state.random.chance(rate_limit_429) ||
    state.limiter.isOverLimit(sender, max_mps_per_from, now)
  ) {
    const headers: Record<string, string> = retry_after_seconds === null
      ? {}
      : { "retry-after": String(retry_after_seconds) };
    throw new TwilioApiError(429, 20429, "Too Many Requests", undefined, headers);
  }
}

/** Checks Twilio makes against the recipient before it accepts a message. */
function enforceRecipientRules(state: SandboxState, to: string): void {
  if (state.config.opted_out.includes(to)) {
    throw new TwilioApiError(400, 21610, "Attempt to send to unsubscribed recipient");
  }
  if (state.config.landlines.includes(to)) {
    throw new TwilioApiError(400, 21614, "'To' number is not a valid mobile number");
  }
}

/** Stores the message and starts its simulated delivery. */
function accept(state: SandboxState, request: CreateRequest, now: Date): OutboundMessage {
  const message: OutboundMessage = {
    resource: newMessageResource(state.accountSid, request, now),
    acceptedAt: now,
    statusCallback: request.statusCallback,
    callbacks: [],
    reply: null,
  };
  state.messages.set(message.resource.sid, message);
  const plan = planDelivery(state.config, state.random);
  const context: CarrierContext = {
    authToken: state.authToken,
    client: state.client,
    log: state.log,
    sendReply: (delivered, reply, signal) => sendReply(state, delivered, reply, signal),
  };
  state.tasks.run((signal) => runDelivery(context, message, plan, signal));
  return message;
}

function fetchMessage(sid: string, path: string, state: SandboxState): Response {
  const message = state.messages.get(sid);
  if (!message) throw notFound(path);
  return jsonResponse(message.resource);
}

/** `api.v2010.account` without `auth_token`: the secret has no business in health-check output. */
function accountResource(state: SandboxState): Record<string, unknown> {
  const sid = state.accountSid;
  const base = `/${API_VERSION}/Accounts/${sid}`;
  return {
    date_created: rfc2822(state.startedAt),
    date_updated: rfc2822(state.startedAt),
    friendly_name: "Twilio sandbox",
    owner_account_sid: sid,
    sid,
    status: "active",
    subresource_uris: { messages: `${base}/Messages.json` },
    type: "Full",
    uri: `${base}.json`,
  };
}
