/**
 * Contract tests of the local Twilio sandbox: what it answers must match Twilio's
 * OpenAPI description and error codes, and what it sends must pass the `twilio`
 * package's own signature check, because our functions trust both.
 */
import assert from "node:assert/strict";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { getExpectedTwilioSignature, validateRequest } from "twilio/lib/webhooks/webhooks.js";
import {
  countSegments,
  startTwilioSandbox,
  type TwilioSandbox,
  twilioSignature,
} from "../local/twilio-sandbox.ts";
import {
  isTwilioOptOut,
  OPT_OUT_REPLIES,
  QUESTION_REPLIES,
} from "../local/twilio-sandbox/replies.ts";

const ACCOUNT_SID = "AC" + "5f0e".repeat(8);
const OTHER_ACCOUNT_SID = "AC" + "0".repeat(32);
const AUTH_TOKEN = "sandbox-test-auth-token";
const SERVICE_SID = "MG" + "1a".repeat(16);
const FROM = "+15005550001";
const TO = "+15551230001";
const MESSAGES_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;

// ---------------------------------------------------------------------------------
// Schemas from Twilio's OpenAPI file
// ---------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

// Twilio's own schemas, extracted unchanged into the repository so the tests stand alone.
const openapi = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/twilio/twilio_api_v2010.extract.json", import.meta.url),
  ),
) as JsonObject;

/** Inlines local `$ref`s (`#/components/schemas/…`) so the schema stands alone. */
function resolveRefs(node: Json, depth = 0): Json {
  if (depth > 20) throw new Error("$ref nesting too deep");
  if (Array.isArray(node)) return node.map((item) => resolveRefs(item, depth));
  if (node === null || typeof node !== "object") return node;
  const ref = node["$ref"];
  if (typeof ref === "string") return resolveRefs(pointer(ref), depth + 1);
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, resolveRefs(value, depth)]),
  );
}

function pointer(ref: string): Json {
  assert.ok(ref.startsWith("#/"), `only local refs are expected, got ${ref}`);
  return ref.slice(2).split("/").reduce<Json>((node, key) => (node as JsonObject)[key], openapi);
}

/**
 * The OpenAPI schema lists properties but requires none; the sandbox promises every
 * property and no others, so the contract adds `required` and `additionalProperties`.
 */
function contractSchema(name: string, optional: string[] = []): JsonObject {
  const schemas = (openapi.components as JsonObject).schemas as JsonObject;
  const schema = resolveRefs(schemas[name]) as JsonObject;
  const properties = Object.keys(schema.properties as JsonObject);
  return {
    ...schema,
    required: properties.filter((p) => !optional.includes(p)),
    additionalProperties: false,
  };
}

/** Ajv in strict mode knows OpenAPI 3.0's `nullable`; Twilio's own formats are added here. */
function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  // ajv-formats is CommonJS: Deno's default import is module.exports, whose `default` is the plugin.
  addFormats.default(ajv);
  ajv.addKeyword("x-twilio");
  ajv.addFormat("phone-number", /^(\+[1-9]\d{1,14}|\d{5,6}|[A-Za-z0-9 ]{1,11}|[a-z]+:.+)$/);
  ajv.addFormat(
    "date-time-rfc-2822",
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/,
  );
  ajv.addFormat("currency", /^[A-Za-z]{3}$/);
  // Applies to objects, which formats never check; registered so strict mode accepts it.
  ajv.addFormat("uri-map", true);
  return ajv;
}

const ajv = createAjv();
const validateMessage = ajv.compile(contractSchema("api.v2010.account.message"));
const validateAccount = ajv.compile(contractSchema("api.v2010.account", ["auth_token"]));

function assertValid(validate: ValidateFunction, value: unknown): void {
  assert.ok(validate(value), ajv.errorsText(validate.errors, { separator: "\n" }));
}

// ---------------------------------------------------------------------------------
// Harness: the sandbox in-process, a receiver for its webhooks, small HTTP helpers
// ---------------------------------------------------------------------------------

interface Received {
  path: string;
  url: string;
  headers: Headers;
  params: Record<string, string>;
}

type Responder = (request: Received, count: number) => Response;

interface Receiver {
  url: string;
  received: Received[];
  shutdown(): Promise<void>;
}

function startReceiver(respond: Responder): Receiver {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const entry: Received = {
      path: new URL(req.url).pathname,
      url: req.url,
      headers: req.headers,
      params: Object.fromEntries(new URLSearchParams(await req.text())),
    };
    received.push(entry);
    return respond(entry, received.length);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    shutdown: () => server.shutdown(),
  };
}

interface Reply {
  status: number;
  headers: Headers;
  json: JsonObject;
}

interface Harness {
  sandbox: TwilioSandbox;
  receiver: Receiver;
  logs: Record<string, unknown>[];
  call(path: string, init?: RequestInit): Promise<Reply>;
  send(params: Record<string, string | string[]>, auth?: string, path?: string): Promise<Reply>;
  configure(config: unknown): Promise<Reply>;
}

function basicAuth(username: string, password: string): string {
  return "Basic " + btoa(`${username}:${password}`);
}

const GOOD_AUTH = basicAuth(ACCOUNT_SID, AUTH_TOKEN);

/** Fast, seeded carrier so tests are quick and repeatable. */
const TEST_CONFIG = { latency_ms: { min: 1, max: 5 }, seed: 42, callback_retry_delay_ms: 5 };

interface HarnessOptions {
  respond?: Responder;
  config?: JsonObject;
}

async function withHarness(
  options: HarnessOptions,
  test: (h: Harness) => Promise<void>,
): Promise<void> {
  const logs: Record<string, unknown>[] = [];
  const receiver = startReceiver(options.respond ?? (() => new Response("ok")));
  const sandbox = startTwilioSandbox({
    port: 0,
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    log: (entry) => logs.push(entry),
  });
  const call = async (path: string, init?: RequestInit): Promise<Reply> => {
    const response = await fetch(sandbox.url + path, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: JSON.parse(text) };
  };
  const h: Harness = {
    sandbox,
    receiver,
    logs,
    call,
    send: (params, auth = GOOD_AUTH, path = MESSAGES_PATH) =>
      call(path, { method: "POST", headers: { authorization: auth }, body: formOf(params) }),
    configure: (config) =>
      call("/_sandbox/config", { method: "POST", body: JSON.stringify(config) }),
  };
  try {
    const configured = await h.configure({ ...TEST_CONFIG, ...options.config });
    assert.equal(configured.status, 200, JSON.stringify(configured.json));
    await test(h);
  } finally {
    await sandbox.shutdown();
    await receiver.shutdown();
  }
}

function formOf(params: Record<string, string | string[]>): URLSearchParams {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) form.append(key, item);
  }
  return form;
}

async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function callbacksFor(receiver: Receiver, sid: string): Received[] {
  return receiver.received.filter((r) => r.params.MessageSid === sid);
}

