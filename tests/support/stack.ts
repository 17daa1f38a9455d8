/**
 * What integration tests need to reach the local stack. `npm test` passes the test
 * stack's environment; run alone (`deno test -A tests/`), tests use the dev stack's
 * `.local/env` written by `npm run up`.
 */
import postgres from "postgres";

const REQUIRED = [
  "SUPABASE_URL",
  "SUPABASE_DB_URL",
  "SUPABASE_ANON_KEY",
  "SUPABASE_SERVICE_ROLE_KEY",
  "SUPABASE_JWKS_URL",
  "LEGACY_JWT_SECRET",
  "TWILIO_API_BASE",
  "TWILIO_ACCOUNT_SID",
  "TWILIO_AUTH_TOKEN",
] as const;

export type StackEnv = Record<(typeof REQUIRED)[number], string> & {
  /** Folder of the stack's local keys (keys.json). */
  LOCAL_PROFILE_DIR: string;
};

function fromDevEnvFile(): Record<string, string> {
  const file = new URL("../../.local/env", import.meta.url);
  try {
    const text = Deno.readTextFileSync(file);
    const vars = Object.fromEntries(
      text.split("\n").filter((l) => l.includes("=")).map((l) => {
        const i = l.indexOf("=");
        return [l.slice(0, i), l.slice(i + 1)];
      }),
    );
    return { ...vars, LOCAL_PROFILE_DIR: new URL("../../.local/dev", import.meta.url).pathname };
  } catch {
    return {};
  }
}

let cached: StackEnv | undefined;

export function stackEnv(): StackEnv {
  if (cached) return cached;
  const fromProcess = Deno.env.toObject();
  const source = fromProcess.SUPABASE_DB_URL ? fromProcess : fromDevEnvFile();
  const missing = [...REQUIRED, "LOCAL_PROFILE_DIR"].filter((name) => !source[name]);
  if (missing.length > 0) {
    throw new Error(
      `no local stack: ${missing.join(", ")} unset (run through npm test, or npm run up first)`,
    );
  }
  cached = source as StackEnv;
  return cached;
}

/** A connection as `postgres`, the role migrations and functions use. */
export function adminSql(): postgres.Sql {
  return postgres(stackEnv().SUPABASE_DB_URL, { max: 2, onnotice: () => {} });
}

/** Seeded ids (supabase/seed.sql): the seed contract tests rely on. */
export const seed = {
  acme: "a0000000-0000-4000-8000-000000000000",
  globex: "b0000000-0000-4000-8000-000000000000",
  users: {
    "admin@acme.test": "a0000000-0000-4000-8000-000000000001",
    "manager@acme.test": "a0000000-0000-4000-8000-000000000002",
    "operator@acme.test": "a0000000-0000-4000-8000-000000000003",
    "viewer@acme.test": "a0000000-0000-4000-8000-000000000004",
    "admin@globex.test": "b0000000-0000-4000-8000-000000000001",
    "manager@globex.test": "b0000000-0000-4000-8000-000000000002",
    "operator@globex.test": "b0000000-0000-4000-8000-000000000003",
    "viewer@globex.test": "b0000000-0000-4000-8000-000000000004",
  },
  phoneNumbers: {
    acmeMain: "a1000000-0000-4000-8000-000000000001",
    acmeEast: "a1000000-0000-4000-8000-000000000002",
    globexMain: "b1000000-0000-4000-8000-000000000001",
  },
  leads: {
    /** Alice, +14155550101: consented, also a Globex lead. */
    acmeAlice: "a2000000-0000-4000-8000-000000000001",
    /** Dan, +13055550104: opted out (recipient_stop). */
    acmeDan: "a2000000-0000-4000-8000-000000000004",
    globexAlice: "b2000000-0000-4000-8000-000000000001",
  },
  templates: {
    acme: "a4000000-0000-4000-8000-000000000001",
    globex: "b4000000-0000-4000-8000-000000000001",
  },
  campaigns: {
    acmeDraft: "a6000000-0000-4000-8000-000000000001",
    globexDraft: "b6000000-0000-4000-8000-000000000001",
  },
  conversations: {
    acme: "a7000000-0000-4000-8000-000000000001",
    globex: "b7000000-0000-4000-8000-000000000001",
  },
} as const;

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
