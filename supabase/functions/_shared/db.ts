/**
 * Database access for Edge Functions (postgres.js over SUPABASE_DB_URL).
 *
 * `asUser` runs SQL exactly as PostgREST would for the caller: one transaction, the
 * role from the verified token's claims (`set local role`), and `request.jwt.claims`
 * set so `auth.uid()` and every RLS policy decide. `asSystem` runs system work (ticks,
 * webhooks, health) as `sms_system`, a role with only the grants such work needs.
 */
import postgres from "postgres";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

/** The role system work runs as (created by the private-schema migration). */
export const SYSTEM_ROLE = "sms_system";

/** Roles a token may act as, as PostgREST's authenticator may switch to them. */
const TOKEN_ROLES = new Set(["anon", "authenticated", "service_role"]);

export interface DbOptions {
  url: string;
  /** Connections per isolate; small, since many isolates share the database. */
  max?: number;
  connectTimeoutSeconds?: number;
  /**
   * Sessions start as the system role (the `role` startup parameter), so `sql` itself runs
   * as sms_system and a call of one security-definer function is one round trip instead of
   * four (BEGIN, set_config, the call, COMMIT): what webhooks that Twilio calls thousands
   * of times a second want. A pooler that drops the parameter leaves the session as the
   * connecting user, who is a member of sms_system: the calls still work, with the
   * connecting user's rights.
   */
  systemSessions?: boolean;
}

export interface Claims {
  role?: unknown;
  sub?: unknown;
  [claim: string]: unknown;
}

export interface Db {
  sql: Sql;
  asUser<T>(claims: Claims, work: (tx: Tx) => Promise<T>): Promise<T>;
  asSystem<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

/** The Supavisor transaction pooler (port 6543) cannot keep prepared statements. */
function usesTransactionPooler(url: string): boolean {
  return new URL(url).port === "6543";
}

export function createDb(opts: DbOptions): Db {
  const sql = postgres(opts.url, {
    max: opts.max ?? 4,
    prepare: !usesTransactionPooler(opts.url),
    connect_timeout: opts.connectTimeoutSeconds ?? 5,
    idle_timeout: 30,
    onnotice: () => {},
    connection: opts.systemSessions
      ? { application_name: "edge-function", role: SYSTEM_ROLE }
      : { application_name: "edge-function" },
  });

  const inRole = <T>(
    role: string,
    claims: Claims | null,
    work: (tx: Tx) => Promise<T>,
  ): Promise<T> =>
    sql.begin(async (tx) => {
      await tx`
        select set_config('role', ${role}, true),
               set_config('request.jwt.claims', ${claims ? JSON.stringify(claims) : ""}, true)`;
      return await work(tx);
    }) as Promise<T>;

  return {
    sql,
    asUser(claims, work) {
      const role = typeof claims.role === "string" ? claims.role : "";
      if (!TOKEN_ROLES.has(role)) {
        return Promise.reject(new Error(`a token may not act as role '${role}'`));
      }
      return inRole(role, claims, work);
    },
    asSystem(work) {
      return inRole(SYSTEM_ROLE, null, work);
    },
    end: () => sql.end({ timeout: 5 }),
  };
}