function statusesOf(received: Received[]): string[] {
  return received.map((r) => r.params.MessageStatus);
}

const FINAL = new Set(["delivered", "undelivered", "failed"]);

async function waitForFinal(h: Harness, sid: string): Promise<JsonObject> {
  return await waitFor(async () => {
    const reply = await h.call(`${MESSAGES_PATH.replace(".json", "")}/${sid}.json`, {
      headers: { authorization: GOOD_AUTH },
    });
    return FINAL.has(reply.json.status as string) && reply.json;
  }, `final status of ${sid}`);
}

function assertTwilioError(reply: Reply, status: number, code: number): void {
  assert.equal(reply.status, status, JSON.stringify(reply.json));
  assert.deepEqual(Object.keys(reply.json).filter((k) => k !== "detail").sort(), [
    "code",
    "message",
    "more_info",
    "status",
  ]);
  assert.equal(reply.json.code, code);
  assert.equal(reply.json.status, status);
  assert.equal(reply.json.more_info, `https://www.twilio.com/docs/errors/${code}`);
  assert.equal(typeof reply.json.message, "string");
  assert.ok((reply.json.message as string).length > 0);
}

/**
 * Counts timers that are set but neither fired nor cleared. Deno's test sanitizer no
 * longer reports leaked timers, so cancellation on shutdown is checked explicitly.
 */
