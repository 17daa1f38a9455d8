/**
 * `npm start | up | down | token | psql | gen:types | gen:time-zones | test` land here (through
 * local/run.mjs, which first installs what is missing).
 */
import postgres from "postgres";
import { profile } from "./profiles.ts";
import { down, loadOrCreateKeys, readEnvFile, seededUsers, type StackInfo, up } from "./stack.ts";
import { mintUserToken } from "./keys.ts";
import { dbUrl, postgresRunning } from "./postgres.ts";
import { TYPES_FILE, writeDatabaseTypes } from "./db-types.ts";
import { runTests } from "./test-run.ts";
import { LiveScreen, watchCampaigns } from "./campaign-view.ts";
import { startDemo } from "./demo-campaign.ts";

const dev = profile("dev");
const say = (line: string) => console.error(`» ${line}`);

async function printBanner(info: StackInfo): Promise<void> {
  const e = info.env;
  const keys = await loadOrCreateKeys(dev.dir);
  const lines = [
    "",
    "SMS Control Tower — local stack is up",
    `  API (functions)   ${e.SUPABASE_URL}/functions/v1/<name>   e.g. ${e.SUPABASE_URL}/functions/v1/health`,
    `  JWKS              ${e.SUPABASE_JWKS_URL}`,
    `  Database          ${e.SUPABASE_DB_URL}`,
    `  Twilio sandbox    ${e.TWILIO_API_BASE}   (GET /_sandbox/messages, POST /_sandbox/inbound)`,
    `  Env file          ${dev.envFile}`,
    "",
    `  SUPABASE_ANON_KEY          ${e.SUPABASE_ANON_KEY}`,
    `  SUPABASE_SERVICE_ROLE_KEY  ${e.SUPABASE_SERVICE_ROLE_KEY}`,
    `  TWILIO_ACCOUNT_SID         ${e.TWILIO_ACCOUNT_SID}`,
    `  TWILIO_AUTH_TOKEN          ${e.TWILIO_AUTH_TOKEN}`,
    "",
    "  Tokens for seeded users (1 hour; `npm run token -- <email>` for a new one):",
  ];
  for (const user of await seededUsers(dev)) {
    const token = await mintUserToken(keys, user, { issuer: `${e.SUPABASE_URL}/auth/v1` });
    lines.push(`    ${user.email.padEnd(22)} ${token}`);
  }
  console.log(lines.join("\n") + "\n");
}

/**
 * npm start: the stack in the foreground, running the seeded campaign against the Twilio
 * sandbox (demo-campaign.ts) with a live view of every running campaign below the
 * services' log (campaign-view.ts). Ctrl-C at any moment (during start-up too) stops
 * every process this command started; so does a service that dies.
 */
async function start(): Promise<void> {
  const interrupted = new AbortController();
  let reason = "interrupted";
  const onSignal = (name: string) => () => {
    reason = name;
    interrupted.abort(new Error(`${name} during start-up`));
  };
  Deno.addSignalListener("SIGINT", onSignal("interrupted"));
  Deno.addSignalListener("SIGTERM", onSignal("terminated"));
  // Closing the terminal: Postgres runs detached (pg_ctl), so it must be stopped by us.
  Deno.addSignalListener("SIGHUP", onSignal("terminal closed"));
  // Services' lines go above the live view's bars.
  const screen = new LiveScreen(Deno.stdout);
  const output = { stdout: screen.sink(Deno.stdout), stderr: screen.sink(Deno.stderr) };
  // up() stops whatever it started when it fails or is interrupted.
  const info = await up(dev, { detached: false, say, signal: interrupted.signal, output });
  await printBanner(info);
  const shown = await startDemo(dev, info.env, say).catch((error) => {
    say(`the demo campaign could not run: ${error instanceof Error ? error.message : error}`);
    return [];
  });
  say("Ctrl-C stops every process this command started");
  const viewStop = new AbortController();
  const sql = postgres(info.env.SUPABASE_DB_URL, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: "npm start live view" },
  });
  const view = watchCampaigns({
    sql,
    screen,
    signal: viewStop.signal,
    campaigns: shown,
    color: screen.isTerminal && Deno.env.get("NO_COLOR") === undefined,
  });
  const stopRequested = new Promise<void>((resolve) => {
    if (interrupted.signal.aborted) resolve();
    interrupted.signal.addEventListener("abort", () => resolve());
  });
  await Promise.race([
    stopRequested,
    ...info.services.map(async (s) => {
      const status = await s.status;
      if (!interrupted.signal.aborted) {
        reason = `${s.name} exited with code ${status.code}`;
      }
    }),
  ]);
  viewStop.abort();
  await view;
  await sql.end({ timeout: 1 });
  screen.release();
  say(`${reason}: stopping`);
  await down(dev);
  say("stopped");
}

