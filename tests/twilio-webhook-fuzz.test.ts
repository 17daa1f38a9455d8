/**
 * Fuzzed requests to the twilio webhooks through the gateway: random and missing
 * parameters, random values, oversized bodies, wrong methods and content types, bad and
 * replayed signatures. Only a validly signed request with valid parameters gets a 2xx;
 * everything else a 4xx (never a 5xx); nothing is written without a valid signature; the
 * same signed request is Twilio's retry for 10 minutes (answered as the first), a replay
 * after (409, nothing written). The outcomes are counted and printed.
 */
import assert from "node:assert/strict";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import {
  inboundParams as inboundSchema,
  statusParams as statusSchema,
} from "../supabase/functions/twilio/params.ts";
import { adminSql, stackEnv } from "./support/stack.ts";
import {
  createWebhookOrg,
  inboundParams,
  newSid,
  postWebhook,
  type WebhookOrg,
} from "./support/twilio-webhook.ts";

const env = stackEnv();
const url = (path: string) => `${env.SUPABASE_URL}/functions/v1/twilio/${path}`;

/** Deterministic randomness (the same fuzz on every run). */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const NASTY = [
  "",
  " ",
  "' or 1=1 --",
  "<script>alert(1)</script>",
  "\u0000",
  "\r\nX-Injected: 1",
  "🦄".repeat(500),
  "x".repeat(2_000),
  "+1",
  "+14155550199",
  "SM" + "0".repeat(32),
  "SMZZ",
  "delivered",
  "DELIVERED",
  "30007",
  "-1",
  "1e9",
  "null",
  "[]",
  "{}",
];

async function writes(sql: ReturnType<typeof adminSql>, w: WebhookOrg): Promise<string> {
  const [row] = await sql<{ n: string }[]>`
    select (select count(*) from public.messages where org_id = ${w.org})::text || '/' ||
      (select count(*) from public.suppressions where org_id = ${w.org})::text || '/' ||
      (select count(*) from public.consent_events where org_id = ${w.org})::text || '/' ||
      (select count(*) from public.leads where org_id = ${w.org})::text as n`;
  return row.n;
}

async function post(
  path: string,
  body: string,
  headers: Record<string, string>,
  method = "POST",
): Promise<{ status: number; text: string }> {
  const res = await fetch(url(path), {
    method,
    headers,
    body: method === "GET" ? undefined : body,
  });
  return { status: res.status, text: await res.text() };
}

