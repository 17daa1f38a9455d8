/**
 * Edge Function `twilio`: the endpoints Twilio calls (verify_jwt = false: Twilio's
 * signature instead of a user token, checked before anything else is read).
 *
 * - POST /functions/v1/twilio/inbound: an incoming message. `private.receive_inbound`
 *   records it (lead and conversation found or created) and runs the keyword engine;
 *   a STOP, START or HELP is answered in the TwiML response.
 * - POST /functions/v1/twilio/status: a status callback. `private.record_message_status`
 *   moves the status forward only and maps error codes.
 *
 * Both are idempotent on MessageSid (Twilio retries and duplicates) and answer 200 for
 * numbers and messages we do not know (logged), so Twilio does not retry them. The same
 * signed request more than 10 minutes after the first (long past Twilio's retries) is a
 * replay: 409, nothing written (`private.receive_inbound_once`,
 * `private.record_message_status_once`).
 */
import { Hono } from "hono";
import { createDb } from "../_shared/db.ts";
import { twilioCredentials } from "../_shared/twilio-credentials.ts";
import { baseEnvSchema, loadEnv, twilioEnvSchema } from "../_shared/env.ts";
import { ConflictError, notFoundHandler, onAppError, ValidationError } from "../_shared/errors.ts";
import { type LogVariables, maskPhone, requestLogger } from "../_shared/log.ts";
import { clientAddress, enforceRateLimit } from "../_shared/rate-limit.ts";
import { inboundParams, statusParams } from "./params.ts";
import { type SignedVariables, verifyTwilioSignature } from "./signature.ts";
import { twiml } from "./twiml.ts";
import type { z } from "zod";

const env = loadEnv(baseEnvSchema.extend(twilioEnvSchema.shape));
// Sessions are sms_system's: each webhook is one function call in one round trip.
const db = createDb({ url: env.SUPABASE_DB_URL, max: 4, systemSessions: true });

const app = new Hono<{ Variables: LogVariables & SignedVariables }>().basePath("/twilio");
// Twilio posts a callback per status of every message: a line for each would be the bulk of
// the logs (and of the work) while the platform's invocation log has them already. Answers
// that matter log on their own (unknown SIDs, numbers that are not ours); failures warn.
app.use(requestLogger({ successLevel: "debug" }));
// Its OpenAPI document, before the signature check (it is public): the docs function builds
// it from ./routes.ts, so @hono/zod-openapi stays out of the webhooks' cold start.
app.get("/openapi.json", (c) => c.redirect("../docs/twilio/openapi.json"));
// Valid Twilio traffic is never slowed; a sender of refused requests (guessing
// signatures) is limited per address, like every other function's clients.
// The auth token from Vault (read again at most once a minute).
const credentials = twilioCredentials(db, env);
const authToken = async () => (await credentials()).authToken;
app.use(verifyTwilioSignature(authToken, env.PUBLIC_BASE_URL ?? env.SUPABASE_URL, {
  beforeRefusal: (c) => enforceRateLimit(c, db, "ip", clientAddress(c.req.raw.headers), null),
}));

function read<T extends z.ZodType>(schema: T, params: Record<string, string>): z.infer<T> {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new ValidationError(parsed.error, "invalid Twilio parameters");
  return parsed.data;
}

/**
 * The same signed request long after Twilio would have retried it (10 minutes: see
 * private.webhook_replay_window): a replay, refused; it changed nothing.
 */
function replayed(sid: string, firstAt: Date | null): ConflictError {
  return new ConflictError(
    `this request (MessageSid ${sid}) was received${
      firstAt ? ` at ${firstAt.toISOString()}` : ""
    }; repeated after Twilio's retries, it is taken as a replay and ignored`,
  );
}

function xml(body: string): Response {
  return new Response(body, { headers: { "content-type": "text/xml; charset=utf-8" } });
}

app.post("/inbound", async (c) => {
  const p = read(inboundParams, c.get("params"));
  const [row] = await db.sql<
    { outcome: string; intent: string | null; reply: string | null; first_at: Date | null }[]
  >`
    select outcome, intent, reply, first_at, private.count_webhook('inbound')
    from private.receive_inbound_once(${p.MessageSid}, ${p.From}, ${p.To}, ${p.Body})`;
  if (row.outcome === "replayed") throw replayed(p.MessageSid, row.first_at);
  const fields = {
    outcome: row.outcome,
    intent: row.intent,
    sid: p.MessageSid,
    from: maskPhone(p.From),
    to: maskPhone(p.To),
  };
  if (row.outcome === "received" || row.outcome === "duplicate") {
    c.get("log").info("inbound message", fields);
  } else c.get("log").warn("inbound message not recorded", fields);
  return xml(twiml(row.reply));
});

app.post("/status", async (c) => {
  const p = read(statusParams, c.get("params"));
  const [row] = await db.sql<{ outcome: string }[]>`
    select private.record_message_status_once(${p.MessageSid}, ${p.MessageStatus},
      ${p.ErrorCode}::integer, ${p.ErrorMessage}) as outcome, private.count_webhook('status')`;
  if (row.outcome === "replayed") throw replayed(p.MessageSid, null);
  if (row.outcome === "unknown") {
    c.get("log").warn("status callback for an unknown message", {
      sid: p.MessageSid,
      status: p.MessageStatus,
    });
  }
  return xml(twiml(null));
});

app.notFound(notFoundHandler);
app.onError(onAppError);

Deno.serve(app.fetch);
