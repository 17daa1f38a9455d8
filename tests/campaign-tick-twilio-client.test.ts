/**
 * The campaign tick's Twilio client against the in-process Twilio sandbox (and, for
 * answers the sandbox never gives, a stub fetch or a raw TCP listener). All traffic
 * stays on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { startTwilioSandbox, type TwilioSandbox } from "../local/twilio-sandbox.ts";
import {
  createTwilioClient,
  type SendFailed,
  type SendResult,
  type SmsRequest,
  type TwilioClientOptions,
} from "../supabase/functions/campaign-tick/twilio-client.ts";
import {
  classifyTwilioError,
  TWILIO_ERROR_CLASSES,
} from "../supabase/functions/campaign-tick/twilio-error-codes.ts";

const ACCOUNT_SID = "AC" + "7c1d".repeat(8);
const AUTH_TOKEN = "campaign-tick-test-token";
const SERVICE_SID = "MG" + "2b".repeat(16);
const FROM = "+15005550001";
const TO = "+15551239001";
const CALLBACK = "http://127.0.0.1:9/functions/v1/twilio/status";

interface Harness {
  sandbox: TwilioSandbox;
  options: TwilioClientOptions;
  configure(config: Record<string, unknown>): Promise<void>;
  messages(): Promise<Record<string, unknown>[]>;
}

async function withSandbox(
  config: Record<string, unknown>,
  test: (h: Harness) => Promise<void>,
): Promise<void> {
  const sandbox = startTwilioSandbox({
    port: 0,
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    log: () => {},
  });
  const configure = async (patch: Record<string, unknown>) => {
    const reply = await fetch(`${sandbox.url}/_sandbox/config`, {
      method: "POST",
      body: JSON.stringify(patch),
    });
    assert.equal(reply.status, 200, await reply.text());
  };
  try {
    // Slow carrier: no status callback fires during a test (they would go nowhere anyway).
    await configure({ latency_ms: { min: 60_000, max: 60_000 }, seed: 7, ...config });
    await test({
      sandbox,
      options: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBase: sandbox.url },
      configure,
      messages: async () =>
        (await (await fetch(`${sandbox.url}/_sandbox/messages`)).json()).messages,
    });
  } finally {
    await sandbox.shutdown();
  }
}

function sms(overrides: Partial<{ to: string; body: string }> = {}): SmsRequest {
  return { to: TO, from: FROM, body: "Hi from the tick", statusCallback: CALLBACK, ...overrides };
}

function assertFailed(result: SendResult, expected: Partial<SendFailed>): SendFailed {
  assert.equal(result.outcome, "failed", JSON.stringify(result));
  const failed = result as SendFailed;
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(failed[key as keyof SendFailed], value, `${key} of ${JSON.stringify(result)}`);
  }
  return failed;
}

Deno.test("accepted: SID, status and segments from Twilio's Message resource", async () => {
  await withSandbox({}, async (h) => {
    const client = createTwilioClient(h.options);
    const one = await client.sendSms(sms());
    assert.equal(one.outcome, "accepted");
    if (one.outcome !== "accepted") return;
    assert.match(one.sid, /^SM[0-9a-f]{32}$/);
    assert.equal(one.status, "queued");
    assert.equal(one.numSegments, 1);
    assert.equal(one.price, undefined, "Twilio prices a message later");

    const two = await client.sendSms(sms({ body: "x".repeat(161) }));
    assert.equal(two.outcome === "accepted" && two.numSegments, 2);
    const unicode = await client.sendSms(sms({ body: "é😀".repeat(40) }));
    assert.equal(unicode.outcome === "accepted" && unicode.numSegments, 2);

    const viaService = await client.sendSms({
      to: TO,
      messagingServiceSid: SERVICE_SID,
      body: "hi",
      statusCallback: CALLBACK,
    });
    assert.equal(viaService.outcome, "accepted");
    if (viaService.outcome === "accepted") {
      assert.equal(viaService.status, "accepted");
      assert.equal(viaService.numSegments, 0, "no sender picked yet");
    }
    assert.equal((await h.messages()).length, 4);
  });
});

Deno.test("request shape: form fields, Basic auth, StatusCallback, one sender", async () => {
  await withSandbox({}, async (h) => {
    const seen: Request[] = [];
    const client = createTwilioClient({
      ...h.options,
      apiBase: h.sandbox.url + "/",
      fetch: (input, init) => {
        const request = new Request(input, init);
        seen.push(request.clone());
        return fetch(request);
      },
    });
    assert.equal((await client.sendSms(sms({ body: "a+b & c=d é" }))).outcome, "accepted");
    await client.sendSms({
      to: TO,
      messagingServiceSid: SERVICE_SID,
      body: "s",
      statusCallback: CALLBACK,
    });

    const [first, second] = seen;
    assert.equal(first.method, "POST");
    assert.equal(new URL(first.url).pathname, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    assert.equal(
      first.headers.get("authorization"),
      "Basic " + btoa(`${ACCOUNT_SID}:${AUTH_TOKEN}`),
    );
    assert.match(first.headers.get("content-type") ?? "", /^application\/x-www-form-urlencoded/);
    const form = Object.fromEntries(new URLSearchParams(await first.text()));
    assert.deepEqual(form, { To: TO, From: FROM, Body: "a+b & c=d é", StatusCallback: CALLBACK });
    const serviceForm = Object.fromEntries(new URLSearchParams(await second.text()));
    assert.deepEqual(serviceForm, {
      To: TO,
      MessagingServiceSid: SERVICE_SID,
      Body: "s",
      StatusCallback: CALLBACK,
    });
    const stored = await h.messages();
    assert.equal(stored[0].status_callback, CALLBACK);
    assert.equal(stored[0].body, "a+b & c=d é");
  });
});

Deno.test("21610 (recipient replied STOP) → suppress", async () => {
  await withSandbox({ opted_out: [TO] }, async (h) => {
    const result = await createTwilioClient(h.options).sendSms(sms());
    assertFailed(result, {
      class: "suppress",
      code: 21610,
      httpStatus: 400,
      message: "Attempt to send to unsubscribed recipient",
      retryAfterMs: null,
    });
  });
});

Deno.test("21211 (not a phone number) and 21614 (landline) → invalid_recipient", async () => {
  const landline = "+15551239002";
  await withSandbox({ landlines: [landline] }, async (h) => {
    const client = createTwilioClient(h.options);
    assertFailed(await client.sendSms(sms({ to: "5551239001" })), {
      class: "invalid_recipient",
      code: 21211,
      httpStatus: 400,
    });
    assertFailed(await client.sendSms(sms({ to: landline })), {
      class: "invalid_recipient",
      code: 21614,
      httpStatus: 400,
    });
    assert.deepEqual(await h.messages(), []);
  });
});

Deno.test("20429 → retry, with Retry-After when Twilio sends one", async () => {
  await withSandbox({ rate_limit_429: 1 }, async (h) => {
    const client = createTwilioClient(h.options);
    assertFailed(await client.sendSms(sms()), {
      class: "retry",
      code: 20429,
      httpStatus: 429,
      retryAfterMs: null,
    });
    await h.configure({ retry_after_seconds: 7 });
    assertFailed(await client.sendSms(sms()), { class: "retry", code: 20429, retryAfterMs: 7000 });
  });
});

Deno.test("500 → retry, and nothing was sent", async () => {
  await withSandbox({ server_error_rate: 1 }, async (h) => {
    assertFailed(await createTwilioClient(h.options).sendSms(sms()), {
      class: "retry",
      code: 20500,
      httpStatus: 500,
    });
    assert.deepEqual(await h.messages(), []);
  });
});

Deno.test("bad credentials (20003) → fatal_config for the whole account", async () => {
  await withSandbox({}, async (h) => {
    const client = createTwilioClient({ ...h.options, authToken: "not-the-token-at-all" });
    assertFailed(await client.sendSms(sms()), {
      class: "fatal_config",
      scope: "account",
      code: 20003,
      httpStatus: 401,
    });
  });
});

Deno.test("a bad From (21212) → fatal_config for that sender", async () => {
  await withSandbox({}, async (h) => {
    const result = await createTwilioClient(h.options).sendSms({ ...sms(), from: "+0123" });
    assertFailed(result, { class: "fatal_config", scope: "sender", code: 21212 });
  });
});

Deno.test("timeout after the request reached Twilio → unknown_outcome (it was sent)", async () => {
  await withSandbox({ response_delay_ms: 5000 }, async (h) => {
    const client = createTwilioClient({ ...h.options, timeoutMs: 150 });
    const started = performance.now();
    const result = await client.sendSms(sms());
    assert.ok(performance.now() - started < 2000, "the timeout, not the sandbox, ended it");
    const failed = assertFailed(result, { class: "unknown_outcome", code: null, httpStatus: null });
    assert.match(failed.message, /no answer in time/);
    const stored = await h.messages();
    assert.equal(stored.length, 1, "the message exists: a blind resend would text twice");
  });
});

Deno.test("the caller's abort signal ends a send as unknown_outcome too", async () => {
  await withSandbox({ response_delay_ms: 5000 }, async (h) => {
    const result = await createTwilioClient(h.options).sendSms(sms(), {
      signal: AbortSignal.timeout(100),
    });
    assertFailed(result, { class: "unknown_outcome" });
  });
});

Deno.test("connection refused (never sent) → retry", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const client = createTwilioClient({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    apiBase: `http://127.0.0.1:${port}`,
  });
  const failed = assertFailed(await client.sendSms(sms()), {
    class: "retry",
    code: null,
    httpStatus: null,
    retryAfterMs: null,
  });
  assert.match(failed.message, /^not sent: .*Connect/);
});

Deno.test("connection closed after the request was sent → unknown_outcome", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = "";
  const serving = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(8192);
      const n = await conn.read(buffer);
      received += new TextDecoder().decode(buffer.subarray(0, n ?? 0));
      conn.close(); // read the whole request, answer nothing
    }
  })();
  try {
    const client = createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      apiBase: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    });
    assertFailed(await client.sendSms(sms()), { class: "unknown_outcome", httpStatus: null });
    assert.match(received, /^POST \/2010-04-01\/Accounts\//, "the request did arrive");
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("answers the sandbox never gives: 504, non-JSON 502, 201 without a SID, a body cut off", async () => {
  const stub = (response: () => Response) =>
    createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      apiBase: "http://127.0.0.1:9",
      fetch: () => Promise.resolve(response()),
      now: () => Date.parse("2026-03-01T12:00:00Z"),
    });
  assertFailed(await stub(() => new Response("gateway timeout", { status: 504 })).sendSms(sms()), {
    class: "unknown_outcome",
    httpStatus: 504,
  });
  assertFailed(
    await stub(() => new Response("<html>bad gateway</html>", { status: 502 })).sendSms(sms()),
    {
      class: "retry",
      code: null,
      httpStatus: 502,
      message: "HTTP 502",
    },
  );
  assertFailed(
    await stub(() =>
      new Response("{}", {
        status: 503,
        headers: { "retry-after": "Sun, 01 Mar 2026 12:00:30 GMT" },
      })
    ).sendSms(sms()),
    { class: "retry", retryAfterMs: 30_000 },
  );
  assertFailed(
    await stub(() => Response.json({ status: "queued" }, { status: 201 })).sendSms(sms()),
    {
      class: "unknown_outcome",
      httpStatus: 201,
    },
  );
  const cut = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"sid":"SM'));
      controller.error(new Error("connection reset"));
    },
  });
  assertFailed(await stub(() => new Response(cut, { status: 201 })).sendSms(sms()), {
    class: "unknown_outcome",
    httpStatus: 201,
  });
  assertFailed(
    await stub(() => Response.json({ code: 21617, message: "too long" }, { status: 400 })).sendSms(
      sms(),
    ),
    { class: "rejected", code: 21617 },
  );
  assertFailed(
    await stub(() => Response.json({ code: 29999, message: "new" }, { status: 400 })).sendSms(
      sms(),
    ),
    { class: "rejected", code: 29999 },
  );
  const priced = await stub(() =>
    Response.json({
      sid: "SM" + "a".repeat(32),
      status: "queued",
      num_segments: "3",
      price: "-0.02370",
      price_unit: "USD",
    }, { status: 201 })
  ).sendSms(sms());
  assert.deepEqual(priced, {
    outcome: "accepted",
    sid: "SM" + "a".repeat(32),
    status: "queued",
    numSegments: 3,
    price: "-0.02370",
    priceUnit: "USD",
  });
});

Deno.test("classification table: the brief's codes and the status fallbacks", () => {
  const expect: Array<[number, string]> = [
    [21610, "suppress"],
    [21211, "invalid_recipient"],
    [21612, "invalid_recipient"],
    [21614, "invalid_recipient"],
    [20429, "retry"],
    [21611, "retry"],
    [20003, "fatal_config"],
    [21606, "fatal_config"],
    [21659, "fatal_config"],
  ];
  for (const [code, cls] of expect) assert.equal(TWILIO_ERROR_CLASSES[code].class, cls, `${code}`);
  for (const rule of Object.values(TWILIO_ERROR_CLASSES)) {
    assert.equal(rule.scope !== undefined, rule.class === "fatal_config", JSON.stringify(rule));
  }
  assert.deepEqual(classifyTwilioError(null, 429), { class: "retry" });
  assert.deepEqual(classifyTwilioError(null, 503), { class: "retry" });
  assert.deepEqual(classifyTwilioError(null, 504), { class: "unknown_outcome" });
  assert.deepEqual(classifyTwilioError(null, 403), { class: "fatal_config", scope: "account" });
  assert.deepEqual(classifyTwilioError(null, 400), { class: "rejected" });
  assert.deepEqual(classifyTwilioError(21610, 400), { class: "suppress" });
});