function trackTimers(): { pending: () => number; restore: () => void } {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const live = new Set<ReturnType<typeof setTimeout>>();
  globalThis.setTimeout = ((handler: () => void, ms?: number) => {
    const id = realSet(() => {
      live.delete(id);
      handler();
    }, ms);
    live.add(id);
    return id;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((id?: ReturnType<typeof setTimeout>) => {
    if (id !== undefined) live.delete(id);
    realClear(id);
  }) as typeof clearTimeout;
  return {
    pending: () => live.size,
    restore: () => {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    },
  };
}

/** Verifies a webhook the way our functions do, with the twilio package itself. */
function signatureValid(request: Received, params = request.params, url = request.url): boolean {
  return validateRequest(AUTH_TOKEN, request.headers.get("x-twilio-signature") ?? "", url, params);
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

Deno.test("twilioSignature matches Twilio's documented example and the twilio package", () => {
  const params = {
    CallSid: "CA1234567890ABCDE",
    Caller: "+12349013030",
    Digits: "1234",
    From: "+12349013030",
    To: "+18005551212",
  };
  const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  assert.equal(twilioSignature("12345", url, params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  assert.equal(
    twilioSignature(AUTH_TOKEN, url, { Body: "ü €", a: "1" }),
    getExpectedTwilioSignature(AUTH_TOKEN, url, { Body: "ü €", a: "1" }),
  );
  assert.notEqual(
    twilioSignature("12345", url, { ...params, Digits: "1235" }),
    "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
  );
});

Deno.test("countSegments follows GSM-7 and UCS-2 limits", () => {
  assert.equal(countSegments(""), 1);
  assert.equal(countSegments("a".repeat(160)), 1);
  assert.equal(countSegments("a".repeat(161)), 2);
  assert.equal(countSegments("a".repeat(306)), 2);
  assert.equal(countSegments("a".repeat(307)), 3);
  // Extension characters take two septets.
  assert.equal(countSegments("€".repeat(80)), 1);
  assert.equal(countSegments("€".repeat(81)), 2);
  // One character outside GSM-7 switches the whole body to UCS-2.
  assert.equal(countSegments("ł".repeat(70)), 1);
  assert.equal(countSegments("ł".repeat(71)), 2);
  assert.equal(countSegments("😀".repeat(35)), 1);
  assert.equal(countSegments("😀".repeat(36)), 2);
});

Deno.test("the schema check really checks: broken Message resources fail it", () => {
  const valid = {
    account_sid: ACCOUNT_SID,
    api_version: "2010-04-01",
    body: "hi",
    date_created: "Thu, 26 Nov 2026 07:18:53 +0000",
    date_sent: null,
    date_updated: "Thu, 26 Nov 2026 07:18:53 +0000",
    direction: "outbound-api",
    error_code: null,
    error_message: null,
    from: FROM,
    messaging_service_sid: null,
    num_media: "0",
    num_segments: "1",
    price: null,
    price_unit: "USD",
    sid: "SM" + "ab".repeat(16),
    status: "queued",
    subresource_uris: { media: "/x/Media.json" },
    to: TO,
    uri: "/x.json",
  };
  assertValid(validateMessage, valid);
  const broken: Array<[string, Record<string, unknown>]> = [
    ["status outside the enum", { ...valid, status: "bogus" }],
    ["num_segments as a number", { ...valid, num_segments: 1 }],
    ["error_code as a string", { ...valid, error_code: "30007" }],
    ["sid with a wrong prefix", { ...valid, sid: "XX" + "ab".repeat(16) }],
    ["date in ISO 8601", { ...valid, date_created: "2026-11-26T07:18:53Z" }],
    ["direction null (not nullable)", { ...valid, direction: null }],
    ["unknown property", { ...valid, extra: 1 }],
  ];
  for (const [what, resource] of broken) {
    assert.equal(validateMessage(resource), false, `${what} should fail the schema`);
  }
  const { price: _dropped, ...missingPrice } = valid;
  assert.equal(validateMessage(missingPrice), false, "a missing property should fail");
});

Deno.test("created and fetched Messages match Twilio's Message schema", async () => {
  await withHarness({}, async (h) => {
    const sms = await h.send({ To: TO, From: FROM, Body: "Hello from the sandbox", Foo: "x" });
    assert.equal(sms.status, 201);
    assertValid(validateMessage, sms.json);
    assert.match(sms.json.sid as string, /^SM[0-9a-f]{32}$/);
    assert.equal(sms.json.status, "queued");
    assert.equal(sms.json.account_sid, ACCOUNT_SID);
    assert.equal(sms.json.direction, "outbound-api");
    assert.equal(sms.json.price, null);
    assert.equal(sms.json.date_sent, null);
    assert.equal(sms.json.num_segments, "1");
    assert.equal(sms.json.uri, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sms.json.sid}.json`);

    const long = await h.send({ To: TO, From: FROM, Body: "x".repeat(161) });
    assert.equal(long.json.num_segments, "2");

    const service = await h.send({ To: TO, MessagingServiceSid: SERVICE_SID, Body: "hi" });
    assert.equal(service.status, 201);
    assertValid(validateMessage, service.json);
    assert.equal(service.json.status, "accepted");
    assert.equal(service.json.from, null);
    assert.equal(service.json.num_segments, "0");
    assert.equal(service.json.messaging_service_sid, SERVICE_SID);

    const mms = await h.send({
      To: TO,
      From: FROM,
      MediaUrl: ["https://example.com/a.png", "https://example.com/b.png"],
    });
    assert.equal(mms.status, 201);
    assertValid(validateMessage, mms.json);
    assert.match(mms.json.sid as string, /^MM[0-9a-f]{32}$/);
    assert.equal(mms.json.num_media, "2");

    const final = await waitForFinal(h, sms.json.sid as string);
    assertValid(validateMessage, final);
    assert.equal(final.status, "delivered");
    assert.match(final.price as string, /^-\d+\.\d{5}$/);
    assert.notEqual(final.date_sent, null);

    const picked = await waitForFinal(h, service.json.sid as string);
    assertValid(validateMessage, picked);
    assert.equal(picked.from, "+15005550006");
    assert.equal(picked.num_segments, "1");
  });
});

Deno.test("the Account resource proves the credentials and matches Twilio's schema", async () => {
  await withHarness({}, async (h) => {
    const path = `/2010-04-01/Accounts/${ACCOUNT_SID}.json`;
    const account = await h.call(path, { headers: { authorization: GOOD_AUTH } });
    assert.equal(account.status, 200);
    assertValid(validateAccount, account.json);
    assert.equal(account.json.sid, ACCOUNT_SID);
    assert.equal(account.json.status, "active");
    assert.equal(account.json.type, "Full");
    assert.equal("auth_token" in account.json, false);

    const denied = await h.call(path, { headers: { authorization: basicAuth(ACCOUNT_SID, "x") } });
    assertTwilioError(denied, 401, 20003);
  });
});

Deno.test("authentication failures answer 20003 like Twilio", async () => {
  await withHarness({}, async (h) => {
    const params = { To: TO, From: FROM, Body: "hi" };
    const missing = await h.call(MESSAGES_PATH, { method: "POST", body: formOf(params) });
    assertTwilioError(missing, 401, 20003);
    assert.match(missing.headers.get("www-authenticate") ?? "", /^Basic/);
    assertTwilioError(await h.send(params, basicAuth(ACCOUNT_SID, "wrong")), 401, 20003);
    assertTwilioError(await h.send(params, basicAuth(OTHER_ACCOUNT_SID, AUTH_TOKEN)), 401, 20003);
    assertTwilioError(await h.send(params, "Basic !!!not-base64"), 401, 20003);
    const otherPath = `/2010-04-01/Accounts/${OTHER_ACCOUNT_SID}/Messages.json`;
    assertTwilioError(await h.send(params, GOOD_AUTH, otherPath), 401, 20003);
    const listed = await h.call("/_sandbox/messages");
    assert.deepEqual(listed.json.messages, [], "refused requests must not be accepted");
  });
});

Deno.test("invalid create requests get Twilio's 4xx codes", async () => {
  await withHarness({}, async (h) => {
    const ok = { To: TO, From: FROM, Body: "hi" };
    const cases: Array<[string, Record<string, string>, number]> = [
      ["missing To", { From: FROM, Body: "hi" }, 21604],
      ["To not E.164", { ...ok, To: "5551230001" }, 21211],
      ["To with letters", { ...ok, To: "+1555CALLNOW" }, 21211],
      ["no From nor MessagingServiceSid", { To: TO, Body: "hi" }, 21603],
      ["From not a sender", { ...ok, From: "+0123" }, 21212],
      ["From equals To", { ...ok, From: TO }, 21266],
      ["bad MessagingServiceSid", { To: TO, MessagingServiceSid: "MG123", Body: "hi" }, 21705],
      ["no Body nor MediaUrl", { To: TO, From: FROM }, 21602],
      ["Body over 1600", { ...ok, Body: "x".repeat(1601) }, 21617],
      ["StatusCallback not a URL", { ...ok, StatusCallback: "not a url" }, 21609],
      ["ValidityPeriod out of range", { ...ok, ValidityPeriod: "0" }, 21624],
      ["MediaUrl not a URL", { To: TO, From: FROM, MediaUrl: "nope" }, 21620],
    ];
    for (const [what, params, code] of cases) {
      const reply = await h.send(params);
      assert.equal(reply.json.code, code, `${what}: ${JSON.stringify(reply.json)}`);
      assertTwilioError(reply, 400, code);
    }
    assert.equal((await h.send({ ...ok, Body: "x".repeat(1600) })).status, 201);
    assert.equal((await h.send({ ...ok, ValidityPeriod: "36000" })).status, 201);
  });
});

Deno.test("opted-out and landline recipients are refused with 21610 and 21614", async () => {
  const optedOut = "+15551230002";
  const landline = "+15551230003";
  await withHarness({ config: { opted_out: [optedOut], landlines: [landline] } }, async (h) => {
    const stopped = await h.send({ To: optedOut, From: FROM, Body: "hi" });
    assertTwilioError(stopped, 400, 21610);
    assert.equal(stopped.json.message, "Attempt to send to unsubscribed recipient");
    const fixed = await h.send({ To: landline, From: FROM, Body: "hi" });
    assertTwilioError(fixed, 400, 21614);
    assert.equal(fixed.json.message, "'To' number is not a valid mobile number");
    assert.equal((await h.send({ To: TO, From: FROM, Body: "hi" })).status, 201);

    await h.configure({ opted_out: [] });
    assert.equal((await h.send({ To: optedOut, From: FROM, Body: "hi" })).status, 201);
  });
});

Deno.test("rate limits answer 429 with 20429", async () => {
  await withHarness({ config: { rate_limit_429: 1 } }, async (h) => {
    const limited = await h.send({ To: TO, From: FROM, Body: "hi" });
    assertTwilioError(limited, 429, 20429);
    assert.equal(limited.json.message, "Too Many Requests");

    await h.configure({ rate_limit_429: 0, max_mps_per_from: 2 });
    assert.equal((await h.send({ To: TO, From: FROM, Body: "1" })).status, 201);
    assert.equal((await h.send({ To: TO, From: FROM, Body: "2" })).status, 201);
    assertTwilioError(await h.send({ To: TO, From: FROM, Body: "3" }), 429, 20429);
    // The limit is per sender.
    assert.equal((await h.send({ To: TO, From: "+15005550002", Body: "1" })).status, 201);
  });
});

Deno.test("429s can carry Retry-After; server errors answer 500 with 20500", async () => {
  await withHarness({ config: { rate_limit_429: 1 } }, async (h) => {
    const plain = await h.send({ To: TO, From: FROM, Body: "hi" });
    assertTwilioError(plain, 429, 20429);
    assert.equal(plain.headers.get("retry-after"), null, "Twilio documents no Retry-After");

    await h.configure({ retry_after_seconds: 7 });
    const limited = await h.send({ To: TO, From: FROM, Body: "hi" });
    assertTwilioError(limited, 429, 20429);
    assert.equal(limited.headers.get("retry-after"), "7");

    await h.configure({ rate_limit_429: 0, server_error_rate: 1 });
    assertTwilioError(await h.send({ To: TO, From: FROM, Body: "hi" }), 500, 20500);
    // Validation still comes first, as with Twilio.
    assertTwilioError(await h.send({ To: "555", From: FROM, Body: "hi" }), 400, 21211);
    assert.deepEqual((await h.call("/_sandbox/messages")).json.messages, [], "nothing stored");
  });
});

Deno.test("a delayed answer comes after the message was accepted", async () => {
  await withHarness({ config: { response_delay_ms: 300 } }, async (h) => {
    const started = performance.now();
    const controller = new AbortController();
    const send = fetch(h.sandbox.url + MESSAGES_PATH, {
      method: "POST",
      headers: { authorization: GOOD_AUTH },
      body: formOf({ To: TO, From: FROM, Body: "slow" }),
      signal: controller.signal,
    });
    // While the client waits, the message already exists: the answer, not the send, is late.
    const listed = await waitFor(async () => {
      const messages = (await h.call("/_sandbox/messages")).json.messages as JsonObject[];
      return messages.length === 1 && messages;
    }, "the accepted message");
    assert.equal(listed[0].body, "slow");
    controller.abort();
    await assert.rejects(send);

    await h.configure({ response_delay_ms: 100 });
    const reply = await h.send({ To: TO, From: FROM, Body: "late" });
    assert.equal(reply.status, 201);
    assert.ok(performance.now() - started >= 100, "the answer waited");
  });
});

Deno.test("unknown resources and paths answer 20404", async () => {
  await withHarness({}, async (h) => {
    const unknownSid = "SM" + "0".repeat(32);
    const message = await h.call(
      `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${unknownSid}.json`,
      {
        headers: { authorization: GOOD_AUTH },
      },
    );
    assertTwilioError(message, 404, 20404);
    assertTwilioError(await h.call("/nowhere"), 404, 20404);
    assertTwilioError(await h.call("/_sandbox/nowhere"), 404, 20404);
    const calls = await h.call(`/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`, {
      headers: { authorization: GOOD_AUTH },
    });
    assertTwilioError(calls, 404, 20404);
    const wrongMethod = await h.call(MESSAGES_PATH, {
      method: "PUT",
      headers: { authorization: GOOD_AUTH },
    });
    assertTwilioError(wrongMethod, 405, 20004);
  });
});

Deno.test("status callbacks run queued → sent → delivered, signed as Twilio signs", async () => {
  await withHarness({}, async (h) => {
    const statusUrl = `${h.receiver.url}/twilio/status?tenant=a%20b`;
    const sent = await h.send({ To: TO, From: FROM, Body: "hi", StatusCallback: statusUrl });
    const sid = sent.json.sid as string;
    const callbacks = await waitFor(() => {
      const got = callbacksFor(h.receiver, sid);
      return got.length === 3 && got;
    }, "three callbacks");
    assert.deepEqual(statusesOf(callbacks), ["queued", "sent", "delivered"]);

    for (const callback of callbacks) {
      assert.equal(callback.path, "/twilio/status");
      assert.match(
        callback.headers.get("content-type") ?? "",
        /application\/x-www-form-urlencoded/,
      );
      assert.ok(signatureValid(callback), `signature of ${callback.params.MessageStatus}`);
      assert.ok(signatureValid(callback, callback.params, statusUrl), "signed over the URL given");
      const tampered = { ...callback.params, To: "+15559999999" };
      assert.equal(signatureValid(callback, tampered), false, "a tampered param must fail");
      assert.equal(
        validateRequest(
          "another-token",
          callback.headers.get("x-twilio-signature")!,
          callback.url,
          callback.params,
        ),
        false,
      );
      const p = callback.params;
      assert.equal(p.MessageSid, sid);
      assert.equal(p.SmsSid, sid);
      assert.equal(p.AccountSid, ACCOUNT_SID);
      assert.equal(p.From, FROM);
      assert.equal(p.To, TO);
      assert.equal(p.SmsStatus, p.MessageStatus);
      assert.equal(p.ApiVersion, "2010-04-01");
      assert.equal("ErrorCode" in p, false);
    }
    assert.deepEqual(Object.keys(callbacks[0].params).sort(), [
      "AccountSid",
      "ApiVersion",
      "From",
      "MessageSid",
      "MessageStatus",
      "SmsSid",
      "SmsStatus",
      "To",
    ]);
    assert.match(callbacks[2].params.RawDlrDoneDate, /^\d{10}$/);
    assert.equal("RawDlrDoneDate" in callbacks[1].params, false);

    const final = await waitForFinal(h, sid);
    assert.equal(final.status, "delivered");
    const listed = await waitFor(async () => {
      const reply = await h.call("/_sandbox/messages");
      const [message] = reply.json.messages as JsonObject[];
      return (message.callbacks as JsonObject[]).length === 3 && message;
    }, "callbacks recorded");
    assert.deepEqual(
      (listed.callbacks as JsonObject[]).map((c) => [c.status, c.http_status]),
      [["queued", 200], ["sent", 200], ["delivered", 200]],
    );
  });
});

Deno.test("Messaging Service callbacks carry the service SID and the sender it picked", async () => {
  await withHarness({}, async (h) => {
    const sent = await h.send({
      To: TO,
      MessagingServiceSid: SERVICE_SID,
      Body: "hi",
      StatusCallback: `${h.receiver.url}/status`,
    });
    const sid = sent.json.sid as string;
    const callbacks = await waitFor(() => {
      const got = callbacksFor(h.receiver, sid);
      return got.length === 3 && got;
    }, "three callbacks");
    for (const callback of callbacks) {
      assert.equal(callback.params.MessagingServiceSid, SERVICE_SID);
      assert.equal(callback.params.From, "+15005550006");
      assert.ok(signatureValid(callback));
    }
  });
});

Deno.test("undelivered and failed messages end with the configured error code", async () => {
  await withHarness({ config: { delivery_rate: 0, error_mix: { "30007": 1 } } }, async (h) => {
    const url = `${h.receiver.url}/status`;
    const filtered = await h.send({ To: TO, From: FROM, Body: "hi", StatusCallback: url });
    const sid = filtered.json.sid as string;
    const callbacks = await waitFor(() => {
      const got = callbacksFor(h.receiver, sid);
      return got.length === 3 && got;
    }, "three callbacks");
    assert.deepEqual(statusesOf(callbacks), ["queued", "sent", "undelivered"]);
    assert.equal(callbacks[2].params.ErrorCode, "30007");
    assert.equal("ErrorCode" in callbacks[1].params, false);
    assert.ok(signatureValid(callbacks[2]));
    const final = await waitForFinal(h, sid);
    assertValid(validateMessage, final);
    assert.equal(final.status, "undelivered");
    assert.equal(final.error_code, 30007);
    assert.equal(typeof final.error_message, "string");

    // Queue overflow never reaches a carrier: no "sent", status failed.
    await h.configure({ error_mix: { "30001": 1 } });
    const overflow = await h.send({ To: TO, From: FROM, Body: "hi", StatusCallback: url });
    const overflowSid = overflow.json.sid as string;
    const failed = await waitFor(() => {
      const got = callbacksFor(h.receiver, overflowSid);
      return got.length === 2 && got;
    }, "two callbacks");
    assert.deepEqual(statusesOf(failed), ["queued", "failed"]);
    assert.equal(failed[1].params.ErrorCode, "30001");
    const failedFinal = await waitForFinal(h, overflowSid);
    assert.equal(failedFinal.error_code, 30001);
    assert.equal(failedFinal.date_sent, null);
  });
});

Deno.test("duplicate and out-of-order callbacks arrive as configured", async () => {
  const config = { duplicate_callbacks: 1, out_of_order: 1 };
  await withHarness({ config }, async (h) => {
    const url = `${h.receiver.url}/status`;
    const sent = await h.send({ To: TO, From: FROM, Body: "hi", StatusCallback: url });
    const sid = sent.json.sid as string;
    const callbacks = await waitFor(() => {
      const got = callbacksFor(h.receiver, sid);
      return got.length === 6 && got;
    }, "six callbacks");
    const statuses = statusesOf(callbacks);
    assert.deepEqual(statuses, ["queued", "queued", "delivered", "delivered", "sent", "sent"]);
    assert.ok(statuses.indexOf("delivered") < statuses.indexOf("sent"), "delivered before sent");
    for (const callback of callbacks) assert.ok(signatureValid(callback));
    // A duplicate is a redelivery of the same event: same idempotency token.
    const token = (i: number) => callbacks[i].headers.get("i-twilio-idempotency-token");
    assert.equal(token(0), token(1));
    assert.notEqual(token(0), token(2));
    // The late "sent" must not move the resource back.
    assert.equal((await waitForFinal(h, sid)).status, "delivered");
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal((await waitForFinal(h, sid)).status, "delivered");
  });
});

Deno.test("a seed replays the same carrier decisions", async () => {
  const outcomes = async (seed: number) => {
    let results: string[] = [];
    const config = {
      seed,
      delivery_rate: 0.5,
      error_mix: { "30003": 1, "30005": 1, "30007": 2 },
      latency_ms: { min: 0, max: 0 },
    };
    await withHarness({ config }, async (h) => {
      const sids: string[] = [];
      for (let i = 0; i < 12; i++) {
        sids.push((await h.send({ To: TO, From: FROM, Body: `m${i}` })).json.sid as string);
      }
      const finals = [];
      for (const sid of sids) finals.push(await waitForFinal(h, sid));
      results = finals.map((m) => `${m.status}:${m.error_code}`);
    });
    return results;
  };
  const first = await outcomes(7);
  assert.deepEqual(await outcomes(7), first);
  assert.ok(new Set(first).size > 1, `a 50% delivery rate should mix outcomes: ${first}`);
  assert.ok(first.includes("delivered:null"));
});

Deno.test("failing status callbacks are retried a bounded number of times", async () => {
  // The receiver refuses every first attempt.
  const respond: Responder = (_request, count) =>
    new Response(count % 2 === 1 ? "busy" : "ok", { status: count % 2 === 1 ? 500 : 200 });
  await withHarness({ respond, config: { callback_retries: 2 } }, async (h) => {
    const sent = await h.send({
      To: TO,
      From: FROM,
      Body: "hi",
      StatusCallback: `${h.receiver.url}/s`,
    });
    const message = await waitFor(async () => {
      const [m] = (await h.call("/_sandbox/messages")).json.messages as JsonObject[];
      return (m.callbacks as JsonObject[]).length === 6 && m;
    }, "six callback attempts");
    assert.equal(message.sid, sent.json.sid);
    assert.deepEqual(
      (message.callbacks as JsonObject[]).map((c) => [c.status, c.http_status, c.attempt]),
      [
        ["queued", 500, 1],
        ["queued", 200, 2],
        ["sent", 500, 1],
        ["sent", 200, 2],
        ["delivered", 500, 1],
        ["delivered", 200, 2],
      ],
    );
    assert.equal(h.logs.filter((l) => l.event === "status_callback_failed").length, 3);
  });

  // Nobody listening: each step gives up after 1 + callback_retries attempts.
  const closed = startReceiver(() => new Response("ok"));
  const deadUrl = `${closed.url}/status`;
  await closed.shutdown();
  await withHarness({ config: { callback_retries: 1 } }, async (h) => {
    const sent = await h.send({ To: TO, From: FROM, Body: "hi", StatusCallback: deadUrl });
    const message = await waitFor(async () => {
      const [m] = (await h.call("/_sandbox/messages")).json.messages as JsonObject[];
      return (m.callbacks as JsonObject[]).length === 6 && m;
    }, "six failed attempts");
    for (const attempt of message.callbacks as JsonObject[]) {
      assert.equal(attempt.http_status, null);
      assert.equal(typeof attempt.error, "string");
    }
    assert.equal((await waitForFinal(h, sent.json.sid as string)).status, "delivered");
    assert.equal((await h.send({ To: TO, From: FROM, Body: "still up" })).status, 201);
  });
});

Deno.test("callbacks never leave this machine", async () => {
  await withHarness({ config: { callback_retries: 0 } }, async (h) => {
    const sent = await h.send({
      To: TO,
      From: FROM,
      Body: "hi",
      StatusCallback: "https://example.com/twilio/status",
    });
    assert.equal(sent.status, 201, "Twilio accepts any valid URL");
    const message = await waitFor(async () => {
      const [m] = (await h.call("/_sandbox/messages")).json.messages as JsonObject[];
      return (m.callbacks as JsonObject[]).length === 3 && m;
    }, "three refused attempts");
    for (const attempt of message.callbacks as JsonObject[]) {
      assert.equal(attempt.http_status, null);
      assert.match(attempt.error as string, /not a loopback URL/);
    }
  });
});

Deno.test("inbound messages post a signed Twilio webhook and return its TwiML", async () => {
  const twiml = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Bye</Message></Response>';
  const respond: Responder = (request) =>
    request.path === "/fail"
      ? new Response("boom", { status: 500 })
      : new Response(twiml, { headers: { "content-type": "text/xml" } });
  let inboundUrl = "";
  await withHarness({ respond }, async (h) => {
    inboundUrl = `${h.receiver.url}/twilio/inbound`;
    await h.configure({ inbound_url: inboundUrl });
    const post = (body: unknown) =>
      h.call("/_sandbox/inbound", { method: "POST", body: JSON.stringify(body) });

    const reply = await post({
      from: TO,
      to: FROM,
      body: "STOP",
      messaging_service_sid: SERVICE_SID,
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    assert.match(reply.json.sid as string, /^SM[0-9a-f]{32}$/);
    assert.equal(reply.json.status, 200);
    assert.equal(reply.json.response, twiml);

    const [webhook] = h.receiver.received;
    assert.equal(webhook.path, "/twilio/inbound");
    assert.ok(signatureValid(webhook));
    assert.ok(signatureValid(webhook, webhook.params, inboundUrl));
    assert.equal(signatureValid(webhook, { ...webhook.params, Body: "START" }), false);
    const p = webhook.params;
    assert.equal(p.MessageSid, reply.json.sid);
    assert.equal(p.SmsMessageSid, reply.json.sid);
    assert.equal(p.SmsSid, reply.json.sid);
    assert.equal(p.AccountSid, ACCOUNT_SID);
    assert.equal(p.MessagingServiceSid, SERVICE_SID);
    assert.equal(p.From, TO);
    assert.equal(p.To, FROM);
    assert.equal(p.Body, "STOP");
    assert.equal(p.NumMedia, "0");
    assert.equal(p.NumSegments, "1");
    assert.equal(p.SmsStatus, "received");
    assert.equal(p.ApiVersion, "2010-04-01");
    assert.equal(p.FromCountry, "US");
    assert.equal(p.ToCountry, "US");
    for (const key of ["FromCity", "FromState", "FromZip", "ToCity", "ToState", "ToZip"]) {
      assert.equal(p[key], "", key);
    }

    const failing = await post({ from: TO, to: FROM, body: "hi", url: `${h.receiver.url}/fail` });
    assert.equal(failing.status, 200);
    assert.equal(failing.json.status, 500);
    assert.equal(failing.json.response, "boom");
    assert.equal(h.receiver.received.at(-1)?.path, "/fail");

    for (const bad of [{ to: FROM, body: "x" }, { from: "5551230001", to: FROM, body: "x" }, {}]) {
      const refused = await post(bad);
      assert.equal(refused.status, 400, JSON.stringify(bad));
      assert.match(refused.json.error as string, /invalid inbound message/);
    }
    const named = await post({ from: TO, to: "+0", body: "x" });
    assert.match(named.json.error as string, /\bto\b/);

    await h.configure({ inbound_url: null });
    const nowhere = await post({ from: TO, to: FROM, body: "x" });
    assert.equal(nowhere.status, 400);
    assert.match(nowhere.json.error as string, /inbound_url/);
  });
});

Deno.test("the inbound URL can come from the sandbox options", async () => {
  await withHarness({}, async (h) => {
    const sandbox = startTwilioSandbox({
      port: 0,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      inboundUrl: `${h.receiver.url}/from-options`,
    });
    try {
      const config = await (await fetch(`${sandbox.url}/_sandbox/config`)).json();
      assert.equal(config.inbound_url, `${h.receiver.url}/from-options`);
      const reply = await fetch(`${sandbox.url}/_sandbox/inbound`, {
        method: "POST",
        body: JSON.stringify({ from: TO, to: FROM, body: "HELP" }),
      });
      assert.equal((await reply.json()).status, 200);
      assert.equal(h.receiver.received.at(-1)?.path, "/from-options");
    } finally {
      await sandbox.shutdown();
    }
  });
  assert.throws(
    () => startTwilioSandbox({ port: 0, accountSid: "AC123", authToken: AUTH_TOKEN }),
    /accountSid/,
  );
});

Deno.test("config changes are validated and name the offending field", async () => {
  await withHarness({}, async (h) => {
    const before = (await h.call("/_sandbox/config")).json;
    const cases: Array<[unknown, string]> = [
      [{ delivery_rate: 2 }, "delivery_rate"],
      [{ delivery_rate: "high" }, "delivery_rate"],
      [{ deliveryRate: 1 }, "deliveryRate"],
      [{ latency_ms: { min: 10, max: 5 } }, "latency_ms.min"],
      [{ latency_ms: { min: 1 } }, "latency_ms.max"],
      [{ error_mix: {} }, "error_mix"],
      [{ error_mix: { "abc": 1 } }, "error_mix.abc"],
      [{ opted_out: ["5551230001"] }, "opted_out.0"],
      [{ landlines: "+15551230001" }, "landlines"],
      [{ rate_limit_429: -0.1 }, "rate_limit_429"],
      [{ max_mps_per_from: 0 }, "max_mps_per_from"],
      [{ duplicate_callbacks: 1.5 }, "duplicate_callbacks"],
      [{ out_of_order: null }, "out_of_order"],
      [{ inbound_url: "ftp://127.0.0.1/x" }, "inbound_url"],
      [{ seed: 1.5 }, "seed"],
      [{ retry_after_seconds: -1 }, "retry_after_seconds"],
      [{ server_error_rate: 2 }, "server_error_rate"],
      [{ response_delay_ms: 60_001 }, "response_delay_ms"],
      [{ reply_rate: 1.5 }, "reply_rate"],
      [{ stop_share: "half" }, "stop_share"],
      [{ reply_delay_ms: { min: 10, max: 5 } }, "reply_delay_ms.min"],
      [{ reply_delay_ms: { min: 0, max: 3_600_001 } }, "reply_delay_ms.max"],
    ];
    for (const [config, field] of cases) {
      const reply = await h.configure(config);
      assert.equal(reply.status, 400, JSON.stringify(config));
      assert.ok(
        (reply.json.error as string).includes(field),
        `${JSON.stringify(config)} should name ${field}: ${reply.json.error}`,
      );
      assert.ok((reply.json.issues as JsonObject[]).some((i) => i.field === field));
    }
    const notJson = await h.call("/_sandbox/config", { method: "POST", body: "{" });
    assert.equal(notJson.status, 400);
    assert.deepEqual((await h.call("/_sandbox/config")).json, before, "bad input changes nothing");

    const changed = await h.configure({ delivery_rate: 0.9, max_mps_per_from: null });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.json, { ...before, delivery_rate: 0.9 });
    assert.deepEqual((await h.call("/_sandbox/config")).json, changed.json);
    assert.deepEqual(Object.keys(changed.json).sort(), [
      "callback_retries",
      "callback_retry_delay_ms",
      "delivery_rate",
      "duplicate_callbacks",
      "error_mix",
      "inbound_url",
      "landlines",
      "latency_ms",
      "max_mps_per_from",
      "opted_out",
      "out_of_order",
      "rate_limit_429",
      "reply_delay_ms",
      "reply_rate",
      "response_delay_ms",
      "retry_after_seconds",
      "seed",
      "server_error_rate",
      "stop_share",
    ]);
  });
});

Deno.test("the message list filters by recipient and can be cleared", async () => {
  await withHarness({ config: { latency_ms: { min: 200, max: 200 } } }, async (h) => {
    const other = "+15551230009";
    const a = await h.send({
      To: TO,
      From: FROM,
      Body: "first",
      StatusCallback: `${h.receiver.url}/s`,
    });
    const b = await h.send({ To: other, From: FROM, Body: "second" });
    const c = await h.send({ To: TO, From: FROM, Body: "third" });
    const all = (await h.call("/_sandbox/messages")).json.messages as JsonObject[];
    assert.deepEqual(all.map((m) => m.sid), [a.json.sid, b.json.sid, c.json.sid]);
    assert.equal(all[0].status_callback, `${h.receiver.url}/s`);
    assert.deepEqual(all[0].callbacks, []);
    const filtered = (await h.call(`/_sandbox/messages?to=${encodeURIComponent(other)}`)).json;
    assert.deepEqual((filtered.messages as JsonObject[]).map((m) => m.sid), [b.json.sid]);

    const cleared = await h.call("/_sandbox/messages", { method: "DELETE" });
    assert.deepEqual(cleared.json, { deleted: 3 });
    assert.deepEqual((await h.call("/_sandbox/messages")).json.messages, []);
    const gone = await h.call(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${a.json.sid}.json`, {
      headers: { authorization: GOOD_AUTH },
    });
    assertTwilioError(gone, 404, 20404);
    // Clearing also cancelled the pending callbacks of the cleared messages.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(h.receiver.received.length, 0);
  });
});

Deno.test("shutdown cancels pending callbacks and timers", async () => {
  const timers = trackTimers();
  try {
    await withHarness({ config: { latency_ms: { min: 10_000, max: 10_000 } } }, async (h) => {
      const callback = `${h.receiver.url}/s`;
      const sent = await h.send({ To: TO, From: FROM, Body: "hi", StatusCallback: callback });
      assert.equal(sent.status, 201);
      assert.ok(timers.pending() > 0, "the carrier waits on a timer");
      const started = Date.now();
      await h.sandbox.shutdown();
      await h.sandbox.shutdown();
      assert.ok(Date.now() - started < 2000, "shutdown must not wait for the carrier");
      assert.equal(timers.pending(), 0, "no timer may outlive the sandbox");
      assert.equal(h.receiver.received.length, 0);
      await assert.rejects(fetch(`${h.sandbox.url}/_sandbox/config`));
    });
  } finally {
    timers.restore();
  }
});

Deno.test("run as a program it logs one JSON line and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "--allow-env", "local/twilio-sandbox.ts"],
    cwd: new URL("..", import.meta.url),
    env: {
      TWILIO_SANDBOX_PORT: "0",
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_SANDBOX_INBOUND_URL: "http://127.0.0.1:9/inbound",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  try {
    while (!stdout.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) break;
      stdout += value;
    }
    const listening = JSON.parse(stdout.split("\n")[0]);
    assert.equal(listening.event, "twilio_sandbox_listening");
    assert.match(listening.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const account = await fetch(`${listening.url}/2010-04-01/Accounts/${ACCOUNT_SID}.json`, {
      headers: { authorization: GOOD_AUTH },
    });
    assert.equal((await account.json()).sid, ACCOUNT_SID);
    const config = await (await fetch(`${listening.url}/_sandbox/config`)).json();
    assert.equal(config.inbound_url, "http://127.0.0.1:9/inbound");
  } finally {
    child.kill("SIGTERM");
    for (let chunk = await lines.read(); !chunk.done; chunk = await lines.read()) {
      stdout += chunk.value;
    }
  }
  const status = await child.status;
  assert.equal(status.code, 0, await stderr);
  assert.equal(stdout.trim().split("\n").length, 1, "exactly one line on stdout");
});

Deno.test("the extracted Twilio schemas equal Twilio's full OpenAPI file, where present", async (t) => {
  const full = new URL("../../shared/twilio/twilio_api_v2010.json", import.meta.url);
  let text: string;
  try {
    text = await Deno.readTextFile(full);
  } catch {
    // The full file lives beside the repository only on the project's own machines.
    await t.step({ name: "full file absent: nothing to compare", ignore: true, fn() {} });
    return;
  }
  const fullSchemas = ((JSON.parse(text) as JsonObject).components as JsonObject)
    .schemas as JsonObject;
  const extract = (openapi.components as JsonObject).schemas as JsonObject;
  assert.ok(Object.keys(extract).length >= 2);
  for (const [name, schema] of Object.entries(extract)) {
    assert.deepEqual(schema, fullSchemas[name], `schema ${name} differs from Twilio's`);
  }
});

// ---------------------------------------------------------------------------------
// Simulated replies
// ---------------------------------------------------------------------------------

/** Recipients +1555123010x, one per message. */
function recipients(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `+1555123${String(100 + i).padStart(4, "0")}`);
}

function inboundWebhooks(receiver: Receiver): Received[] {
  return receiver.received.filter((r) => r.path === "/twilio/inbound");
}

/** Fast replies to the receiver's /twilio/inbound. */
function replyConfig(h: Harness, extra: JsonObject): JsonObject {
  return {
    inbound_url: `${h.receiver.url}/twilio/inbound`,
    reply_delay_ms: { min: 1, max: 5 },
    ...extra,
  };
}

Deno.test("reply_rate 1: every delivered message gets a signed reply, after its delivery", async () => {
  await withHarness({}, async (h) => {
    assert.equal((await h.configure(replyConfig(h, { reply_rate: 1, stop_share: 0 }))).status, 200);
    const statusUrl = `${h.receiver.url}/status`;
    const delivered = recipients(4);
    const sids: string[] = [];
    for (const to of delivered) {
      const sent = await h.send({
        To: to,
        From: FROM,
        Body: "Open house Saturday",
        StatusCallback: statusUrl,
      });
      sids.push(sent.json.sid as string);
    }
    // Messages that are not delivered get no reply.
    await h.configure({ delivery_rate: 0, error_mix: { "30003": 1 } });
    const undelivered = ["+15551239001", "+15551239002"];
    const lost: string[] = [];
    for (const to of undelivered) {
      lost.push(
        (await h.send({ To: to, From: FROM, Body: "hi", StatusCallback: statusUrl })).json
          .sid as string,
      );
    }

    const replies = await waitFor(() => {
      const got = inboundWebhooks(h.receiver);
      return got.length === delivered.length && got;
    }, "a reply to each delivered message");
    for (const sid of lost) assert.equal((await waitForFinal(h, sid)).status, "undelivered");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(
      inboundWebhooks(h.receiver).length,
      delivered.length,
      "no reply to undelivered ones",
    );

    assert.deepEqual(replies.map((r) => r.params.From).sort(), delivered);
    for (const reply of replies) {
      assert.ok(signatureValid(reply), "signed like Twilio's incoming-message webhook");
      assert.equal(reply.params.To, FROM);
      assert.equal(reply.params.SmsStatus, "received");
      assert.equal(reply.params.AccountSid, ACCOUNT_SID);
      assert.match(reply.params.MessageSid, /^SM[0-9a-f]{32}$/);
      assert.ok(QUESTION_REPLIES.includes(reply.params.Body), reply.params.Body);
      // The recipient answers what reached them: after the delivered callback.
      const at = h.receiver.received.indexOf(reply);
      const deliveredAt = h.receiver.received.findIndex((r) =>
        r.params.To === reply.params.From && r.params.MessageStatus === "delivered"
      );
      assert.ok(deliveredAt >= 0 && deliveredAt < at, "the reply follows the delivery");
    }

    const listed = (await h.call("/_sandbox/messages")).json.messages as JsonObject[];
    for (const message of listed) {
      const reply = message.reply as JsonObject | null;
      if (lost.includes(message.sid as string)) {
        assert.equal(reply, null);
        continue;
      }
      assert.ok(reply, `message ${message.sid} lists its reply`);
      const webhook = replies.find((r) => r.params.From === message.to)!;
      assert.equal(reply.sid, webhook.params.MessageSid);
      assert.equal(reply.body, webhook.params.Body);
      assert.equal(reply.http_status, 200);
      assert.equal(reply.error, null);
    }
    assert.deepEqual(
      (await h.call("/_sandbox/config")).json.opted_out,
      [],
      "questions opt nobody out",
    );
  });
});

Deno.test("stop_share 1: every reply opts out; after Twilio's keywords later sends fail with 21610", async () => {
  await withHarness({}, async (h) => {
    assert.equal((await h.configure(replyConfig(h, { reply_rate: 1, stop_share: 1 }))).status, 200);
    const phones = recipients(9);
    for (const to of phones) {
      assert.equal((await h.send({ To: to, From: FROM, Body: "Open house Saturday" })).status, 201);
    }
    const replies = await waitFor(() => {
      const got = inboundWebhooks(h.receiver);
      return got.length === phones.length && got;
    }, "nine replies");
    const bodies = new Map(replies.map((r) => [r.params.From, r.params.Body]));
    for (const body of bodies.values()) assert.ok(OPT_OUT_REPLIES.includes(body), body);
    assert.ok(
      [...bodies.values()].includes("STOP"),
      `seed 42 has a STOP among ${[...bodies.values()]}`,
    );

    const keywords = phones.filter((to) => isTwilioOptOut(bodies.get(to)!));
    assert.ok(keywords.length > 0);
    const config = (await h.call("/_sandbox/config")).json;
    assert.deepEqual([...(config.opted_out as string[])].sort(), keywords);
    for (const to of phones) {
      const again = await h.send({ To: to, From: FROM, Body: "One more thing" });
      if (keywords.includes(to)) assertTwilioError(again, 400, 21610);
      else assert.equal(again.status, 201, `"${bodies.get(to)}" is no keyword to Twilio`);
    }
    // Cleared like any configured opt-out.
    await h.configure({ opted_out: [], reply_rate: 0 });
    assert.equal((await h.send({ To: keywords[0], From: FROM, Body: "Welcome back" })).status, 201);
  });
});

Deno.test("reply_rate 0, the default: no reply ever arrives", async () => {
  await withHarness({}, async (h) => {
    const defaults = (await h.call("/_sandbox/config")).json;
    assert.equal(defaults.reply_rate, 0);
    await h.configure({
      inbound_url: `${h.receiver.url}/twilio/inbound`,
      reply_delay_ms: { min: 0, max: 0 },
    });
    const sids: string[] = [];
    for (const to of recipients(5)) {
      sids.push(
        (await h.send({ To: to, From: FROM, Body: "hi", StatusCallback: `${h.receiver.url}/s` }))
          .json.sid as string,
      );
    }
    for (const sid of sids) assert.equal((await waitForFinal(h, sid)).status, "delivered");
    await waitFor(() => h.receiver.received.length === 15, "every status callback");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(inboundWebhooks(h.receiver), []);
    for (const message of (await h.call("/_sandbox/messages")).json.messages as JsonObject[]) {
      assert.equal(message.reply, null);
    }
  });
});

Deno.test("a seed replays the same replies", async () => {
  const run = async () => {
    let replies: string[] = [];
    const config = { seed: 7, reply_rate: 0.5, stop_share: 0.5, latency_ms: { min: 0, max: 0 } };
    await withHarness({ config }, async (h) => {
      await h.configure(replyConfig(h, {}));
      const phones = recipients(12);
      const sids: string[] = [];
      for (const to of phones) {
        sids.push((await h.send({ To: to, From: FROM, Body: "hi" })).json.sid as string);
      }
      for (const sid of sids) await waitForFinal(h, sid);
      // Replies come within 5 ms of delivery: none is still on its way after half a second
      // without one.
      for (let seen = -1, quiet = 0; quiet < 5;) {
        const now = inboundWebhooks(h.receiver).length;
        quiet = now === seen ? quiet + 1 : 0;
        seen = now;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const listed = (await h.call("/_sandbox/messages")).json.messages as JsonObject[];
      replies = listed.map((m) => `${m.to}: ${(m.reply as JsonObject | null)?.body ?? "-"}`);
    });
    return replies;
  };
  const first = await run();
  assert.deepEqual(await run(), first);
  const answered = first.filter((line) => !line.endsWith(": -"));
  assert.ok(answered.length > 0 && answered.length < first.length, first.join("\n"));
});

Deno.test("a reply without an inbound URL is not posted, but a STOP still opts out", async () => {
  await withHarness({}, async (h) => {
    await h.configure({
      reply_rate: 1,
      stop_share: 1,
      reply_delay_ms: { min: 0, max: 0 },
      seed: 3,
    });
    const phones = recipients(6);
    for (const to of phones) await h.send({ To: to, From: FROM, Body: "hi" });
    const listed = await waitFor(async () => {
      const messages = (await h.call("/_sandbox/messages")).json.messages as JsonObject[];
      return messages.every((m) => m.reply !== null) && messages;
    }, "every reply settled");
    for (const message of listed) {
      const reply = message.reply as JsonObject;
      assert.equal(reply.sid, null);
      assert.equal(reply.http_status, null);
      assert.match(reply.error as string, /inbound_url/);
    }
    assert.equal(
      h.logs.filter((l) => l.event === "simulated_reply_not_sent").length,
      phones.length,
    );
    const keywords = listed.filter((m) => isTwilioOptOut((m.reply as JsonObject).body as string));
    assert.deepEqual(
      [...(await h.call("/_sandbox/config")).json.opted_out as string[]].sort(),
      keywords.map((m) => m.to).sort(),
    );
    assert.deepEqual(h.receiver.received, []);
  });
});

Deno.test("clearing messages cancels replies not yet sent", async () => {
  await withHarness({}, async (h) => {
    await h.configure(replyConfig(h, { reply_rate: 1, reply_delay_ms: { min: 300, max: 300 } }));
    const sent = await h.send({ To: TO, From: FROM, Body: "hi" });
    assert.equal((await waitForFinal(h, sent.json.sid as string)).status, "delivered");
    await h.call("/_sandbox/messages", { method: "DELETE" });
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(inboundWebhooks(h.receiver), []);
  });
});

Deno.test("only a keyword alone is an opt-out to Twilio", () => {
  for (const body of ["STOP", "stop", " Stop ", "UNSUBSCRIBE", "unsubscribe", "StopAll", "quit"]) {
    assert.ok(isTwilioOptOut(body), body);
  }
  for (const body of ["Stop texting me", "Can I stop by Saturday?", "STOP!", "please stop"]) {
    assert.equal(isTwilioOptOut(body), false, body);
  }
  for (const body of QUESTION_REPLIES) assert.equal(isTwilioOptOut(body), false, body);
});
