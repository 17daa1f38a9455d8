/**
 * supabase/functions/_shared/auth.ts against a JWKS served in-process from the local
 * keys (local/keys.ts): what is accepted, everything that must be refused, and the
 * middleware's answers through a small Hono app.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { base64url, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import {
  API_KEY_ISSUERS,
  type AuthVariables,
  type Claims,
  createVerifier,
  requireRole,
  requireUser,
  supabaseAuthIssuer,
  supabaseJwksUrl,
  type UserClaims,
  verifierFromEnv,
  type VerifierOptions,
  type Verify,
} from "../supabase/functions/_shared/auth.ts";
import {
  onAppError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "../supabase/functions/_shared/errors.ts";
import {
  createLogger,
  type LogVariables,
  requestLogger,
} from "../supabase/functions/_shared/log.ts";
import {
  jwks,
  loadOrCreateKeys,
  type LocalKeys,
  mintApiKey,
  mintUserToken,
} from "../local/keys.ts";

const ISSUER = "http://127.0.0.1:54321/auth/v1";
const USER = { id: "a0000000-0000-4000-8000-000000000001", email: "admin@acme.test" };

interface Fixture {
  keys: LocalKeys;
  /** The fixture's SUPABASE_URL: the JWKS is served under it. */
  supabaseUrl: string;
  jwksUrl: URL;
  /** How many times the JWKS was fetched. */
  fetches: () => number;
  verifier: (opts?: Partial<VerifierOptions>) => Verify;
}

/** Local keys in a temp dir, their JWKS on 127.0.0.1, all cleaned up afterwards. */
async function withJwks(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const keys = await loadOrCreateKeys(dir);
  let fetches = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    if (new URL(req.url).pathname !== "/auth/v1/.well-known/jwks.json") {
      return new Response("not found", { status: 404 });
    }
    fetches++;
    return Response.json(jwks(keys));
  });
  const supabaseUrl = `http://127.0.0.1:${server.addr.port}`;
  const jwksUrl = supabaseJwksUrl(supabaseUrl);
  try {
    await fn({
      keys,
      supabaseUrl,
      jwksUrl,
      fetches: () => fetches,
      verifier: (opts) => createVerifier({ jwksUrl, legacyJwtSecret: keys.jwtSecret, ...opts }),
    });
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

const now = () => Math.floor(Date.now() / 1000);

function userPayload(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    sub: USER.id,
    aud: "authenticated",
    role: "authenticated",
    email: USER.email,
    iat: now(),
    exp: now() + 3600,
    ...overrides,
  };
}

/** A user token signed with the legacy HS256 secret, as pre-signing-keys projects issue. */
function signHs256(payload: JWTPayload, secret: string): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

async function signWithNewKey(
  alg: "ES256" | "RS256",
  kid: string,
  payload: JWTPayload,
): Promise<string> {
  const { privateKey } = await generateKeyPair(alg);
  return await new SignJWT(payload).setProtectedHeader({ alg, kid, typ: "JWT" }).sign(privateKey);
}

const b64 = (value: unknown) => base64url.encode(JSON.stringify(value));

async function assertUnauthorized(promise: Promise<unknown>, message = "Invalid token") {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UnauthorizedError, `expected UnauthorizedError, got ${error}`);
    assert.equal(error.status, 401);
    assert.equal(error.message, message);
    return true;
  });
}

// ---------------------------------------------------------------- verify: accepted

Deno.test("auth: a valid ES256 token from the JWKS yields its claims", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const token = await mintUserToken(keys, { ...USER, userMetadata: { name: "Ada" } }, {
      issuer: ISSUER,
    });
    const claims = await verifier()(token);
    assert.equal(claims.sub, USER.id);
    assert.equal(claims.role, "authenticated");
    assert.equal(claims.aud, "authenticated");
    assert.equal(claims.email, USER.email);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.is_anonymous, false);
    assert.deepEqual(claims.app_metadata, { provider: "email", providers: ["email"] });
    assert.deepEqual(claims.user_metadata, { name: "Ada" });
    assert.equal(claims.aal, "aal1", "unlisted claims pass through");
    assert.match(claims.session_id ?? "", /^[0-9a-f-]{36}$/);
  });
});

