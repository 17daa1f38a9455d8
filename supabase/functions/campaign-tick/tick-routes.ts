/**
 * The campaign tick's route as OpenAPI declares it, with the schema its body is read with
 * (tick-request.ts). Imported only to build the document.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponse } from "../_shared/error-schema.ts";
import { tickBody } from "./tick-request.ts";

export const tickRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Send due campaign messages and replies for up to budget_ms (pg_cron calls it)",
  description: "Authorized by the tick's service secret (CAMPAIGN_TICK_SECRET, kept in Vault " +
    "for pg_cron) as a bearer token. Answers the tick's report.",
  request: {
    headers: z.object({ authorization: z.string().openapi({ example: "Bearer <secret>" }) }),
    body: { required: false, content: { "application/json": { schema: tickBody } } },
  },
  responses: {
    200: {
      description: "The tick's report: claimed, sent, failed, released… and its busiest second",
      content: { "application/json": { schema: z.looseObject({}).openapi("TickReport") } },
    },
    400: errorResponse("The body is not JSON"),
    401: errorResponse("Without the service secret"),
    413: errorResponse("A body over 4 KiB"),
    415: errorResponse("Not application/json"),
    422: errorResponse("budget_ms out of range, or the body past its limits"),
    429: errorResponse("Too many requests from this address"),
  },
});

export const tickRoutes = [tickRoute] as const;
export const TICK_DOC = {
  title: "campaign tick",
  description: "The throttled sender pg_cron drives: claims, renders, sends, records.",
};
