/**
 * The Docker-free local Supabase stack: Postgres with platform.sql, our migrations
 * applied by the real Supabase CLI, the seed, then the functions gateway (with the
 * JWKS), the Twilio sandbox and the pg_net worker. `up` returns once every service
 * answers; `down` stops every process by its PID.
 */
import { join } from "node:path";
import { GATEWAY_DENO_ARGS } from "./function-limits.ts";
import { loadOrCreateKeys, type LocalKeys, mintApiKey } from "./keys.ts";
import {
  dbUrl,
  ensureCluster,
  postgresRunning,
  psql,
  startPostgres,
  stopPostgres,
} from "./postgres.ts";
import { type Profile, repoRoot } from "./profiles.ts";
import {
  type RunningService,
  type ServiceOutput,
  type ServiceSpec,
  spawnService,
  stopProcess,
} from "./services.ts";
import { WORKER_APPLICATION_NAME } from "./pg-net-worker.ts";

export interface StackInfo {
  env: Record<string, string>;
  services: RunningService[];
}

interface TwilioCredentials {
  accountSid: string;
  authToken: string;
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)))
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** The sandbox's account: generated once per profile, like a real account's credentials. */
async function twilioCredentials(p: Profile): Promise<TwilioCredentials> {
  const file = join(p.dir, "twilio.json");
  try {
    return JSON.parse(await Deno.readTextFile(file));
  } catch {
    const creds = { accountSid: `AC${randomHex(16)}`, authToken: randomHex(16) };
    await Deno.writeTextFile(file, JSON.stringify(creds), { mode: 0o600 });
    return creds;
  }
}

/** A secret of this profile, made once and kept in its folder. */
async function profileSecret(p: Profile, name: string): Promise<string> {
  const file = join(p.dir, `${name}.secret`);
  try {
    return (await Deno.readTextFile(file)).trim();
  } catch {
    const secret = randomHex(32);
    await Deno.writeTextFile(file, secret, { mode: 0o600 });
    return secret;
  }
}

/**
 * The dev stack sends like a deployed project: the Vault secrets the pg_cron job reads
 * (migration 20261126122000) point it at this stack's campaign-tick. The test stack keeps
 * them unset, so no background tick races the tests, which call the tick themselves.
 */
async function scheduleSender(p: Profile, env: Record<string, string>): Promise<void> {
  const secrets = {
    campaign_tick_url: `${env.SUPABASE_URL}/functions/v1/campaign-tick`,
    campaign_tick_secret: env.CAMPAIGN_TICK_SECRET,
  };
  await storeVaultSecrets(p, secrets);
}

/** Vault secrets by name, replacing any of the same name. */
async function storeVaultSecrets(p: Profile, secrets: Record<string, string>): Promise<void> {
  const values = Object.entries(secrets)
    .map(([name, value]) => `(${sqlLiteral(name)}, ${sqlLiteral(value)})`).join(", ");
  await psql(p, {
    sql: `delete from vault.secrets where name in (${
      Object.keys(secrets).map(sqlLiteral).join(", ")
    }); select vault.create_secret(v.secret, v.name) from (values ${values}) as v (name, secret);`,
  });
}

/** Twilio's credentials in Vault, where the functions read them (as deployed). */
async function storeTwilioCredentials(p: Profile, env: Record<string, string>): Promise<void> {
  await storeVaultSecrets(p, {
    twilio_account_sid: env.TWILIO_ACCOUNT_SID,
    twilio_auth_token: env.TWILIO_AUTH_TOKEN,
  });
}

/** The functions' environment: the stack's, without what they read from Vault. */
export function functionsEnv(env: Record<string, string>): Record<string, string> {
  const { TWILIO_ACCOUNT_SID: _sid, TWILIO_AUTH_TOKEN: _token, ...rest } = env;
  return rest;
}

function sqlLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** The environment every function gets: hosted names where hosted provides them. */
export async function stackEnv(p: Profile, keys: LocalKeys): Promise<Record<string, string>> {
  const api = `http://127.0.0.1:${p.apiPort}`;
  const twilio = await twilioCredentials(p);
  return {
    SUPABASE_URL: api,
    SUPABASE_DB_URL: dbUrl(p),
    SUPABASE_ANON_KEY: await mintApiKey(keys, "anon", "supabase-local"),
    SUPABASE_SERVICE_ROLE_KEY: await mintApiKey(keys, "service_role", "supabase-local"),
    SUPABASE_JWKS_URL: `${api}/auth/v1/.well-known/jwks.json`,
    LEGACY_JWT_SECRET: keys.jwtSecret,
    TWILIO_API_BASE: `http://127.0.0.1:${p.twilioPort}`,
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    CAMPAIGN_TICK_SECRET: await profileSecret(p, "campaign-tick"),
  };
}

export async function supabaseCli(args: string[]): Promise<string> {
  const bin = join(repoRoot, "node_modules", ".bin", "supabase");
  const out = await new Deno.Command(bin, {
    args: [...args, "--workdir", repoRoot],
    stdout: "piped",
    stderr: "piped",
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`supabase ${args[0]} ${args[1]} failed:\n${text}`);
  return text;
}

/** platform.sql runs in one transaction: its roles and schemas exist only if it completed. */
async function platformApplied(p: Profile): Promise<boolean> {
  const out = await psql(p, {
    sql: "select to_regrole('authenticator') is not null and to_regnamespace('vault') is not null",
  });
  return out.trim() === "t";
}

/**
 * Brings the database to the repository's state: platform.sql once (plus pgTAP and
 * plpgsql_check, which tests and lint use), then every migration not yet applied and the
 * seed, through `supabase db push` exactly as against hosted.
 */
async function prepareDatabase(p: Profile, say: (s: string) => void) {
  if (!(await platformApplied(p))) {
    say("applying local/platform.sql");
    await psql(p, { file: join(repoRoot, "local", "platform.sql") });
  }
  await psql(p, {
    sql: "create extension if not exists pgtap with schema extensions;" +
      "create extension if not exists plpgsql_check with schema extensions;",
  });
  say("supabase db push (migrations and seed)");
  // The CLI insists on TLS unless told otherwise; the local server has no certificate.
  const url = `${dbUrl(p)}?sslmode=disable`;
  const out = await supabaseCli(["db", "push", "--db-url", url, "--include-seed", "--yes"]);
  say(out.trim().split("\n").filter((l) => l.trim()).slice(-1)[0] ?? "");
}

/**
 * Waits until `probe` says the service is ours and ready; fails at once when the service
 * exits or start-up is interrupted, instead of waiting out the timeout.
 */
async function waitReady(
  service: RunningService,
  probe: () => Promise<boolean>,
  signal?: AbortSignal,
  timeoutMs = 60_000,
): Promise<void> {
  let exited: Deno.CommandStatus | undefined;
  service.status.then((status) => exited = status, () => {});
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (exited) {
      throw new Error(
        `${service.name} exited with code ${exited.code} during start-up (see its log)`,
      );
    }
    try {
      if (await probe()) return;
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${service.name} did not become ready within ${timeoutMs / 1000} s`);
}

export interface UpOptions {
  /** npm run up: services outlive this process, output goes to log files. */
  detached: boolean;
  say?: (line: string) => void;
  /** Aborted by Ctrl-C during start-up: up() stops what it started and rejects. */
  signal?: AbortSignal;
  /** Where foreground services' lines go (default: our stdout and stderr). */
  output?: ServiceOutput;
}

/** Starts the stack; on any failure or interruption, stops whatever it had started. */
export async function up(p: Profile, opts: UpOptions): Promise<StackInfo> {
  try {
    return await bringUp(p, opts);
  } catch (error) {
    await down(p);
    throw error;
  }
}

async function bringUp(p: Profile, opts: UpOptions): Promise<StackInfo> {
  const say = opts.say ?? (() => {});
  const signal = opts.signal;
  await Deno.mkdir(p.dir, { recursive: true });
  await stopServices(p);
  await ensureCluster(p);
  if (!(await postgresRunning(p))) {
    say(`starting Postgres on 127.0.0.1:${p.dbPort}`);
    await startPostgres(p);
  }
  signal?.throwIfAborted();
  await prepareDatabase(p, say);
  signal?.throwIfAborted();
  const keys = await loadOrCreateKeys(p.dir);
  const env = await stackEnv(p, keys);
  await writeEnvFile(p, env);
  await storeTwilioCredentials(p, env);
  if (p.name === "dev") await scheduleSender(p, env);

  const specs: ServiceSpec[] = [
    {
      name: "twilio",
      script: "twilio-sandbox.ts",
      env: {
        ...env,
        TWILIO_SANDBOX_PORT: String(p.twilioPort),
        TWILIO_SANDBOX_INBOUND_URL: `${env.SUPABASE_URL}/functions/v1/twilio/inbound`,
      },
    },
    {
      name: "functions",
      script: "functions-server.ts",
      denoArgs: GATEWAY_DENO_ARGS,
      // As deployed: Twilio's credentials come from Vault, not from the environment.
      env: {
        ...functionsEnv(env),
        LOCAL_API_PORT: String(p.apiPort),
        LOCAL_KEYS_DIR: p.dir,
      },
    },
    {
      name: "pg_net",
      script: "pg-net-worker.ts",
      env: { SUPABASE_DB_URL: env.SUPABASE_DB_URL },
    },
  ];
  const services: RunningService[] = [];
  for (const spec of specs) {
    services.push(spawnService(p, spec, opts.detached, opts.output));
    // Recorded one by one, so an interrupted start-up can still stop each of them.
    await Deno.writeTextFile(
      p.pidsFile,
      JSON.stringify(services.map(({ name, pid, script }) => ({ name, pid, script }))),
    );
  }
  const [twilio, functions, pgNet] = services;

  // Each probe checks that the answer comes from this stack, not a stray server on the port.
  const basicAuth = `Basic ${btoa(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`)}`;
  await waitReady(twilio, async () => {
    const url = `${env.TWILIO_API_BASE}/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}.json`;
    const res = await fetch(url, { headers: { authorization: basicAuth } });
    await res.body?.cancel();
    return res.status === 200;
  }, signal);
  await waitReady(functions, async () => {
    const res = await fetch(env.SUPABASE_JWKS_URL);
    const body = res.ok ? await res.json() : (await res.body?.cancel(), { keys: [] });
    return body.keys?.[0]?.kid === keys.kid;
  }, signal);
  await waitReady(pgNet, async () => {
    const seen = await psql(p, {
      sql:
        `select count(*) from pg_stat_activity where application_name = '${WORKER_APPLICATION_NAME}'`,
    });
    return Number(seen.trim()) > 0;
  }, signal);
  return { env, services };
}

async function writeEnvFile(p: Profile, env: Record<string, string>): Promise<void> {
  const lines = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  await Deno.writeTextFile(p.envFile, lines.join("\n") + "\n", { mode: 0o600 });
}

/** Reads the `NAME=value` file a running stack wrote. */
export async function readEnvFile(p: Profile): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(p.envFile);
  return Object.fromEntries(
    text.split("\n").filter((l) => l.includes("=")).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

async function stopServices(p: Profile): Promise<void> {
  let recorded: { name: string; pid: number; script: string }[] = [];
  try {
    recorded = JSON.parse(await Deno.readTextFile(p.pidsFile));
  } catch {
    return;
  }
  await Promise.all(recorded.map((s) => stopProcess(s.pid, s.script)));
  await Deno.remove(p.pidsFile).catch(() => {});
}

/** Stops every process the stack started: services by their recorded PIDs, then Postgres. */
export async function down(p: Profile): Promise<void> {
  await stopServices(p);
  await stopPostgres(p);
  await Deno.remove(p.socketDir, { recursive: true }).catch(() => {});
}

/** Seeded users (the seed contract) with a freshly minted token each. */
export async function seededUsers(p: Profile): Promise<{ id: string; email: string }[]> {
  const rows = await psql(p, { sql: "select id, email from auth.users order by email" });
  return rows.trim().split("\n").filter(Boolean).map((line) => {
    const [id, email] = line.split("|");
    return { id, email };
  });
}

export { loadOrCreateKeys, type LocalKeys };
