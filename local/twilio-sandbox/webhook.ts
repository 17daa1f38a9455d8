/**
 * Signed form POSTs, the way Twilio calls status-callback and incoming-message URLs.
 */
import { twilioSignature } from "./signature.ts";

/** Twilio gives a webhook 15 seconds before it gives up on it. */
const WEBHOOK_TIMEOUT_MS = 15_000;

export interface WebhookResult {
  /** HTTP status of the answer, null when none came (refused, timed out, …). */
  status: number | null;
  body: string | null;
  error: string | null;
}

export interface SignedPost {
  url: string;
  params: Record<string, string>;
  authToken: string;
  /** Twilio's `I-Twilio-Idempotency-Token`: the same for every retry of one event. */
  idempotencyToken: string;
  client: Deno.HttpClient;
  signal: AbortSignal;
}

/**
 * The sandbox only ever calls this machine: it stands in for Twilio during local
 * development and tests, and a misconfigured URL must not send traffic elsewhere.
 */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function postSigned(post: SignedPost): Promise<WebhookResult> {
  if (!isLoopbackUrl(post.url)) {
    return { status: null, body: null, error: `not a loopback URL, not called: ${post.url}` };
  }
  // The signature covers exactly the URL string that is requested, as Twilio's does.
  const headers = {
    "content-type": "application/x-www-form-urlencoded",
    "user-agent": "TwilioProxy/1.1",
    "x-twilio-signature": twilioSignature(post.authToken, post.url, post.params),
    "i-twilio-idempotency-token": post.idempotencyToken,
  };
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error("webhook timed out")), WEBHOOK_TIMEOUT_MS);
  try {
    const response = await fetch(post.url, {
      method: "POST",
      headers,
      body: new URLSearchParams(post.params).toString(),
      client: post.client,
      signal: AbortSignal.any([post.signal, timeout.signal]),
    });
    return { status: response.status, body: await response.text(), error: null };
  } catch (error) {
    // A shutdown must stop the caller too, not look like a webhook that failed.
    if (post.signal.aborted) throw error;
    return { status: null, body: null, error: errorMessage(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function isSuccess(result: WebhookResult): boolean {
  return result.status !== null && result.status >= 200 && result.status < 300;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
