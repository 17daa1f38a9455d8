/**
 * Twilio's request signature, checked before anything else is read: the `twilio`
 * package's own `validateRequest` (only its webhooks module is imported, which keeps the
 * cold start low), against the public URL Twilio called. Behind the platform's proxy the
 * function sees its own path without `/functions/v1`; the URL Twilio signed is
 * PUBLIC_BASE_URL (or SUPABASE_URL) + `/functions/v1` + that path + the query string.
 */
import type { Context, MiddlewareHandler } from "hono";
import { validateRequest } from "twilio/lib/webhooks/webhooks.js";
import {
  ForbiddenError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from "../_shared/errors.ts";

/** Twilio's webhook parameters are a few kilobytes; anything much larger is not Twilio. */
export const MAX_WEBHOOK_BYTES = 64 * 1024;

export type SignedVariables = { params: Record<string, string> };

/** The URL Twilio signed for a request the function received at `requestUrl`. */
export function signedUrl(publicBaseUrl: string, requestUrl: string): string {
  const url = new URL(requestUrl);
  return `${publicBaseUrl.replace(/\/+$/, "")}/functions/v1${url.pathname}${url.search}`;
}

/**
 * Refuses (403) a request whose X-Twilio-Signature is missing or does not match the body
 * and URL; otherwise sets `params` (the form parameters) for the handler.
 */
export function verifyTwilioSignature(
  authToken: string | (() => Promise<string>),
  publicBaseUrl: string,
  options: { beforeRefusal?: (c: Context) => Promise<void> } = {},
): MiddlewareHandler<{ Variables: SignedVariables }> {
  // A refused request may first be counted against its sender (and refused harder, 429).
  const refuse = async (c: Context, error: Error): Promise<never> => {
    await options.beforeRefusal?.(c);
    throw error;
  };
  return async (c, next) => {
    const signature = c.req.header("x-twilio-signature");
    if (!signature) {
      return await refuse(
        c,
        new ForbiddenError("missing X-Twilio-Signature: only Twilio may call this endpoint"),
      );
    }
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
      throw new UnsupportedMediaTypeError(
        "Twilio webhooks are application/x-www-form-urlencoded",
      );
    }
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > MAX_WEBHOOK_BYTES) {
      throw new PayloadTooLargeError(`a webhook body is at most ${MAX_WEBHOOK_BYTES} bytes`);
    }
    const raw = await c.req.text();
    if (new TextEncoder().encode(raw).length > MAX_WEBHOOK_BYTES) {
      throw new PayloadTooLargeError(`a webhook body is at most ${MAX_WEBHOOK_BYTES} bytes`);
    }
    const params: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(raw)) params[key] = value;
    const url = signedUrl(publicBaseUrl, c.req.url);
    const token = typeof authToken === "string" ? authToken : await authToken();
    if (!validateRequest(token, signature, url, params)) {
      return await refuse(c, new ForbiddenError("X-Twilio-Signature does not match this request"));
    }
    c.set("params", params);
    await next();
  };
}