Deno.test("auth: a valid HS256 token signed with the legacy secret yields its claims", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const claims = await verifier()(await signHs256(userPayload(), keys.jwtSecret));
    assert.equal(claims.sub, USER.id);
    assert.equal(claims.role, "authenticated");
  });
});

Deno.test("auth: the legacy anon and service_role keys verify without sub or aud", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier();
    const anon = await verify(await mintApiKey(keys, "anon", "supabase-local"));
    assert.equal(anon.role, "anon");
    assert.equal(anon.sub, undefined);
    const service = await verify(await mintApiKey(keys, "service_role", "supabase-local"));
    assert.equal(service.role, "service_role");
    assert.ok(service.exp > now() + 9 * 365 * 24 * 3600, "API keys live about ten years");
  });
});

Deno.test("auth: the JWKS is fetched once and cached across verifications", async () => {
  await withJwks(async ({ keys, verifier, fetches }) => {
    const verify = verifier();
    for (let i = 0; i < 5; i++) {
      await verify(await mintUserToken(keys, USER, { issuer: ISSUER }));
    }
    assert.equal(fetches(), 1);
  });
});

Deno.test("auth: a configured issuer accepts matching tokens (one or several issuers)", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const token = await mintUserToken(keys, USER, { issuer: ISSUER });
    assert.equal((await verifier({ issuer: ISSUER })(token)).sub, USER.id);
    const apiKey = await mintApiKey(keys, "service_role", "supabase-local");
    const both = verifier({ issuer: [ISSUER, "supabase-local"] });
    assert.equal((await both(token)).role, "authenticated");
    assert.equal((await both(apiKey)).role, "service_role");
  });
});

// ---------------------------------------------------------------- verify: refused

Deno.test("auth: HS256 is refused when no legacy secret is configured", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier({ legacyJwtSecret: undefined });
    await assertUnauthorized(verify(await signHs256(userPayload(), keys.jwtSecret)));
    await assertUnauthorized(verify(await mintApiKey(keys, "anon", "supabase-local")));
    // ES256 still works without the legacy secret.
    assert.equal((await verify(await mintUserToken(keys, USER, { issuer: ISSUER }))).sub, USER.id);
  });
});

Deno.test("auth: an expired token is refused", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier();
    const expired = await mintUserToken(keys, USER, { issuer: ISSUER, expiresInSeconds: -60 });
    await assertUnauthorized(verify(expired), "Token has expired");
    const expiredHs = await signHs256(userPayload({ exp: now() - 60 }), keys.jwtSecret);
    await assertUnauthorized(verify(expiredHs), "Token has expired");
  });
});

Deno.test("auth: a token issued in the future or not valid yet is refused; a minute of skew is not", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier();
    const ahead = await signHs256(
      userPayload({ iat: now() + 3600, exp: now() + 7200 }),
      keys.jwtSecret,
    );
    await assertUnauthorized(verify(ahead), "Token is not valid yet");
    const early = await signHs256(userPayload({ nbf: now() + 3600 }), keys.jwtSecret);
    await assertUnauthorized(verify(early), "Invalid token");
    const skewed = await signHs256(userPayload({ iat: now() + 30 }), keys.jwtSecret);
    assert.equal((await verify(skewed)).sub, USER.id, "Auth's clock 30 s ahead");
  });
});

Deno.test("auth: a token signed by another ES256 key is refused (same kid or another)", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier();
    await assertUnauthorized(verify(await signWithNewKey("ES256", keys.kid, userPayload())));
    await assertUnauthorized(
      verify(await signWithNewKey("ES256", crypto.randomUUID(), userPayload())),
    );
  });
});

