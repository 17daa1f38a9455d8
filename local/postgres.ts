/**
 * The local Postgres 15 cluster: created under the profile's git-ignored folder,
 * configured like hosted Supabase where it matters (pg_cron preloaded, logical WAL),
 * started and stopped with pg_ctl. The cluster superuser is `supabase_admin`, as on
 * hosted; `postgres` is an ordinary role created by platform.sql.
 */
import { dirname, join } from "node:path";
import type { Profile } from "./profiles.ts";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
export const SUPERUSER = "supabase_admin";
/** Password of `postgres` and `authenticator` locally, as in `supabase start`. */
export const LOCAL_DB_PASSWORD = "postgres";

interface OsUser {
  uid: number;
  gid: number;
}

/** initdb refuses to run as root: when we are root, the server runs as the `postgres` OS user. */
async function serverOsUser(): Promise<OsUser | undefined> {
  if (Deno.uid() !== 0) return undefined;
  const out = await new Deno.Command("getent", { args: ["passwd", "postgres"], stdout: "piped" })
    .output();
  const fields = new TextDecoder().decode(out.stdout).trim().split(":");
  if (!out.success || fields.length < 4) {
    throw new Error("running as root needs the 'postgres' OS user (Debian package postgresql-15)");
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Runs a Postgres binary as the server's OS user; throws with its output on failure. */
async function runAsServer(bin: string, args: string[]): Promise<string> {
  const user = await serverOsUser();
  const cmd = new Deno.Command(join(PG_BIN, bin), {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(user ?? {}),
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${bin} ${args.join(" ")} failed:\n${text}`);
  return text;
}

async function chownToServer(path: string): Promise<void> {
  const user = await serverOsUser();
  if (user) await Deno.chown(path, user.uid, user.gid);
}

function serverConfig(p: Profile): string {
  const lines = [
    "# Written by local/postgres.ts: the settings hosted Supabase has that our code relies on.",
    `port = ${p.dbPort}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${p.socketDir}'`,
    "max_connections = 200",
    "shared_preload_libraries = 'pg_cron'",
    "cron.database_name = 'postgres'",
    "cron.use_background_workers = on",
    "cron.max_running_jobs = 8",
    "max_worker_processes = 24",
    "wal_level = logical",
    "timezone = 'UTC'",
    "log_timezone = 'UTC'",
    "password_encryption = 'scram-sha-256'",
    "log_min_messages = warning",
    "log_line_prefix = '%m [%p] %q%u@%d '",
  ];
  if (p.fastUnsafe) {
    lines.push("fsync = off", "synchronous_commit = off", "full_page_writes = off");
  }
  return lines.join("\n") + "\n";
}

export async function clusterExists(p: Profile): Promise<boolean> {
  try {
    await Deno.stat(join(p.pgData, "PG_VERSION"));
    return true;
  } catch {
    return false;
  }
}

/** Creates the cluster if it does not exist; returns true when it was created now. */
export async function ensureCluster(p: Profile): Promise<boolean> {
  await Deno.mkdir(p.logDir, { recursive: true });
  // Parents stay traversable (0755): only the server folder itself is private to its user.
  await Deno.mkdir(dirname(p.serverDir), { recursive: true, mode: 0o755 });
  await Deno.mkdir(p.serverDir, { recursive: true, mode: 0o700 });
  await chownToServer(p.serverDir);
  if (await clusterExists(p)) return false;
  await Deno.mkdir(p.pgData, { recursive: true, mode: 0o700 });
  await chownToServer(p.pgData);
  await runAsServer("initdb", [
    "-D",
    p.pgData,
    "-U",
    SUPERUSER,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
    "--no-instructions",
  ]);
  await Deno.writeTextFile(join(p.pgData, "postgresql.conf"), serverConfig(p), {
    append: true,
  });
  return true;
}

export async function startPostgres(p: Profile): Promise<void> {
  await Deno.mkdir(p.socketDir, { recursive: true, mode: 0o700 });
  await chownToServer(p.socketDir);
  await runAsServer("pg_ctl", [
    "-D",
    p.pgData,
    "-l",
    p.serverLog,
    "-w",
    "-t",
    "60",
    "start",
  ]);
}

export async function postgresRunning(p: Profile): Promise<boolean> {
  const out = await new Deno.Command(join(PG_BIN, "pg_isready"), {
    args: ["-h", p.socketDir, "-p", String(p.dbPort), "-U", SUPERUSER, "-t", "2"],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

export async function stopPostgres(p: Profile): Promise<void> {
  if (!(await clusterExists(p))) return;
  try {
    await Deno.stat(join(p.pgData, "postmaster.pid"));
  } catch {
    return;
  }
  // A pid file left by a machine that went down with the server running names a process
  // that no longer exists: nothing to stop (the next start replaces the file).
  if (!(await postgresAlive(await postmasterPid(p)))) return;
  await runAsServer("pg_ctl", ["-D", p.pgData, "-m", "fast", "-w", "-t", "60", "stop"]);
}

async function postmasterPid(p: Profile): Promise<number> {
  const text = await Deno.readTextFile(join(p.pgData, "postmaster.pid"));
  return Number(text.split("\n")[0]);
}

/** Whether `pid` is a running postgres (after a reboot, the number may belong to another). */
async function postgresAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    return (await Deno.readTextFile(`/proc/${pid}/comm`)).trim() === "postgres";
  } catch {
    return false;
  }
}

/** Connection URL for a role over TCP, the way functions and the CLI connect. */
export function dbUrl(p: Profile, user = "postgres", password = LOCAL_DB_PASSWORD): string {
  return `postgresql://${user}:${password}@127.0.0.1:${p.dbPort}/postgres`;
}

/** Runs psql over the unix socket (trusted) as `user`; throws with psql's output on error. */
export async function psql(
  p: Profile,
  input: { file: string } | { sql: string },
  user = SUPERUSER,
): Promise<string> {
  const args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", p.socketDir, "-p", String(p.dbPort)];
  args.push("-U", user, "-d", "postgres", "-At");
  if ("file" in input) args.push("-f", input.file);
  else args.push("-c", input.sql);
  const out = await new Deno.Command("psql", { args, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    const what = "file" in input ? input.file : input.sql.slice(0, 80);
    throw new Error(`psql (${user}) ${what} failed:\n${stderr}`);
  }
  return stdout;
}
