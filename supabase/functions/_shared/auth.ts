/**
 * Access-token verification as Supabase's platform does it.
 *
 * Asymmetric tokens (ES256, or RS256, from the project's signing keys) are verified
 * against the project's JWKS (`/auth/v1/.well-known/jwks.json`), which jose caches and
 * refetches when a token names a key it has not seen. HS256 tokens (the legacy anon and
 * service_role keys, and user tokens signed before a project moved to signing keys) are
 * verified with the legacy JWT secret, and refused when no secret is configured.
 * Anything else is refused. No claim is trusted before its signature is checked.
 *
 * Issuers: user tokens come from Supabase Auth, whose `iss` is `${SUPABASE_URL}/auth/v1`.
 * The legacy API keys (anon, service_role) are not issued by Auth: hosted keys carry
 * `iss: "supabase"`, the Supabase CLI's `"supabase-demo"`, our local stack's
 * `"supabase-local"`. So the two kinds are checked against separate lists (`issuer`,
 * `apiKeyIssuer`); `verifierFromEnv` sets both, so a token minted by Auth can never pass
 * as an API key, nor an API key's issuer as a user's.
 */
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from "jose";
import { z } from "zod";
import {
  ForbiddenError,
  onAppError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "./errors.ts";

/** Roles of Supabase's API keys: their tokens carry no `sub` (and no `aud`). */
const API_KEY_ROLES = new Set(["anon", "service_role"]);
/** The audience Supabase Auth puts in every signed-in user's access token. */
export const USER_AUDIENCE = "authenticated";
/** `iss` of Supabase's legacy API keys: hosted, Supabase CLI, and local/stack.ts. */
export const API_KEY_ISSUERS: readonly string[] = ["supabase", "supabase-demo", "supabase-local"];
const ASYMMETRIC_ALGS = ["ES256", "RS256"];
/** Far above any real token; refuses absurd input before any parsing. */
const MAX_TOKEN_LENGTH = 16_384;
/** How far ahead of our clock a token may say it was issued (Auth's clock may run ahead). */
const MAX_CLOCK_SKEW_SECONDS = 60;

export const claimsSchema = z.looseObject({
  sub: z.guid().optional(),
  role: z.string().min(1),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  exp: z.number(),
  iat: z.number().optional(),
  iss: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  session_id: z.string().optional(),
  app_metadata: z.record(z.string(), z.unknown()).optional(),
  user_metadata: z.record(z.string(), z.unknown()).optional(),
  is_anonymous: z.boolean().optional(),
}).superRefine((claims, ctx) => {
  // A token that is not an API key stands for a user: it must say who and for what.
  if (API_KEY_ROLES.has(claims.role)) return;
  if (claims.sub === undefined) {
    ctx.addIssue({ code: "custom", path: ["sub"], message: "required" });
  }
  if (claims.aud === undefined) {
    ctx.addIssue({ code: "custom", path: ["aud"], message: "required" });
  }
});

/** Verified claims of any accepted token (user session or API key). */
export type Claims = z.infer<typeof claimsSchema>;

/** Verified claims of a signed-in user's session token. */
export type UserClaims = Claims & {
  sub: string;
  aud: string | string[];
  role: "authenticated";
};

export type Verify = (token: string) => Promise<Claims>;

export interface VerifierOptions {
  /** The project's JWKS, `${SUPABASE_URL}/auth/v1/.well-known/jwks.json` (see `supabaseJwksUrl`). */
  jwksUrl: URL;
  /** The legacy HS256 secret; when absent, HS256 tokens are refused. */
  legacyJwtSecret?: string;
  /**
   * When set, user tokens (every role but anon and service_role) must carry this `iss`
   * (or one of them): Supabase Auth's, see `supabaseAuthIssuer`.
   */
  issuer?: string | string[];
  /** When set, API-key tokens (anon, service_role) must carry this `iss` (or one of them). */
  apiKeyIssuer?: string | string[];
}

/** The JWKS URL of a Supabase project, local or hosted. */
export function supabaseJwksUrl(supabaseUrl: string): URL {
  const base = supabaseUrl.endsWith("/") ? supabaseUrl : `${supabaseUrl}/`;
  return new URL("auth/v1/.well-known/jwks.json", base);
}

/** The `iss` of user tokens from a project's Supabase Auth: `${SUPABASE_URL}/auth/v1`. */
export function supabaseAuthIssuer(supabaseUrl: string): string {
  return `${supabaseUrl.replace(/\/+$/, "")}/auth/v1`;
}

/** The JWKS could not be fetched or read: our outage, not the caller's fault. */
class JwksUnavailable extends Error {}

const TOKEN_PROBLEMS = [
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JOSENotSupported,
];

function remoteKeys(jwksUrl: URL): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(jwksUrl);
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (TOKEN_PROBLEMS.some((kind) => error instanceof kind)) throw error;
      throw new JwksUnavailable("JWKS unavailable", { cause: error });
    }
  };
}

function invalidToken(message = "Invalid token"): UnauthorizedError {
  return new UnauthorizedError(message, {
    headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
  });
}