Deno.test("auth: an RS256 token whose key is not in the JWKS is refused", async () => {
  await withJwks(async ({ verifier }) => {
    await assertUnauthorized(verifier()(await signWithNewKey("RS256", "rsa-1", userPayload())));
  });
});

Deno.test("auth: HS256 signed with another secret, or with the public key, is refused", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier();
    await assertUnauthorized(verify(await signHs256(userPayload(), "x".repeat(64))));
    // Algorithm confusion: the public JWK used as an HMAC secret.
    const publicAsSecret = JSON.stringify(jwks(keys).keys[0]);
    await assertUnauthorized(verify(await signHs256(userPayload(), publicAsSecret)));
  });
});

Deno.test("auth: alg none is refused", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier();
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64(userPayload())}.`;
    await assertUnauthorized(verify(unsigned));
    const withKid = `${b64({ alg: "none", kid: keys.kid })}.${b64(userPayload())}.`;
    await assertUnauthorized(verify(withKid));
  });
});

Deno.test("auth: a tampered payload (sub changed, signature kept) is refused", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier();
    for (
      const token of [
        await mintUserToken(keys, USER, { issuer: ISSUER }),
        await signHs256(userPayload(), keys.jwtSecret),
      ]
    ) {
      const [header, payload, signature] = token.split(".");
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
      claims.sub = "b0000000-0000-4000-8000-000000000001";
      const tampered = `${header}.${b64(claims)}.${signature}`;
      await assertUnauthorized(verify(tampered));
      assert.equal((await verify(token)).sub, USER.id, "the untampered token is fine");
    }
  });
});

Deno.test("auth: a wrong issuer is refused when an issuer is configured", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const token = await mintUserToken(keys, USER, { issuer: "https://evil.test/auth/v1" });
    await assertUnauthorized(verifier({ issuer: ISSUER })(token));
    assert.equal((await verifier()(token)).sub, USER.id, "no issuer configured: not checked");
  });
});

Deno.test("auth: user tokens without a uuid sub, without aud or without exp are refused", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const verify = verifier();
    const sign = (payload: JWTPayload) => signHs256(payload, keys.jwtSecret);
    await assertUnauthorized(verify(await sign(userPayload({ sub: undefined }))));
    await assertUnauthorized(verify(await sign(userPayload({ sub: "admin" }))));
    await assertUnauthorized(verify(await sign(userPayload({ aud: undefined }))));
    await assertUnauthorized(verify(await sign(userPayload({ exp: undefined }))));
    await assertUnauthorized(verify(await sign(userPayload({ role: undefined }))));
    // Only the API-key roles may omit sub.
    await assertUnauthorized(verify(await sign({ role: "postgres", exp: now() + 60 })));
  });
});

Deno.test("auth: garbage and oversized tokens are refused", async () => {
  await withJwks(async ({ verifier }) => {
    const verify = verifier();
    for (const token of ["", "garbage", "a.b.c", `${b64({ alg: "ES256" })}.e30`]) {
      await assertUnauthorized(verify(token));
    }
    await assertUnauthorized(verify("a".repeat(20_000)));
  });
});

Deno.test("auth: an unreachable JWKS is a 503, not the caller's fault", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = await loadOrCreateKeys(dir);
    const closed = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      () => new Response(),
    );
    const port = closed.addr.port;
    await closed.shutdown();
    const verify = createVerifier({ jwksUrl: supabaseJwksUrl(`http://127.0.0.1:${port}`) });
    await assert.rejects(
      verify(await mintUserToken(keys, USER, { issuer: ISSUER })),
      (error: unknown) => error instanceof ServiceUnavailableError && error.status === 503,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth: supabaseJwksUrl is the hosted path under SUPABASE_URL", () => {
  assert.equal(
    supabaseJwksUrl("https://abc.supabase.co").href,
    "https://abc.supabase.co/auth/v1/.well-known/jwks.json",
  );
  assert.equal(
    supabaseJwksUrl("http://127.0.0.1:54321/").href,
    "http://127.0.0.1:54321/auth/v1/.well-known/jwks.json",
  );
});

