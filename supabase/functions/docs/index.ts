/**
 * Edge Function `docs` (verify_jwt = false): one page documenting every function's API
 * (Scalar, loaded from its CDN by the reader's browser), from the OpenAPI documents the
 * functions build from their own route definitions: also served here at
 * `/functions/v1/docs/<name>/openapi.json`, and by each function at
 * `/functions/v1/<name>/openapi.json`.
 */
import { Hono } from "hono";
import { createDb } from "../_shared/db.ts";
import { baseEnvSchema, loadEnv } from "../_shared/env.ts";
import { NotFoundError, notFoundHandler, onAppError } from "../_shared/errors.ts";
import { type OpenApiDocument, openApiDocument } from "../_shared/openapi.ts";
import { limitByAddress } from "../_shared/rate-limit.ts";
import { TICK_DOC, tickRoutes } from "../campaign-tick/tick-routes.ts";
import { HEALTH_DOC, healthRoutes } from "../health/health.routes.ts";
import { LEADS_DOC, leadsRoutes } from "../leads/leads.routes.ts";
import { TWILIO_DOC, twilioRoutes } from "../twilio/routes.ts";

export const DOCUMENTED = {
  leads: () => openApiDocument("leads", LEADS_DOC.title, LEADS_DOC.description, leadsRoutes),
  health: () => openApiDocument("health", HEALTH_DOC.title, HEALTH_DOC.description, healthRoutes),
  twilio: () => openApiDocument("twilio", TWILIO_DOC.title, TWILIO_DOC.description, twilioRoutes),
  "campaign-tick": () =>
    openApiDocument("campaign-tick", TICK_DOC.title, TICK_DOC.description, tickRoutes),
} satisfies Record<string, () => OpenApiDocument>;

const escape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");

function page(): string {
  const sources = Object.entries(DOCUMENTED).map(([name, build]) => ({
    title: build().info.title,
    url: `/functions/v1/docs/${name}/openapi.json`,
    name,
  }));
  const links = sources.map((s) =>
    `<li><a href="${escape(s.url)}">${escape(s.title)}</a> (<code>/functions/v1/${
      escape(s.name)
    }</code>)</li>`
  ).join("");
  const config = JSON.stringify({ sources: sources.map(({ title, url }) => ({ title, url })) })
    .replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SMS Control Tower — API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<noscript><h1>SMS Control Tower — API</h1><ul>${links}</ul></noscript>
<div id="app"></div>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
<script>Scalar.createApiReference("#app", ${config});</script>
</body></html>`;
}

const env = loadEnv(baseEnvSchema);
// Rate-limited like every function (per client address).
const db = createDb({ url: env.SUPABASE_DB_URL, max: 1 });

const app = new Hono().basePath("/docs");
app.use(limitByAddress(db));
app.get("/", (c) => c.html(page()));
app.get("/:name/openapi.json", (c) => {
  const build = DOCUMENTED[c.req.param("name") as keyof typeof DOCUMENTED];
  if (!build) throw new NotFoundError(`no function ${c.req.param("name")} is documented`);
  return c.json(build());
});
app.notFound(notFoundHandler);
app.onError(onAppError);

Deno.serve(app.fetch);
