/** Contract of GET /functions/v1/health. */
import { createRoute, z } from "@hono/zod-openapi";
import { CHECK_NAMES } from "./checks.ts";

const checkName = z.enum(CHECK_NAMES);

const checkSchema = z.looseObject({
  ok: z.boolean(),
  latency_ms: z.number().int().nonnegative(),
  error: z.string().optional(),
}).openapi("HealthCheck");

export const healthReportSchema = z.object({
  status: z.enum(["ok", "down"]),
  down: z.array(checkName),
  checked_at: z.iso.datetime(),
  // A record over an enum requires every key; `required` says so in the OpenAPI document.
  checks: z.record(checkName, checkSchema).optional().openapi({
    required: [...CHECK_NAMES],
    description: "Per-dependency details; only for callers presenting the service-role key.",
  }),
}).openapi("HealthReport");

export const getHealth = createRoute({
  method: "get",
  path: "/",
  summary: "Whether the platform can send: database, migrations, pg_cron, pg_net, the tick, Twilio",
  description:
    "Public: status and the names of what is down. With the service-role key as bearer " +
    "token, also each check's details (latency, applied migration, pg_net queue, the last " +
    "tick and its age, failed ticks, due targets, webhook traffic). The sender check is " +
    "down when the scheduled campaign tick has not run for three intervals.",
  responses: {
    200: {
      description: "Every dependency is up",
      content: { "application/json": { schema: healthReportSchema } },
    },
    503: {
      description: "Something is down; `down` names it",
      content: { "application/json": { schema: healthReportSchema } },
    },
  },
});

export const healthRoutes = [getHealth] as const;
export const HEALTH_DOC = {
  title: "health",
  description: "Whether the platform can send; details for the service role.",
};