Deno.test("auth: the issuer option binds user tokens; API keys answer to apiKeyIssuer", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const anon = await mintApiKey(keys, "anon", "supabase-local");
    const userOnly = verifier({ issuer: ISSUER });
    assert.equal((await userOnly(anon)).role, "anon", "API keys are not Auth's tokens");
    const wrongUser = await mintUserToken(keys, USER, { issuer: "supabase-local" });
    await assertUnauthorized(userOnly(wrongUser), "Invalid token");

    const both = verifier({ issuer: ISSUER, apiKeyIssuer: ["supabase", "supabase-local"] });
    assert.equal((await both(anon)).role, "anon");
    assert.equal(
      (await both(await mintApiKey(keys, "service_role", "supabase"))).role,
      "service_role",
    );
    await assertUnauthorized(both(await mintApiKey(keys, "service_role", "elsewhere")));
    // A service_role token with Auth's issuer is not an API key.
    const fromAuth = await signHs256(
      { role: "service_role", iss: ISSUER, exp: now() + 60 },
      keys.jwtSecret,
    );
    await assertUnauthorized(both(fromAuth));
    await assertUnauthorized(
      both(await signHs256({ role: "anon", exp: now() + 60 }, keys.jwtSecret)),
    );
    await assertUnauthorized(
      both(await signHs256(userPayload({ iss: undefined }), keys.jwtSecret)),
    );
  });
});

Deno.test("auth: supabaseAuthIssuer is SUPABASE_URL/auth/v1 without a doubled slash", () => {
  assert.equal(supabaseAuthIssuer("https://abc.supabase.co"), "https://abc.supabase.co/auth/v1");
  assert.equal(supabaseAuthIssuer("http://127.0.0.1:54321/"), "http://127.0.0.1:54321/auth/v1");
});

Deno.test("auth: verifierFromEnv checks the project's Auth issuer and the API-key issuers", async () => {
  await withJwks(async ({ keys, supabaseUrl }) => {
    for (const url of [supabaseUrl, `${supabaseUrl}/`]) {
      const verify = verifierFromEnv({ SUPABASE_URL: url, LEGACY_JWT_SECRET: keys.jwtSecret });
      const issuer = `${supabaseUrl}/auth/v1`;
      const user = await mintUserToken(keys, USER, { issuer });
      assert.equal((await verify(user)).sub, USER.id, `right iss, SUPABASE_URL ${url}`);
      assert.equal(
        (await verify(await signHs256(userPayload({ iss: issuer }), keys.jwtSecret))).sub,
        USER.id,
      );
      await assertUnauthorized(verify(await mintUserToken(keys, USER, { issuer: ISSUER })));
      await assertUnauthorized(
        verify(await mintUserToken(keys, USER, { issuer: "https://evil.test/auth/v1" })),
      );
      await assertUnauthorized(verify(await mintUserToken(keys, USER, { issuer: "supabase" })));
      for (const apiIssuer of API_KEY_ISSUERS) {
        const anon = await verify(await mintApiKey(keys, "anon", apiIssuer));
        assert.equal(anon.role, "anon", `anon key with iss ${apiIssuer}`);
      }
      await assertUnauthorized(verify(await mintApiKey(keys, "service_role", issuer)));
    }
    // Without the legacy secret, HS256 API keys are refused as before.
    const noSecret = verifierFromEnv({ SUPABASE_URL: supabaseUrl });
    await assertUnauthorized(noSecret(await mintApiKey(keys, "anon", "supabase-local")));
  });
});

// ---------------------------------------------------------------- middleware

interface ErrorBody {
  error: { code: string; message: string; request_id: string };
}

type AppVariables = LogVariables & AuthVariables<Claims>;