Deno.test("webhook fuzz: 2xx only for valid signed input, 4xx otherwise, no write unsigned", async () => {
  const sql = adminSql();
  const w = await createWebhookOrg(sql);
  const tally = new Map<string, number>();
  const count = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1);
  try {
    const random = prng(20261127);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    const paths = ["inbound", "status"] as const;

    // Random parameter sets, each sent unsigned (a bad signature) and signed.
    for (let i = 0; i < 120; i++) {
      const path = pick(paths);
      const params: Record<string, string> = Object.create(null);
      const names = [
        "MessageSid",
        "From",
        "To",
        "Body",
        "MessageStatus",
        "ErrorCode",
        "ErrorMessage",
        "AccountSid",
        "NumMedia",
        pick(["X", "__proto__", "constructor", "a[]"]),
      ];
      for (const name of names) {
        if (random() < 0.6) {
          params[name] = random() < 0.25
            ? pick(NASTY)
            : name === "MessageSid"
            ? newSid()
            : name === "From"
            ? w.leads[0]
            : name === "To"
            ? w.number
            : name === "MessageStatus"
            ? pick(["delivered", "sent", "failed", "undelivered", "read"])
            : String(Math.floor(random() * 40_000));
        }
      }
      const before = await writes(sql, w);
      const unsigned = await post(path, new URLSearchParams(params).toString(), {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": pick([
          "",
          "garbage",
          getExpectedTwilioSignature("wrong", url(path), params),
        ]),
      });
      assert.equal(
        unsigned.status,
        403,
        `unsigned ${path} ${JSON.stringify(params)}: ${unsigned.text}`,
      );
      assert.equal(await writes(sql, w), before, "nothing written without a valid signature");
      count("random, bad signature → 403");

      // Signed: 200 exactly when the parameters we read are valid, else 422 naming them.
      const signed = await postWebhook(path, params);
      const valid = (path === "inbound" ? inboundSchema : statusSchema).safeParse(params).success;
      assert.equal(
        signed.status,
        valid ? 200 : 422,
        `signed ${path} ${JSON.stringify(params)}: ${signed.text}`,
      );
      count(`random, signed, ${valid ? "valid" : "invalid"} → ${signed.status}`);
    }

    // Each required parameter missing, signed: a 4xx that names it.
    const valid = inboundParams(w.leads[1], w.number, "What time is the showing?");
    for (const name of ["MessageSid", "From", "To"]) {
      const params: Record<string, string> = { ...valid };
      delete params[name];
      const answer = await postWebhook("inbound", params);
      assert.equal(answer.status, 422, answer.text);
      assert.match(answer.text, new RegExp(name));
      count("missing parameter, signed → 422");
    }
    for (const name of ["MessageSid", "MessageStatus"]) {
      const params: Record<string, string> = { MessageSid: newSid(), MessageStatus: "delivered" };
      delete params[name];
      const answer = await postWebhook("status", params);
      assert.equal(answer.status, 422, answer.text);
      count("missing parameter, signed → 422");
    }

    // Oversized bodies, wrong methods and content types, bad signatures of many kinds.
    const before = await writes(sql, w);
    const big = { ...valid, Body: "x".repeat(70 * 1024) };
    assert.equal((await postWebhook("inbound", big)).status, 413);
    count("oversized body, signed → 413");
    for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
      const answer = await post("inbound", "", {}, method);
      assert.ok(answer.status >= 400 && answer.status < 500, `${method}: ${answer.status}`);
      count(`${method} → ${answer.status}`);
    }
    const json = await post("inbound", JSON.stringify(valid), {
      "content-type": "application/json",
      "x-twilio-signature": getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN, url("inbound"), {}),
    });
    assert.ok(json.status === 415 || json.status === 403, json.text);
    count(`JSON body → ${json.status}`);
    const badSignatures: [string, string][] = [
      ["no signature", ""],
      ["for another URL", getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN, url("status"), valid)],
      [
        "for other parameters",
        getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN, url("inbound"), {
          ...valid,
          Body: "START",
        }),
      ],
      [
        "with another auth token",
        getExpectedTwilioSignature("0".repeat(32), url("inbound"), valid),
      ],
      [
        "truncated",
        getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN, url("inbound"), valid).slice(0, 10),
      ],
      ["huge", "A".repeat(100_000)],
    ];
    for (const [what, signature] of badSignatures) {
      const answer = await postWebhook("inbound", valid, signature);
      // A 100 KB header is refused by the HTTP server itself (400) before any code runs.
      const expected = what === "huge" ? [400, 403, 431] : [403];
      assert.ok(expected.includes(answer.status), `${what}: ${answer.status} ${answer.text}`);
      count(`bad signature (${what}) → ${answer.status}`);
    }
    assert.equal(await writes(sql, w), before, "none of them wrote anything");

    // Replays: Twilio's retry is answered as the first; the same request later is refused.
    const first = await postWebhook("inbound", valid);
    assert.equal(first.status, 200, first.text);
    const retry = await postWebhook("inbound", valid);
    assert.equal(retry.status, 200, "a retry within the window is answered as the first");
    assert.equal(retry.text, first.text);
    await sql`update public.messages set created_at = created_at - interval '11 minutes'
      where twilio_sid = ${valid.MessageSid}`;
    const afterRetry = await writes(sql, w);
    const replay = await postWebhook("inbound", valid);
    assert.equal(replay.status, 409, replay.text);
    assert.match(replay.text, /replay/);
    assert.equal(await writes(sql, w), afterRetry, "a replay writes nothing");
    count("replayed after 11 minutes → 409");
  } finally {
    await w.drop();
    await sql.end();
  }
  const total = [...tally.values()].reduce((a, b) => a + b, 0);
  assert.ok(total >= 250, `${total} requests`);
  console.log(
    `\n${total} fuzzed webhook requests:\n  ${
      [...tally].sort().map(([what, n]) => `${n} × ${what}`).join("\n  ")
    }`,
  );
});
