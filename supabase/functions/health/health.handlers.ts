/** Handler of GET /health: runs the checks, shows details only to the service role. */
import type { RouteHandler } from "@hono/zod-openapi";
import type { Verify } from "../_shared/auth.ts";
import type { getHealth } from "./health.routes.ts";
import type { HealthReport } from "./checks.ts";

export interface HealthDeps {
  report: () => Promise<HealthReport>;
  verify: Verify;
}

/** True when the request carries a valid service-role token; anything else is public. */
async function isServiceRole(verify: Verify, authorization: string | undefined) {
  const token = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) return false;
  try {
    return (await verify(token)).role === "service_role";
  } catch {
    return false;
  }
}

export function healthHandler(deps: HealthDeps): RouteHandler<typeof getHealth> {
  return async (c) => {
    const [report, detailed] = await Promise.all([
      deps.report(),
      isServiceRole(deps.verify, c.req.header("authorization")),
    ]);
    const body = detailed
      ? report
      : { status: report.status, down: report.down, checked_at: report.checked_at };
    c.header("cache-control", "no-store");
    return c.json(body, report.status === "ok" ? 200 : 503);
  };
}