function appFor(verify: Verify) {
  const app = new Hono<{ Variables: AppVariables }>();
  app.use(requestLogger({ logger: createLogger({}, { write: () => {} }) }));
  app.get("/me", requireUser(verify), (c) => {
    const claims: UserClaims = c.get("claims");
    return c.json({ sub: claims.sub, tokenLength: c.get("token").length });
  });
  app.post(
    "/admin",
    requireRole(verify, ["service_role"]),
    (c) => c.json({ role: c.get("claims").role }),
  );
  app.onError(onAppError);
  return app;
}

async function assertErrorResponse(
  res: Response,
  status: number,
  code: string,
): Promise<ErrorBody> {
  assert.equal(res.status, status);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = (await res.json()) as ErrorBody;
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(body.error.code, code);
  assert.equal(body.error.request_id, res.headers.get("x-request-id"));
  return body;
}

Deno.test("auth: requireUser lets a signed-in user through with claims and token", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const token = await mintUserToken(keys, USER, { issuer: ISSUER });
    const res = await appFor(verifier()).request("/me", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { sub: USER.id, tokenLength: token.length });
    // The scheme is case-insensitive, as RFC 7235 says.
    const lower = await appFor(verifier()).request("/me", {
      headers: { authorization: `bearer ${token}` },
    });
    assert.equal(lower.status, 200);
    await lower.body?.cancel();
  });
});

Deno.test("auth: requireUser answers 401 JSON with WWW-Authenticate for a missing header", async () => {
  await withJwks(async ({ verifier }) => {
    const res = await appFor(verifier()).request("/me");
    const body = await assertErrorResponse(res, 401, "unauthorized");
    assert.equal(body.error.message, "Missing bearer token");
    assert.equal(res.headers.get("www-authenticate"), "Bearer");
  });
});

Deno.test("auth: requireUser answers 401 for a non-Bearer header or a garbage token", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const app = appFor(verifier());
    const token = await mintUserToken(keys, USER, { issuer: ISSUER });
    for (const authorization of [`Basic ${btoa("u:p")}`, token, "Bearer", `Bearer ${token} x`]) {
      const res = await app.request("/me", { headers: { authorization } });
      const body = await assertErrorResponse(res, 401, "unauthorized");
      assert.equal(body.error.message, "Authorization header must be 'Bearer <token>'");
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    }
    const garbage = await app.request("/me", { headers: { authorization: "Bearer garbage" } });
    const body = await assertErrorResponse(garbage, 401, "unauthorized");
    assert.equal(body.error.message, "Invalid token");
    assert.equal(garbage.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
  });
});

Deno.test("auth: requireUser refuses expired and forged tokens with 401", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const app = appFor(verifier());
    const expired = await mintUserToken(keys, USER, { issuer: ISSUER, expiresInSeconds: -5 });
    const res = await app.request("/me", { headers: { authorization: `Bearer ${expired}` } });
    assert.equal(
      (await assertErrorResponse(res, 401, "unauthorized")).error.message,
      "Token has expired",
    );
    const forged = await signWithNewKey("ES256", keys.kid, userPayload());
    const res2 = await app.request("/me", { headers: { authorization: `Bearer ${forged}` } });
    await assertErrorResponse(res2, 401, "unauthorized");
  });
});

Deno.test("auth: requireUser refuses the anon key with 401 and service_role with 403", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const app = appFor(verifier());
    const anon = await mintApiKey(keys, "anon", "supabase-local");
    const anonRes = await app.request("/me", { headers: { authorization: `Bearer ${anon}` } });
    const anonBody = await assertErrorResponse(anonRes, 401, "unauthorized");
    assert.equal(anonBody.error.message, "A signed-in user is required");
    const service = await mintApiKey(keys, "service_role", "supabase-local");
    const svcRes = await app.request("/me", { headers: { authorization: `Bearer ${service}` } });
    await assertErrorResponse(svcRes, 403, "forbidden");
  });
});

