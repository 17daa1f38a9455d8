/**
 * Environment, parsed once with zod at start-up. A function with a missing or invalid
 * variable fails to boot with a message naming every such variable (names and reasons,
 * never values), rather than running with a silent default for a secret.
 */
import { z } from "zod";

const httpUrl = z.url({ protocol: /^https?$/, error: "must be a URL" });

const postgresUrl = z.string().refine((value) => {
  try {
    return /^postgres(ql)?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}, { error: "must be a postgres:// URL" });

/** What every function needs; hosted Supabase provides the SUPABASE_* names itself. */
export const baseEnvSchema = z.object({
  SUPABASE_URL: httpUrl,
  SUPABASE_DB_URL: postgresUrl,
  /** Provided by hosted Supabase; our functions do not need it. */
  SUPABASE_ANON_KEY: z.string().optional(),
  /**
   * Provided by hosted Supabase: an `sb_secret_…` key, or on older projects the legacy
   * service_role JWT. Optional: only functions that recognise the key itself (health's
   * details) use it, and they fall back to JWT verification without it.
   */
  SUPABASE_SERVICE_ROLE_KEY: z.string().optional(),
  /** The project's legacy HS256 JWT secret; without it HS256 tokens are refused. */
  LEGACY_JWT_SECRET: z.string().min(32, { error: "must be at least 32 characters" }).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], {
    error: "must be one of debug, info, warn, error",
  }).default("info"),
  /** Where clients reach the functions, when it differs from SUPABASE_URL. */
  PUBLIC_BASE_URL: httpUrl.optional(),
});

/**
 * What functions that talk to Twilio need. The credentials live in Vault (read through
 * twilio-credentials.ts); set here, they are used instead.
 */
export const twilioEnvSchema = z.object({
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-f]{32}$/, {
    error: "must be AC followed by 32 lowercase hex digits",
  }).optional(),
  TWILIO_AUTH_TOKEN: z.string().min(16, { error: "must be at least 16 characters" }).optional(),
  /** Not a secret: the local stack points it at the Twilio sandbox. */
  TWILIO_API_BASE: httpUrl.default("https://api.twilio.com"),
});

export type BaseEnv = z.infer<typeof baseEnvSchema>;
export type TwilioEnv = z.infer<typeof twilioEnvSchema>;

/**
 * Parses `source` (default: the process environment) with `schema`. Empty values count
 * as unset, so `X=` in an env file means "missing", not "the empty secret".
 */
export function loadEnv<T extends z.ZodType>(
  schema: T,
  source: Record<string, string | undefined> = Deno.env.toObject(),
): z.infer<T> {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined && value !== "") present[name] = value;
  }
  const result = schema.safeParse(present);
  if (result.success) return result.data;

  const problems = new Map<string, string>();
  for (const issue of result.error.issues) {
    const name = issue.path.length > 0 ? String(issue.path[0]) : "(environment)";
    if (problems.has(name)) continue;
    const value = present[name];
    // A schema's custom message could quote the input; the value must never be echoed.
    const reason = value === undefined
      ? "required"
      : issue.message.includes(value)
      ? "invalid"
      : issue.message;
    problems.set(name, reason);
  }
  const list = [...problems].map(([name, reason]) => `${name} (${reason})`).join(", ");
  throw new Error(`Missing or invalid environment variables: ${list}`);
}