async function token(email: string | undefined): Promise<void> {
  if (!email) throw new Error("usage: npm run token -- <email of a seeded user>");
  if (!(await postgresRunning(dev))) throw new Error("the dev stack is not running: npm run up");
  const env = await readEnvFile(dev);
  const user = (await seededUsers(dev)).find((u) => u.email === email.toLowerCase());
  if (!user) throw new Error(`no user ${email} in auth.users`);
  const keys = await loadOrCreateKeys(dev.dir);
  console.log(await mintUserToken(keys, user, { issuer: `${env.SUPABASE_URL}/auth/v1` }));
}

async function psqlShell(args: string[]): Promise<number> {
  const env = await readEnvFile(dev);
  const child = new Deno.Command("psql", {
    // `npm run psql -- -c '…'` passes its own `--` through when run directly.
    args: [...args.filter((a, i) => !(i === 0 && a === "--")), env.SUPABASE_DB_URL],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

/** npm run gen:types: the dev database's TypeScript types, into TYPES_FILE. */
async function genTypes(): Promise<void> {
  if (!(await postgresRunning(dev))) {
    throw new Error("the dev stack is not running: start it with npm run up (or npm start)");
  }
  const changed = await writeDatabaseTypes(dbUrl(dev));
  say(changed ? `wrote ${TYPES_FILE}` : `${TYPES_FILE} is already up to date`);
}

/** Every benchmark in bench/, against the running dev stack; each records its table. */
async function bench(): Promise<number> {
  if (!(await postgresRunning(dev))) throw new Error("the dev stack is not running: npm run up");
  let failed = 0;
  for (
    const script of [
      "cold-start.ts",
      "rls-leads.ts",
      "lead-import.ts",
      "campaign-sender.ts",
      "twilio-status.ts",
      "dashboards.ts",
    ]
  ) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--quiet",
        new URL(`../bench/${script}`, import.meta.url).pathname,
        "--write",
      ],
      env: { ...(await readEnvFile(dev)), LOCAL_PROFILE_DIR: dev.dir },
      stdin: "null",
    }).spawn();
    if (!(await child.status).success) failed++;
  }
  return failed === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const [command, ...rest] = Deno.args;
  switch (command) {
    case "start":
      await start();
      return 0;
    case "up": {
      const interrupted = new AbortController();
      const abort = () => interrupted.abort(new Error("interrupted during start-up"));
      Deno.addSignalListener("SIGINT", abort);
      Deno.addSignalListener("SIGTERM", abort);
      const info = await up(dev, { detached: true, say, signal: interrupted.signal });
      say(`stack is up; environment written to ${dev.envFile}`);
      say(`functions: ${info.env.SUPABASE_URL}/functions/v1/<name>  logs: ${dev.logDir}`);
      return 0;
    }
    case "down":
      await down(dev);
      say("stack stopped");
      return 0;
    case "reset":
      await down(dev);
      await Deno.remove(dev.dir, { recursive: true }).catch(() => {});
      await Deno.remove(dev.serverDir, { recursive: true }).catch(() => {});
      say("dev stack stopped and its data removed; npm start builds it anew");
      return 0;
    case "token":
      await token(rest[0]);
      return 0;
    case "psql":
      return await psqlShell(rest);
    case "gen:types":
      await genTypes();
      return 0;
    case "gen:time-zones":
      return await (await import("./time-zone-data.ts")).generateTimeZoneMigration(rest);
    case "test":
      return await runTests(rest);
    case "bench":
      return await bench();
    default:
      console.error(
        "usage: cli.ts start|up|down|reset|token <email>|psql|gen:types|gen:time-zones|test|bench",
      );
      return 2;
  }
}

try {
  Deno.exit(await main());
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  Deno.exit(1);
}
