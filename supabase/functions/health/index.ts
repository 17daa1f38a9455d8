/**
 * Edge Function `health`: GET /functions/v1/health answers 200 with what is up, or
 * 503 naming what is down (database, migrations, pg_cron, pg_net, twilio).
 */
import { Hono } from "hono";
import { createDb } from "../_shared/db.ts";
import { baseEnvSchema, loadEnv, twilioEnvSchema } from "../_shared/env.ts";
import { notFoundHandler, onAppError } from "../_shared/errors.ts";
import { requestLogger } from "../_shared/log.ts";
import { REQUIRED_SCHEMA_VERSION } from "../_shared/schema-version.ts";
import { createTwilioCheck, databaseChecks, healthReport } from "./checks.ts";

const CHECK_TIMEOUT_MS = 2000;

const env = loadEnv(baseEnvSchema.extend(twilioEnvSchema.shape));
const db = createDb({ url: env.SUPABASE_DB_URL, max: 1, connectTimeoutSeconds: 2 });
const twilioCheck = createTwilioCheck(
  {
    apiBase: env.TWILIO_API_BASE,
    accountSid: env.TWILIO_ACCOUNT_SID,
    authToken: env.TWILIO_AUTH_TOKEN,
  },
  CHECK_TIMEOUT_MS,
);

const app = new Hono().basePath("/health");
app.use(requestLogger());
app.get("/", async (c) => {
  const report = await healthReport(
    () => databaseChecks(db, REQUIRED_SCHEMA_VERSION, CHECK_TIMEOUT_MS),
    twilioCheck,
  );
  c.header("cache-control", "no-store");
  return c.json(report, report.status === "ok" ? 200 : 503);
});
app.notFound(notFoundHandler);
app.onError(onAppError);

Deno.serve(app.fetch);
