/**
 * The dev stack's database as the benchmarks reach it for their own work: over its unix
 * socket, where supabase_admin logs in without a password (trust), so a bench can load and
 * remove its scratch data without triggers, and can find the postmaster to count Postgres's
 * CPU. What a bench measures connects as the functions do (TCP, SUPABASE_DB_URL), in the
 * script itself.
 */
import postgres from "postgres";
import { stackEnv } from "../tests/support/stack.ts";

export interface DevDatabase {
  /**
   * A single connection over the socket as `user`, no idle timeout (a bench holds it
   * through long loads), notices dropped unless `onnotice` takes them; `applicationName`
   * names it in pg_stat_activity (postgres.js's own name otherwise).
   */
  connect(
    user: "postgres" | "supabase_admin",
    applicationName?: string,
    onnotice?: (notice: postgres.Notice) => void,
  ): postgres.Sql;
  /**
   * Runs `select 1` on `admin` (a supabase_admin connection from `connect`), so that a
   * stack that is up but refuses the superuser fails here, with what to do, rather than
   * in the middle of loading.
   */
  assertReachable(admin: postgres.Sql): Promise<void>;
  /**
   * The postmaster's PID, from the socket's lock file: the server this socket belongs to,
   * wherever its data folder lives (as root it may be one only postgres can read).
   */
  postmasterPid(): number;
}

/**
 * The dev database of the stack's environment (.local/env, or the process's own). Throws
 * at once when its socket is missing (the dev stack is not running), before a bench spends
 * time on anything else.
 */
export function devDatabase(): DevDatabase {
  const dbUrl = new URL(stackEnv().SUPABASE_DB_URL);
  // The socket folder local/profiles.ts gives the stack: /tmp/sct-<database port>.
  const socketDir = `/tmp/sct-${dbUrl.port}`;
  const socket = `${socketDir}/.s.PGSQL.${dbUrl.port}`;
  const notRunning = () =>
    new Error(`no Postgres socket in ${socketDir}: the dev stack is not running (npm run up)`);
  try {
    Deno.statSync(socket);
  } catch {
    throw notRunning();
  }
  return {
    connect(user, applicationName, onnotice) {
      return postgres({
        path: socket,
        user,
        database: dbUrl.pathname.slice(1) || "postgres",
        max: 1,
        onnotice: onnotice ?? (() => {}),
        idle_timeout: 0,
        // Only when named: an `application_name: undefined` would replace postgres.js's.
        ...(applicationName ? { connection: { application_name: applicationName } } : {}),
      });
    },
    async assertReachable(admin) {
      try {
        await admin`select 1`;
      } catch (error) {
        throw new Error(
          `cannot reach the dev database as supabase_admin over ${socketDir} (npm run up): ${error}`,
        );
      }
    },
    postmasterPid() {
      try {
        // The lock file's first line.
        return Number(Deno.readTextFileSync(`${socket}.lock`).split("\n")[0]);
      } catch {
        throw notRunning();
      }
    },
  };
}

/**
 * A bench's own user, as Auth would create it (its profile follows by trigger): who the
 * measured queries act as under RLS.
 */
export async function insertAuthUser(
  sql: postgres.Sql | postgres.TransactionSql,
  user: { id: string; email: string; fullName: string },
): Promise<void> {
  await sql`
    insert into auth.users (
      instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at
    ) values (
      '00000000-0000-0000-0000-000000000000', ${user.id}, 'authenticated', 'authenticated',
      ${user.email}, extensions.crypt('password', extensions.gen_salt('bf', 6)), now(),
      '{"provider": "email", "providers": ["email"]}',
      ${JSON.stringify({ full_name: user.fullName })}::jsonb, now(), now()
    )`;
}
