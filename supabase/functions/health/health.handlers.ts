/** Handler of GET /health: runs the checks, shows details only to the service role. */
import { timingSafeEqual } from "node:crypto";
import type { RouteHandler } from "@hono/zod-openapi";
import type { Verify } from "../_shared/auth.ts";
import type { getHealth } from "./health.routes.ts";
import type { HealthReport } from "./checks.ts";

export interface HealthDeps {
  report: () => Promise<HealthReport>;
  verify: Verify;
  /** SUPABASE_SERVICE_ROLE_KEY: hosted gives an `sb_secret_…` key, which is not a JWT. */
  serviceRoleKey?: string;
}

const encoder = new TextEncoder();

/** Constant-time equality; only the lengths may differ observably. */
function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * True when the bearer token is the service-role key itself, or verifies as a
 * service_role JWT (a legacy API key); anything else, a user's token included, is public.
 */
async function isServiceRole(deps: HealthDeps, authorization: string | undefined) {
  const token = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) return false;
  if (deps.serviceRoleKey && sameSecret(token, deps.serviceRoleKey)) return true;
  try {
    return (await deps.verify(token)).role === "service_role";
  } catch {
    return false;
  }
}

export function healthHandler(deps: HealthDeps): RouteHandler<typeof getHealth> {
  return async (c) => {
    const [report, detailed] = await Promise.all([
      deps.report(),
      isServiceRole(deps, c.req.header("authorization")),
    ]);
    const body = detailed
      ? report
      : { status: report.status, down: report.down, checked_at: report.checked_at };
    c.header("cache-control", "no-store");
    return c.json(body, report.status === "ok" ? 200 : 503);
  };
}
