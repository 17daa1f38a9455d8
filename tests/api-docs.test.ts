/**
 * The API's documentation: each function's OpenAPI document at
 * /functions/v1/<name>/openapi.json, the same documents and one page listing them all at
 * /functions/v1/docs, every route of every function in them; and invalid input answered
 * 422 in the one error shape by every function that validates input, JSON bodies past
 * their limits included.
 */
import assert from "node:assert/strict";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { call, json } from "./support/leads-http.ts";
import { stackEnv } from "./support/stack.ts";

const env = stackEnv() as ReturnType<typeof stackEnv> & Record<string, string>;
const base = `${env.SUPABASE_URL}/functions/v1`;

/** Every route of every function (method and path, as OpenAPI writes them). */
const ROUTES: Record<string, string[]> = {
  leads: [
    "post /import/preview",
    "post /import/execute",
    "get /import/{import_id}/errors",
    "get /export",
  ],
  health: ["get /"],
  twilio: ["post /inbound", "post /status"],
  "campaign-tick": ["post /"],
};

interface OpenApi {
  openapi: string;
  info: { title: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, unknown>>;
}

function routesOf(doc: OpenApi): string[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method} ${path}`)
  ).sort();
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  // The gateway wants a JWT for leads (verify_jwt): the anon key is one.
  const res = await fetch(url, { headers: { authorization: `Bearer ${env.SUPABASE_ANON_KEY}` } });
  return { status: res.status, body: await res.json() };
}

Deno.test("api docs: each function serves its OpenAPI document, with every route", async () => {
  for (const [name, routes] of Object.entries(ROUTES)) {
    const own = await getJson(`${base}/${name}/openapi.json`);
    assert.equal(own.status, 200, `${name}: ${JSON.stringify(own.body)}`);
    const doc = own.body as OpenApi;
    assert.equal(doc.openapi, "3.0.0");
    assert.deepEqual(doc.servers, [{ url: `/functions/v1/${name}` }]);
    assert.deepEqual(routesOf(doc), [...routes].sort(), `${name}: every route documented`);
    const docs = await getJson(`${base}/docs/${name}/openapi.json`);
    assert.deepEqual(docs.body, doc, `${name}: the docs function serves the same document`);
  }
});

Deno.test("api docs: one page lists every function's document", async () => {
  const res = await fetch(`${base}/docs`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  const html = await res.text();
  for (const name of Object.keys(ROUTES)) {
    assert.ok(html.includes(`/functions/v1/docs/${name}/openapi.json`), name);
  }
  const missing = await fetch(`${base}/docs/nothing/openapi.json`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
});

function assertValidationFailed(status: number, body: unknown, where: RegExp, what: string) {
  assert.equal(status, 422, `${what}: ${JSON.stringify(body)}`);
  const { error } = body as {
    error: { code: string; message: string; details?: { path: string; message: string }[] };
  };
  assert.equal(error.code, "validation_failed", what);
  const said = [error.message, ...(error.details ?? []).map((d) => `${d.path}: ${d.message}`)]
    .join("\n");
  assert.match(said, where, what);
}

Deno.test("api docs: invalid input is a 422 in the one error shape, in every function", async () => {
  // leads: a field of the wrong kind, and a body nested past its limits.
  const bad = await call("/import/execute", {
    method: "POST",
    body: JSON.stringify({ import_id: "not-a-uuid" }),
    headers: { "content-type": "application/json" },
  });
  assertValidationFailed(bad.status, json(bad), /import_id/, "leads execute");
  let deep: unknown = "x";
  for (let i = 0; i < 20; i++) deep = { deeper: deep };
  const nested = await call("/import/execute", {
    method: "POST",
    body: JSON.stringify({ import_id: crypto.randomUUID(), mapping: deep }),
    headers: { "content-type": "application/json" },
  });
  assertValidationFailed(nested.status, json(nested), /nested deeper than 8/, "leads, deep JSON");
  const long = await call("/import/execute", {
    method: "POST",
    body: JSON.stringify({ import_id: crypto.randomUUID(), note: "y".repeat(10_001) }),
    headers: { "content-type": "application/json" },
  });
  assertValidationFailed(long.status, json(long), /note: a string of 10001/, "leads, long string");

  // campaign-tick: budget_ms of the wrong kind; a body too large or not JSON.
  const tick = (body: string, type = "application/json") =>
    fetch(`${base}/campaign-tick`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.CAMPAIGN_TICK_SECRET}`, "content-type": type },
      body,
    });
  const wrong = await tick(JSON.stringify({ budget_ms: "soon" }));
  assertValidationFailed(wrong.status, await wrong.json(), /budget_ms/, "campaign-tick");
  const large = await tick(JSON.stringify({ budget_ms: 5_000, pad: "z".repeat(5_000) }));
  assert.equal(large.status, 413, await large.text());
  const text = await tick("budget_ms=5000", "text/plain");
  assert.equal(text.status, 415, await text.text());

  // twilio: a signed request without the parameters read.
  const url = `${base}/twilio/status`;
  const params = { MessageStatus: "delivered" };
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN, url, params),
    },
    body: new URLSearchParams(params),
  });
  assertValidationFailed(res.status, await res.json(), /MessageSid/, "twilio status");
});