Deno.test("auth: requireUser refuses a user token whose aud is not authenticated", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const app = appFor(verifier());
    const call = async (aud: string | string[]) => {
      const token = await signHs256(userPayload({ aud }), keys.jwtSecret);
      return await app.request("/me", { headers: { authorization: `Bearer ${token}` } });
    };
    for (const aud of ["anon", "other-app", ["other-app"], "Authenticated", []]) {
      const res = await call(aud);
      const body = await assertErrorResponse(res, 401, "unauthorized");
      assert.equal(body.error.message, "Invalid token", `aud ${JSON.stringify(aud)}`);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
    }
    for (const aud of ["authenticated", ["other-app", "authenticated"]]) {
      const res = await call(aud);
      assert.equal(res.status, 200, `aud ${JSON.stringify(aud)}`);
      assert.deepEqual((await res.json()).sub, USER.id);
    }
  });
});

Deno.test("auth: requireUser with verifierFromEnv: wrong iss 401, right iss 200, anon key 401", async () => {
  await withJwks(async ({ keys, supabaseUrl }) => {
    const app = appFor(
      verifierFromEnv({ SUPABASE_URL: supabaseUrl, LEGACY_JWT_SECRET: keys.jwtSecret }),
    );
    const call = (token: string) =>
      app.request("/me", { headers: { authorization: `Bearer ${token}` } });
    const right = await call(await mintUserToken(keys, USER, { issuer: `${supabaseUrl}/auth/v1` }));
    assert.equal(right.status, 200);
    assert.equal((await right.json()).sub, USER.id);
    const wrong = await call(
      await mintUserToken(keys, USER, { issuer: "https://evil.test/auth/v1" }),
    );
    assert.equal(
      (await assertErrorResponse(wrong, 401, "unauthorized")).error.message,
      "Invalid token",
    );
    const anon = await call(await mintApiKey(keys, "anon", "supabase-local"));
    const body = await assertErrorResponse(anon, 401, "unauthorized");
    assert.equal(body.error.message, "A signed-in user is required", "the anon key verifies");
    const admin = await app.request("/admin", {
      method: "POST",
      headers: { authorization: `Bearer ${await mintApiKey(keys, "service_role", "supabase")}` },
    });
    assert.equal(admin.status, 200, "a hosted service_role key verifies");
    await admin.body?.cancel();
  });
});

Deno.test("auth: requireRole admits only the listed roles", async () => {
  await withJwks(async ({ keys, verifier }) => {
    const app = appFor(verifier());
    const call = (token?: string) =>
      app.request("/admin", {
        method: "POST",
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    const service = await call(await mintApiKey(keys, "service_role", "supabase-local"));
    assert.equal(service.status, 200);
    assert.deepEqual(await service.json(), { role: "service_role" });
    await assertErrorResponse(
      await call(await mintUserToken(keys, USER, { issuer: ISSUER })),
      403,
      "forbidden",
    );
    await assertErrorResponse(
      await call(await mintApiKey(keys, "anon", "supabase-local")),
      401,
      "unauthorized",
    );
    await assertErrorResponse(await call(), 401, "unauthorized");
    await assertErrorResponse(await call("garbage"), 401, "unauthorized");
  });
});

Deno.test("auth: requireUser answers 503 when the JWKS cannot be fetched", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = await loadOrCreateKeys(dir);
    const closed = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      () => new Response(),
    );
    const port = closed.addr.port;
    await closed.shutdown();
    const lines: string[] = [];
    const app = new Hono<{ Variables: AppVariables }>();
    app.use(requestLogger({ logger: createLogger({}, { write: (l) => lines.push(l) }) }));
    const verify = createVerifier({ jwksUrl: supabaseJwksUrl(`http://127.0.0.1:${port}`) });
    app.get("/me", requireUser(verify), (c) => c.text("unreachable"));
    app.onError(onAppError);
    const token = await mintUserToken(keys, USER, { issuer: ISSUER });
    const res = await app.request("/me", { headers: { authorization: `Bearer ${token}` } });
    const body = await assertErrorResponse(res, 503, "service_unavailable");
    assert.ok(!JSON.stringify(body).includes(String(port)), "no internal address to the client");
    assert.ok(lines.some((l) => l.includes("request failed")), "the cause is logged");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