export function createVerifier(opts: VerifierOptions): Verify {
  const jwks = remoteKeys(opts.jwksUrl);
  const secret = opts.legacyJwtSecret ? new TextEncoder().encode(opts.legacyJwtSecret) : undefined;
  const common = { requiredClaims: ["exp"] };
  const userIssuers = listOf(opts.issuer);
  const apiKeyIssuers = listOf(opts.apiKeyIssuer);

  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH) throw invalidToken();
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw invalidToken();
    }
    let payload: unknown;
    try {
      if (header.alg === "HS256" && secret) {
        ({ payload } = await jwtVerify(token, secret, { ...common, algorithms: ["HS256"] }));
      } else if (typeof header.alg === "string" && ASYMMETRIC_ALGS.includes(header.alg)) {
        ({ payload } = await jwtVerify(token, jwks, { ...common, algorithms: ASYMMETRIC_ALGS }));
      } else {
        throw invalidToken();
      }
    } catch (error) {
      if (error instanceof UnauthorizedError) throw error;
      if (error instanceof JwksUnavailable) {
        throw new ServiceUnavailableError("Token verification is unavailable; try again shortly", {
          cause: error.cause,
        });
      }
      if (error instanceof joseErrors.JWTExpired) throw invalidToken("Token has expired");
      throw invalidToken();
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw invalidToken();
    // Issued later than now (beyond the clocks' skew): not a token Auth gave out.
    const issuedAt = (payload as { iat?: unknown }).iat;
    if (typeof issuedAt === "number" && issuedAt > Date.now() / 1000 + MAX_CLOCK_SKEW_SECONDS) {
      throw invalidToken("Token is not valid yet");
    }
    // The signature is checked, so the role may now choose which issuers apply.
    const issuers = API_KEY_ROLES.has(claims.data.role) ? apiKeyIssuers : userIssuers;
    if (issuers && !issuers.includes(claims.data.iss ?? "")) throw invalidToken();
    return claims.data;
  };
}

function listOf(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : [value].flat();
}

/**
 * The verifier for a deployed function: the project's JWKS and legacy secret, user
 * tokens only from the project's Auth (`${SUPABASE_URL}/auth/v1`), API keys only with
 * Supabase's API-key issuers (`API_KEY_ISSUERS`).
 */
export function verifierFromEnv(
  env: { SUPABASE_URL: string; LEGACY_JWT_SECRET?: string },
): Verify {
  return createVerifier({
    jwksUrl: supabaseJwksUrl(env.SUPABASE_URL),
    legacyJwtSecret: env.LEGACY_JWT_SECRET,
    issuer: [supabaseAuthIssuer(env.SUPABASE_URL)],
    apiKeyIssuer: [...API_KEY_ISSUERS],
  });
}

/** The context variables the auth middleware sets. */
export type AuthVariables<C extends Claims = Claims> = { claims: C; token: string };

function bearerToken(header: string | undefined): string {
  if (!header) throw new UnauthorizedError("Missing bearer token");
  const token = header.match(/^Bearer +([A-Za-z0-9._~+/=-]+)$/i)?.[1];
  if (!token) throw new UnauthorizedError("Authorization header must be 'Bearer <token>'");
  return token;
}

/**
 * A verified token whose role is not allowed here. The anon key is refused with 401,
 * as PostgREST answers an anonymous request that lacks a privilege: signing in is the
 * fix. Any other identified caller gets 403: who they are is known, and it is not enough.
 */
function roleRefused(role: string, message: string): UnauthorizedError | ForbiddenError {
  return role === "anon" ? invalidToken(message) : new ForbiddenError(message);
}

async function authenticate(verify: Verify, authorization: string | undefined) {
  const token = bearerToken(authorization);
  return { token, claims: await verify(token) };
}

/** A user's token whose audience is Supabase Auth's (`aud` is, or lists, "authenticated"). */
function isUserClaims(claims: Claims): claims is UserClaims {
  const audiences = [claims.aud ?? []].flat();
  return claims.role === "authenticated" && claims.sub !== undefined &&
    audiences.includes(USER_AUDIENCE);
}

/**
 * Only signed-in users (`role: authenticated`, `aud` holding "authenticated"); sets
 * `claims` and `token`. A user token for another audience is a 401.
 */
export function requireUser(
  verify: Verify,
): MiddlewareHandler<{ Variables: AuthVariables<UserClaims> }> {
  return createMiddleware<{ Variables: AuthVariables<UserClaims> }>(async (c, next) => {
    try {
      const { token, claims } = await authenticate(verify, c.req.header("authorization"));
      if (claims.role !== "authenticated") {
        throw roleRefused(claims.role, "A signed-in user is required");
      }
      if (!isUserClaims(claims)) throw invalidToken();
      c.set("claims", claims);
      c.set("token", token);
    } catch (error) {
      return onAppError(error, c);
    }
    await next();
  });
}

/** Only tokens whose `role` is one of `roles` (e.g. `['service_role']`). */
export function requireRole(
  verify: Verify,
  roles: readonly string[],
): MiddlewareHandler<{ Variables: AuthVariables }> {
  const allowed = new Set(roles);
  return createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    try {
      const { token, claims } = await authenticate(verify, c.req.header("authorization"));
      if (!allowed.has(claims.role)) {
        throw roleRefused(claims.role, "This endpoint is not available to this role");
      }
      c.set("claims", claims);
      c.set("token", token);
    } catch (error) {
      return onAppError(error, c);
    }
    await next();
  });
}
