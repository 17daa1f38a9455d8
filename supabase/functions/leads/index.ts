/**
 * Edge Function `leads`: CSV import (preview → execute, errors as CSV) and export, for
 * admins and campaign managers. Every database statement runs as the caller under RLS;
 * validation, deduplication and suppression checks happen set-based in Postgres.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import {
  type AuthVariables,
  requireUser,
  type UserClaims,
  verifierFromEnv,
} from "../_shared/auth.ts";
import { createDb } from "../_shared/db.ts";
import { openApiDocument } from "../_shared/openapi.ts";
import { jsonLimits } from "../_shared/json-limits.ts";
import { limitByAddress, limitByUser } from "../_shared/rate-limit.ts";
import { baseEnvSchema, loadEnv } from "../_shared/env.ts";
import { notFoundHandler, onAppError, ValidationError } from "../_shared/errors.ts";
import { type LogVariables, requestLogger } from "../_shared/log.ts";
import { exportStream } from "./export.ts";
import { errorsCsvStream, executeImportHandler, previewImportHandler } from "./import.handlers.ts";
import {
  executeImport,
  exportLeads,
  importErrors,
  LEADS_DOC,
  leadsRoutes,
  previewImport,
} from "./leads.routes.ts";

const env = loadEnv(baseEnvSchema.extend({
  /** Largest upload accepted, in bytes (413 beyond). */
  MAX_UPLOAD_SIZE: z.coerce.number().int().positive().default(10 * 1024 * 1024),
}));
const db = createDb({ url: env.SUPABASE_DB_URL, max: 4 });
const verify = verifierFromEnv(env);

type Env = { Variables: AuthVariables<UserClaims> & LogVariables };

const app = new OpenAPIHono<Env>({
  // One error shape for invalid input everywhere.
  defaultHook: (result) => {
    if (!result.success) throw new ValidationError(result.error);
  },
}).basePath("/leads");
app.use(requestLogger());
app.get(
  "/openapi.json",
  (c) => c.json(openApiDocument("leads", LEADS_DOC.title, LEADS_DOC.description, leadsRoutes)),
);
app.use(limitByAddress(db));
app.use("/import/*", requireUser(verify), limitByUser(db));
// JSON bodies (execute): 64 KiB, 8 levels, strings of 10,000 characters at most.
app.use("/import/execute", jsonLimits());
app.use("/export", requireUser(verify), limitByUser(db));

app.openapi(
  previewImport,
  (c) => previewImportHandler(c, db, env.MAX_UPLOAD_SIZE),
);
app.openapi(executeImport, (c) => executeImportHandler(c, db));
app.openapi(importErrors, async (c) => {
  const { import_id } = c.req.valid("param");
  const stream = await errorsCsvStream(db, c.get("claims"), import_id);
  return c.body(stream, 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="import-${import_id}-errors.csv"`,
  });
});
app.openapi(exportLeads, async (c) => {
  const stream = await exportStream(db, c.get("claims"), c.req.valid("query"));
  return c.body(stream, 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": 'attachment; filename="leads.csv"',
  });
});
app.notFound(notFoundHandler);
app.onError(onAppError);

Deno.serve(app.fetch);
