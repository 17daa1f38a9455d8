/**
 * Edge Function `health`: GET /functions/v1/health answers 200 when the platform can
 * send, or 503 naming what is down (database, migrations, pg_cron, pg_net, twilio).
 * Public for monitors (verify_jwt = false); details need the service-role key.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { verifierFromEnv } from "../_shared/auth.ts";
import { createDb } from "../_shared/db.ts";
import { baseEnvSchema, loadEnv, twilioEnvSchema } from "../_shared/env.ts";
import { notFoundHandler, onAppError } from "../_shared/errors.ts";
import { requestLogger } from "../_shared/log.ts";
import { REQUIRED_SCHEMA_VERSION } from "../_shared/schema-version.ts";
import { createTwilioCheck, databaseChecks, healthReport } from "./checks.ts";
import { healthHandler } from "./health.handlers.ts";
import { getHealth } from "./health.routes.ts";

const CHECK_TIMEOUT_MS = 2000;

const env = loadEnv(baseEnvSchema.extend(twilioEnvSchema.shape));
const db = createDb({ url: env.SUPABASE_DB_URL, max: 2, connectTimeoutSeconds: 2 });
const twilioCheck = createTwilioCheck(
  {
    apiBase: env.TWILIO_API_BASE,
    accountSid: env.TWILIO_ACCOUNT_SID,
    authToken: env.TWILIO_AUTH_TOKEN,
  },
  CHECK_TIMEOUT_MS,
);
const verify = verifierFromEnv(env);

const app = new OpenAPIHono().basePath("/health");
app.use(requestLogger());
app.openapi(
  getHealth,
  healthHandler({
    report: () =>
      healthReport(
        () => databaseChecks(db, REQUIRED_SCHEMA_VERSION, CHECK_TIMEOUT_MS),
        twilioCheck,
      ),
    verify,
  }),
);
app.doc("/openapi.json", {
  openapi: "3.0.0",
  info: { title: "SMS Control Tower — health", version: REQUIRED_SCHEMA_VERSION },
});
app.notFound(notFoundHandler);
app.onError(onAppError);

Deno.serve(app.fetch);
