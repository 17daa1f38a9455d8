/**
 * supabase/functions/_shared/env.ts: start-up env parsing names every missing or
 * invalid variable, never echoes a value, and applies only non-secret defaults.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { baseEnvSchema, loadEnv, twilioEnvSchema } from "../supabase/functions/_shared/env.ts";

const valid = {
  SUPABASE_URL: "http://127.0.0.1:54321",
  SUPABASE_DB_URL: "postgresql://postgres:pw@127.0.0.1:54322/postgres",
  TWILIO_ACCOUNT_SID: `AC${"0123456789abcdef".repeat(2)}`,
  TWILIO_AUTH_TOKEN: "0123456789abcdef0123456789abcdef",
};

const fullSchema = baseEnvSchema.extend(twilioEnvSchema.shape);

function loadError(schema: z.ZodType, source: Record<string, string>): Error {
  try {
    loadEnv(schema, source);
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("loadEnv should have thrown");
}

Deno.test("env: a valid environment parses, with the non-secret defaults", () => {
  const env = loadEnv(fullSchema, valid);
  assert.equal(env.SUPABASE_URL, valid.SUPABASE_URL);
  assert.equal(env.LOG_LEVEL, "info");
  assert.equal(env.TWILIO_API_BASE, "https://api.twilio.com");
  assert.equal(env.LEGACY_JWT_SECRET, undefined, "no default for a secret");
  assert.equal(env.SUPABASE_ANON_KEY, undefined);
  assert.equal(env.SUPABASE_SERVICE_ROLE_KEY, undefined, "optional, and no default");
  assert.equal(env.PUBLIC_BASE_URL, undefined);
});

Deno.test("env: SUPABASE_SERVICE_ROLE_KEY is taken as given, an sb_secret_ key or a JWT", () => {
  const secretKey = "sb_secret_0123456789abcdefABCDEF_-xyz";
  assert.equal(
    loadEnv(baseEnvSchema, { ...valid, SUPABASE_SERVICE_ROLE_KEY: secretKey })
      .SUPABASE_SERVICE_ROLE_KEY,
    secretKey,
  );
  const legacyJwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl";
  assert.equal(
    loadEnv(baseEnvSchema, { ...valid, SUPABASE_SERVICE_ROLE_KEY: legacyJwt })
      .SUPABASE_SERVICE_ROLE_KEY,
    legacyJwt,
  );
  assert.equal(
    loadEnv(baseEnvSchema, { ...valid, SUPABASE_SERVICE_ROLE_KEY: "" }).SUPABASE_SERVICE_ROLE_KEY,
    undefined,
    "an empty value is unset, never the empty secret",
  );
});

Deno.test("env: set values win over defaults, and unrelated variables are ignored", () => {
  const env = loadEnv(fullSchema, {
    ...valid,
    LOG_LEVEL: "debug",
    TWILIO_API_BASE: "http://127.0.0.1:54329",
    LEGACY_JWT_SECRET: "x".repeat(32),
    PUBLIC_BASE_URL: "https://api.example.test",
    PATH: "/usr/bin",
  });
  assert.equal(env.LOG_LEVEL, "debug");
  assert.equal(env.TWILIO_API_BASE, "http://127.0.0.1:54329");
  assert.equal(env.LEGACY_JWT_SECRET, "x".repeat(32));
  assert.equal(env.PUBLIC_BASE_URL, "https://api.example.test");
  assert.equal("PATH" in env, false);
});

Deno.test("env: every missing variable is named in one error", () => {
  const err = loadError(fullSchema, {});
  assert.equal(
    err.message,
    "Missing or invalid environment variables: SUPABASE_URL (required), " +
      "SUPABASE_DB_URL (required)",
    "Twilio's credentials may be left out: they live in Vault",
  );
});

Deno.test("env: an empty value counts as missing", () => {
  const err = loadError(fullSchema, { ...valid, SUPABASE_DB_URL: "", PUBLIC_BASE_URL: "" });
  assert.equal(
    err.message,
    "Missing or invalid environment variables: SUPABASE_DB_URL (required)",
  );
  const loaded = loadEnv(fullSchema, { ...valid, TWILIO_AUTH_TOKEN: "", TWILIO_ACCOUNT_SID: "" });
  assert.equal(loaded.TWILIO_AUTH_TOKEN, undefined, "empty Twilio values: read from Vault");
});

Deno.test("env: invalid variables are named with a reason, and no value is echoed", () => {
  const source = {
    SUPABASE_URL: "not-a-url-value",
    SUPABASE_DB_URL: "mysql://root:dbpassword@db/x",
    LEGACY_JWT_SECRET: "short-legacy-secret",
    LOG_LEVEL: "verbose-level",
    PUBLIC_BASE_URL: "ftp://files.example.test",
    TWILIO_ACCOUNT_SID: "ACnot-hex-sid-value",
    TWILIO_AUTH_TOKEN: "tiny-token",
    TWILIO_API_BASE: "twilio-base-nonsense",
  };
  const err = loadError(fullSchema, source);
  assert.equal(
    err.message,
    "Missing or invalid environment variables: " +
      "SUPABASE_URL (must be a URL), " +
      "SUPABASE_DB_URL (must be a postgres:// URL), " +
      "LEGACY_JWT_SECRET (must be at least 32 characters), " +
      "LOG_LEVEL (must be one of debug, info, warn, error), " +
      "PUBLIC_BASE_URL (must be a URL), " +
      "TWILIO_ACCOUNT_SID (must be AC followed by 32 lowercase hex digits), " +
      "TWILIO_AUTH_TOKEN (must be at least 16 characters), " +
      "TWILIO_API_BASE (must be a URL)",
  );
  for (const value of Object.values(source)) {
    assert.ok(!err.message.includes(value), `the value ${value} must not be echoed`);
  }
  assert.ok(!err.message.includes("dbpassword"));
});

Deno.test("env: a custom message that quotes the input is replaced by 'invalid'", () => {
  const schema = z.object({
    MODE: z.string().refine((v) => v === "on", { error: (i) => `bad mode ${String(i.input)}` }),
  });
  const err = loadError(schema, { MODE: "s3cr3t-value" });
  assert.equal(err.message, "Missing or invalid environment variables: MODE (invalid)");
});

Deno.test("env: the default source is the process environment", () => {
  const name = "SHARED_ENV_TEST_VARIABLE";
  Deno.env.set(name, "present");
  try {
    const env = loadEnv(z.object({ [name]: z.string() }));
    assert.equal(env[name], "present");
  } finally {
    Deno.env.delete(name);
  }
});
