/**
 * The twilio function's signature check (supabase/functions/twilio/signature.ts), in
 * process: signatures computed with the `twilio` package for the public URL Twilio calls.
 * A valid signature passes the form parameters on; a tampered body, a wrong auth token, a
 * wrong URL (another path, host, query or scheme), a missing or empty header, a body that
 * is not a form, and an oversized body are refused before the handler runs.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { onAppError } from "../supabase/functions/_shared/errors.ts";
import {
  MAX_WEBHOOK_BYTES,
  signedUrl,
  verifyTwilioSignature,
} from "../supabase/functions/twilio/signature.ts";

const TOKEN = "f".repeat(32);
const PUBLIC = "https://project.example.supabase.co";
const URL_STATUS = `${PUBLIC}/functions/v1/twilio/status`;
const PARAMS = {
  MessageSid: "SM" + "a".repeat(32),
  MessageStatus: "delivered",
  To: "+14155550100",
  Body: "Hi & welcome, ünïcode 👋",
};

let handled = 0;
const app = new Hono().basePath("/twilio");
app.use(verifyTwilioSignature(TOKEN, PUBLIC));
app.post("/status", (c) => {
  handled++;
  return c.json(c.get("params" as never));
});
app.onError(onAppError);

/** As the platform's proxy hands it to the function: its own host, path without /functions/v1. */
function post(
  body: string,
  headers: Record<string, string>,
  path = "/twilio/status",
): Promise<Response> {
  return Promise.resolve(app.request(`http://127.0.0.1:8000${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  }));
}

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
const sign = (url: string, params: Record<string, string>, token = TOKEN) =>
  getExpectedTwilioSignature(token, url, params);

async function refused(response: Response, status: number, message: RegExp): Promise<void> {
  const before = handled;
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  assert.match(body.error.message, message);
  assert.equal(handled, before, "the handler must not run");
}

Deno.test("signature: the URL Twilio signed is the public base + /functions/v1 + path + query", () => {
  assert.equal(
    signedUrl(PUBLIC + "/", "http://127.0.0.1:8000/twilio/status?x=1&y=2"),
    `${PUBLIC}/functions/v1/twilio/status?x=1&y=2`,
  );
});

Deno.test("signature: a valid signature passes every parameter to the handler", async () => {
  const before = handled;
  const response = await post(form(PARAMS), { "x-twilio-signature": sign(URL_STATUS, PARAMS) });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), PARAMS);
  assert.equal(handled, before + 1);
});

Deno.test("signature: a query string is part of what Twilio signs", async () => {
  const url = `${URL_STATUS}?attempt=2`;
  const ok = await post(
    form(PARAMS),
    { "x-twilio-signature": sign(url, PARAMS) },
    "/twilio/status?attempt=2",
  );
  assert.equal(ok.status, 200);
  await refused(
    await post(
      form(PARAMS),
      { "x-twilio-signature": sign(URL_STATUS, PARAMS) },
      "/twilio/status?attempt=2",
    ),
    403,
    /does not match/,
  );
});

Deno.test("signature: a tampered body is refused", async () => {
  const signature = sign(URL_STATUS, PARAMS);
  for (
    const tampered of [
      { ...PARAMS, MessageStatus: "failed" },
      { ...PARAMS, Extra: "1" },
      { MessageSid: PARAMS.MessageSid, MessageStatus: PARAMS.MessageStatus, To: PARAMS.To },
    ]
  ) {
    await refused(
      await post(form(tampered), { "x-twilio-signature": signature }),
      403,
      /does not match/,
    );
  }
});

Deno.test("signature: a signature made with another auth token is refused", async () => {
  await refused(
    await post(form(PARAMS), { "x-twilio-signature": sign(URL_STATUS, PARAMS, "e".repeat(32)) }),
    403,
    /does not match/,
  );
});

Deno.test("signature: a signature for another URL is refused", async () => {
  for (
    const url of [
      `${PUBLIC}/functions/v1/twilio/inbound`,
      `https://other.example.supabase.co/functions/v1/twilio/status`,
      `http://project.example.supabase.co/functions/v1/twilio/status`,
      `http://127.0.0.1:8000/twilio/status`,
      `${URL_STATUS}?x=1`,
    ]
  ) {
    await refused(
      await post(form(PARAMS), { "x-twilio-signature": sign(url, PARAMS) }),
      403,
      /does not match/,
    );
  }
});

Deno.test("signature: a missing or empty header is refused", async () => {
  await refused(await post(form(PARAMS), {}), 403, /missing X-Twilio-Signature/);
  await refused(
    await post(form(PARAMS), { "x-twilio-signature": "" }),
    403,
    /missing X-Twilio-Signature/,
  );
  await refused(
    await post(form(PARAMS), { "x-twilio-signature": "not base64 at all" }),
    403,
    /does not match/,
  );
});

Deno.test("signature: a body that is not a form is refused with 415", async () => {
  const response = await app.request("http://127.0.0.1:8000/twilio/status", {
    method: "POST",
    headers: { "content-type": "application/json", "x-twilio-signature": sign(URL_STATUS, PARAMS) },
    body: JSON.stringify(PARAMS),
  });
  await refused(response, 415, /x-www-form-urlencoded/);
});

Deno.test("signature: an oversized body is refused with 413, signed or not", async () => {
  const big = { ...PARAMS, Body: "x".repeat(MAX_WEBHOOK_BYTES) };
  await refused(
    await post(form(big), { "x-twilio-signature": sign(URL_STATUS, big) }),
    413,
    /at most/,
  );
});
