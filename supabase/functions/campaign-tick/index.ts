/**
 * Edge Function `campaign-tick`: POST /functions/v1/campaign-tick, called by pg_cron
 * through pg_net with `Authorization: Bearer <CAMPAIGN_TICK_SECRET>` (the same secret is
 * kept in Vault for the cron job; verify_jwt = false). One call is one tick (tick.ts):
 * claims, sends through Twilio on each message's slot, records outcomes, and answers
 * what it did. The body may shorten the tick's budget (`{"budget_ms": 5000}`: what a
 * reply's database webhook asks for).
 */
import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import { createDb } from "../_shared/db.ts";
import { twilioCredentials } from "../_shared/twilio-credentials.ts";
import { limitByAddress } from "../_shared/rate-limit.ts";
import { baseEnvSchema, loadEnv, twilioEnvSchema } from "../_shared/env.ts";
import { notFoundHandler, onAppError, UnauthorizedError } from "../_shared/errors.ts";
import { requestLogger } from "../_shared/log.ts";
import { runTick } from "./tick.ts";
import { tickRequest } from "./tick-request.ts";
import { createTickStore } from "./tick-store.ts";
import { createTwilioClient } from "./twilio-client.ts";

const env = loadEnv(
  baseEnvSchema.extend(twilioEnvSchema.shape).extend({
    /** What the cron job sends as its bearer token (kept in Vault as campaign_tick_secret). */
    CAMPAIGN_TICK_SECRET: z.string().min(32, { error: "must be at least 32 characters" }),
    /**
     * Wall-clock budget of one tick: longer than the cron interval (a minute), so the next
     * tick starts while this one still sends and sending never pauses between ticks.
     */
    TICK_BUDGET_MS: z.coerce.number().int().min(1_000).max(140_000).default(70_000),
    /** Messages per claim. */
    TICK_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(1_000),
    /** Requests to Twilio in flight at once. */
    TICK_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(100),
    /** How far ahead of its sends a tick claims slots. */
    TICK_LOOKAHEAD_MS: z.coerce.number().int().min(200).max(60_000).default(2_000),
  }),
);
// Claims, pre-send checks and writes of one tick (or of two overlapping ones) at once.
const db = createDb({ url: env.SUPABASE_DB_URL, max: 4 });
const store = createTickStore(db);
// Twilio's credentials from Vault (read again at most once a minute), per tick.
const credentials = twilioCredentials(db, env);
const statusCallback = `${
  (env.PUBLIC_BASE_URL ?? env.SUPABASE_URL).replace(/\/+$/, "")
}/functions/v1/twilio/status`;
const secret = new TextEncoder().encode(env.CAMPAIGN_TICK_SECRET);

function authorized(header: string | undefined): boolean {
  const token = new TextEncoder().encode(/^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1] ?? "");
  return token.length === secret.length && timingSafeEqual(token, secret);
}

const app = new Hono().basePath("/campaign-tick");
app.use(requestLogger());
app.use(limitByAddress(db));
// Its OpenAPI document: the docs function builds it from ./tick-routes.ts, so
// @hono/zod-openapi stays out of the tick's cold start.
app.get("/openapi.json", (c) => c.redirect("../docs/campaign-tick/openapi.json"));
app.post("/", async (c) => {
  if (!authorized(c.req.header("authorization"))) {
    throw new UnauthorizedError("the campaign tick needs its service secret");
  }
  const budgetMs = Math.min(env.TICK_BUDGET_MS, (await tickRequest(c.req.raw)).budget_ms);
  // Recorded for the health check: a run that never finishes counts as failed.
  const runId = await store.startRun(budgetMs);
  const twilio = createTwilioClient({ ...(await credentials()), apiBase: env.TWILIO_API_BASE });
  const report = await runTick(store, twilio, {
    budgetMs,
    batchSize: env.TICK_BATCH_SIZE,
    concurrency: env.TICK_CONCURRENCY,
    lookaheadMs: env.TICK_LOOKAHEAD_MS,
    statusCallback,
  });
  await store.finishRun(runId, report);
  return c.json(report);
});
app.notFound(notFoundHandler);
app.onError(onAppError);

Deno.serve(app.fetch);
