/**
 * Edge Function `health`: GET /functions/v1/health answers 200 when the platform can
 * send, or 503 naming what is down (database, migrations, pg_cron, pg_net, twilio).
 * Public for monitors (verify_jwt = false); details need the service-role key (the
 * SUPABASE_SERVICE_ROLE_KEY itself, e.g. a hosted `sb_secret_…`, or a service_role JWT).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { verifierFromEnv } from "../_shared/auth.ts";
import { createDb } from "../_shared/db.ts";
import { twilioCredentials } from "../_shared/twilio-credentials.ts";
import { openApiDocument } from "../_shared/openapi.ts";
import { limitByAddress } from "../_shared/rate-limit.ts";
import { baseEnvSchema, loadEnv, twilioEnvSchema } from "../_shared/env.ts";
import { notFoundHandler, onAppError } from "../_shared/errors.ts";
import { defaultLogger, requestLogger } from "../_shared/log.ts";
import { REQUIRED_SCHEMA_VERSION } from "../_shared/schema-version.ts";
import {
  cachedFor,
  checkFailed,
  createTwilioCheck,
  DATABASE_CACHE_MS,
  databaseChecks,
  healthReport,
  TWILIO_CACHE_MS,
} from "./checks.ts";
import { healthHandler } from "./health.handlers.ts";
import { getHealth, HEALTH_DOC, healthRoutes } from "./health.routes.ts";

const CHECK_TIMEOUT_MS = 2000;

const env = loadEnv(baseEnvSchema.extend(twilioEnvSchema.shape));
const db = createDb({ url: env.SUPABASE_DB_URL, max: 2, connectTimeoutSeconds: 2 });
/** A check that threw is a bug, not an outage: logged, and reported as "check failed". */
function logFailure(check: string, error: unknown): void {
  defaultLogger().error("health check threw", {
    check,
    error: error instanceof Error ? error.message : String(error),
  });
}

// Cached, and shared by concurrent requests: a flood of monitors costs one query per 2 s.
const dbChecks = cachedFor(
  () => databaseChecks(db, REQUIRED_SCHEMA_VERSION, CHECK_TIMEOUT_MS),
  DATABASE_CACHE_MS,
  (error) => {
    logFailure("database", error);
    return {
      database: checkFailed(),
      migrations: checkFailed(),
      pg_cron: checkFailed(),
      pg_net: checkFailed(),
      sender: checkFailed(),
    };
  },
);
const twilioCheck = cachedFor(
  createTwilioCheck(env.TWILIO_API_BASE, twilioCredentials(db, env), CHECK_TIMEOUT_MS),
  TWILIO_CACHE_MS,
  (error) => {
    logFailure("twilio", error);
    return checkFailed();
  },
);
const verify = verifierFromEnv(env);

const app = new OpenAPIHono().basePath("/health");
app.use(requestLogger());
app.use(limitByAddress(db));
app.openapi(
  getHealth,
  healthHandler({
    report: () => healthReport(dbChecks, twilioCheck),
    verify,
    serviceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY,
  }),
);
app.get(
  "/openapi.json",
  (c) => c.json(openApiDocument("health", HEALTH_DOC.title, HEALTH_DOC.description, healthRoutes)),
);
app.notFound(notFoundHandler);
app.onError(onAppError);

Deno.serve(app.fetch);
