/**
 * Rate limits for function routes, from token buckets kept in Postgres
 * (`private.take_request_token`, migration 20261127130000_rate_limits), so that every
 * isolate shares them: per client address before anything else, and per signed-in user
 * for the organization a request names (`org_id`), at the rate its admins set. An empty
 * bucket answers 429 with Retry-After. If the database cannot be asked, the request goes
 * on (it is logged): a limit that cannot be checked must not take the service down.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Db } from "./db.ts";
import { TooManyRequestsError } from "./errors.ts";
import type { LogVariables } from "./log.ts";

export type RateScope = "ip" | "user";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The client's address as the platform's proxy reports it (its first hop). */
export function clientAddress(headers: Headers): string {
  const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return forwarded || headers.get("x-real-ip")?.trim() || "unknown";
}

/** Seconds to wait before `subject` may make another request (0: go on). */
export async function takeRequestToken(
  db: Db,
  scope: RateScope,
  subject: string,
  org: string | null = null,
): Promise<number> {
  const [row] = await db.sql<{ wait: number }[]>`
    select private.take_request_token(${scope}, ${subject}, ${org}::uuid) as wait`;
  return row.wait;
}

/** Throws 429 once `subject` has no token left (a check that fails is logged and passes). */
export async function enforceRateLimit(
  c: Context<{ Variables: Partial<LogVariables> }>,
  db: Db,
  scope: RateScope,
  subject: string,
  org: string | null,
): Promise<void> {
  let wait: number;
  try {
    wait = await takeRequestToken(db, scope, subject, org);
  } catch (error) {
    c.get("log")?.warn("rate limit not checked", { scope, error });
    return;
  }
  if (wait > 0) {
    throw new TooManyRequestsError(
      wait,
      scope === "ip"
        ? `too many requests from this address; retry in ${Math.ceil(wait)} s`
        : `too many requests for this organization; retry in ${Math.ceil(wait)} s`,
    );
  }
}

/** Limits requests per client address. */
export function limitByAddress(db: Db): MiddlewareHandler {
  return async (c, next) => {
    await enforceRateLimit(c, db, "ip", clientAddress(c.req.raw.headers), null);
    await next();
  };
}

/** Limits a signed-in user's requests (after requireUser) for the organization named. */
export function limitByUser(db: Db): MiddlewareHandler {
  return async (c, next) => {
    const claims = c.get("claims") as { sub?: string } | undefined;
    if (claims?.sub) {
      const org = c.req.query("org_id");
      await enforceRateLimit(c, db, "user", claims.sub, org && UUID.test(org) ? org : null);
    }
    await next();
  };
}
