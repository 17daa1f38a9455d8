/**
 * The health function, through the local gateway exactly as a monitor calls it:
 * 200 when every dependency answers, 503 naming what is down, and back to 200 once
 * it returns; details only for the service role. Every body must match the contract
 * (`healthReportSchema`). Also the cache (`cachedFor`) that keeps a flood of requests
 * off the database and Twilio.
 */
import assert from "node:assert/strict";
import { loadOrCreateKeys, mintUserToken } from "../local/keys.ts";
import { supabaseAuthIssuer, verifierFromEnv } from "../supabase/functions/_shared/auth.ts";
import { cachedFor, CHECK_NAMES, DATABASE_CACHE_MS } from "../supabase/functions/health/checks.ts";
import { healthReportSchema } from "../supabase/functions/health/health.routes.ts";
import { adminSql, freePort, seed, stackEnv } from "./support/stack.ts";
import { postTick } from "./support/tick-scenario.ts";
import { startGatewayProcess } from "./support/gateway-process.ts";
import { startBlackhole, startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";

interface HealthBody {
  status: string;
  down: string[];
  checked_at: string;
  checks: Record<string, { ok: boolean; error?: string; [detail: string]: unknown }>;
}

/** Health as the platform's operator sees it: with the service-role key, every detail. */
async function health(
  base: string,
  token: string | null = stackEnv().SUPABASE_SERVICE_ROLE_KEY,
): Promise<{ status: number; body: HealthBody }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(`${base}/functions/v1/health`, {
    headers,
    signal: AbortSignal.timeout(30_000),
  });
  const body = await res.json();
  const parsed = healthReportSchema.safeParse(body);
  assert.ok(parsed.success, `body breaks the contract: ${parsed.error}\n${JSON.stringify(body)}`);
  return { status: res.status, body };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Longer than the database checks' cache: the next request checks afresh. */
const pastDatabaseCache = () => sleep(DATABASE_CACHE_MS + 200);

/** A signed-in user's session token from the stack's Auth keys (verified, so not vacuous). */
async function userToken(): Promise<string> {
  const env = stackEnv();
  const token = await mintUserToken(
    await loadOrCreateKeys(env.LOCAL_PROFILE_DIR),
    { id: seed.users["admin@acme.test"], email: "admin@acme.test" },
    { issuer: supabaseAuthIssuer(env.SUPABASE_URL) },
  );
  assert.equal((await verifierFromEnv(env)(token)).role, "authenticated");
  return token;
}

const DETAILED_KEYS = ["checked_at", "checks", "down", "status"];
const PUBLIC_KEYS = ["checked_at", "down", "status"];

Deno.test("health: the public answer names what is down but shows no details", async () => {
  const env = stackEnv();
  for (const token of [null, env.SUPABASE_ANON_KEY, "not-a-token", await userToken()]) {
    const { status, body } = await health(env.SUPABASE_URL, token);
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), PUBLIC_KEYS);
    assert.equal(body.status, "ok");
  }
});

Deno.test("health: details for the service-role key itself (sb_secret_…) or a service_role JWT", async () => {
  const env = stackEnv();
  // As on hosted: the key is an opaque sb_secret_ key, not a JWT.
  const secretKey = `sb_secret_${crypto.randomUUID().replaceAll("-", "")}`;
  const gateway = await startGatewayProcess({ SUPABASE_SERVICE_ROLE_KEY: secretKey });
  try {
    const detailed = {
      "the sb_secret_ key": secretKey,
      "a service_role JWT (the legacy key)": env.SUPABASE_SERVICE_ROLE_KEY,
    };
    for (const [what, token] of Object.entries(detailed)) {
      const { status, body } = await health(gateway.base, token);
      assert.equal(status, 200, what);
      assert.deepEqual(Object.keys(body).sort(), DETAILED_KEYS, what);
    }
    const last = secretKey.at(-1) === "0" ? "1" : "0";
    const publicOnly = {
      "no token": null,
      "the anon key": env.SUPABASE_ANON_KEY,
      "a signed-in user": await userToken(),
      "a same-length wrong key": secretKey.slice(0, -1) + last,
      "a longer key": `${secretKey}0`,
      "a prefix of the key": secretKey.slice(0, -1),
    };
    for (const [what, token] of Object.entries(publicOnly)) {
      const { status, body } = await health(gateway.base, token);
      assert.equal(status, 200, what);
      assert.deepEqual(Object.keys(body).sort(), PUBLIC_KEYS, what);
    }
  } finally {
    await gateway.stop();
  }
});

Deno.test("health: its OpenAPI document describes the route", async () => {
  const res = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/health/openapi.json`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.deepEqual(doc.servers, [{ url: "/functions/v1/health" }]);
  assert.ok(doc.paths["/"].get.responses["503"], "the 503 answer is documented");
  assert.ok(doc.components.schemas.HealthReport);
});

Deno.test("health: the contract keys `checks` by check name, every one required", async () => {
  const check = { ok: true, latency_ms: 1 };
  const checks = Object.fromEntries(CHECK_NAMES.map((name) => [name, check]));
  const report = { status: "ok", down: [], checked_at: new Date().toISOString(), checks };
  assert.ok(healthReportSchema.safeParse(report).success);
  const { twilio: _, ...missing } = checks;
  assert.ok(!healthReportSchema.safeParse({ ...report, checks: missing }).success, "missing");
  const extra = { ...checks, redis: check };
  assert.ok(!healthReportSchema.safeParse({ ...report, checks: extra }).success, "unknown");

  const gateway = await startGatewayProcess({});
  try {
    const res = await fetch(`${gateway.base}/functions/v1/health/openapi.json`);
    const doc = await res.json();
    const documented = doc.components.schemas.HealthReport.properties.checks;
    assert.deepEqual(Object.keys(documented.properties), [...CHECK_NAMES]);
    assert.deepEqual(documented.required, [...CHECK_NAMES]);
  } finally {
    await gateway.stop();
  }
});

Deno.test("health: 200 with every check up on the running stack", async () => {
  const { status, body } = await health(stackEnv().SUPABASE_URL);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.status, "ok");
  assert.deepEqual(body.down, []);
  for (const name of ["database", "migrations", "pg_cron", "pg_net", "sender", "twilio"]) {
    assert.equal(body.checks[name].ok, true, `${name} should be up`);
  }
  assert.equal(typeof body.checks.pg_net.queue_depth, "number");
  assert.match(String(body.checks.migrations.applied), /^\d{14}$/);
});

Deno.test("health: 503 naming the sender when the scheduled tick has not run for three intervals, 200 once it runs", async () => {
  const sql = adminSql();
  const names = ["campaign_tick_url", "campaign_tick_secret"];
  try {
    // Scheduled (its Vault secrets, at a closed port: a post of pg_cron's fails harmlessly),
    // and three posts of its job in the last three minutes with no tick since.
    await sql`delete from vault.secrets where name = any (${names})`;
    await sql`select vault.create_secret('http://127.0.0.1:9/functions/v1/campaign-tick',
      'campaign_tick_url'), vault.create_secret(${"x".repeat(40)}, 'campaign_tick_secret')`;
    await sql`delete from private.tick_runs where started_at > now() - interval '1 hour'`;
    await sql`insert into cron.job_run_details (jobid, runid, job_pid, database, username,
        command, status, start_time)
      select j.jobid, -m, 0, 'postgres', 'postgres', j.command, 'succeeded',
        now() - m * interval '1 minute'
      from cron.job j, generate_series(1, 3) m where j.jobname = 'campaign-tick'`;
    await pastDatabaseCache();
    const stale = await health(stackEnv().SUPABASE_URL);
    assert.equal(stale.status, 503, JSON.stringify(stale.body));
    assert.deepEqual(stale.body.down, ["sender"]);
    assert.match(String(stale.body.checks.sender.error), /has not run since it was scheduled/);
    assert.equal(stale.body.checks.sender.scheduled, true);

    // A tick runs (as pg_cron would call it): it records itself, and the sender is up.
    await postTick();
    await pastDatabaseCache();
    const fresh = await health(stackEnv().SUPABASE_URL);
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    assert.equal(fresh.body.checks.sender.ok, true);
    assert.ok(Number(fresh.body.checks.sender.last_tick_age_seconds) < 60);
    assert.equal(fresh.body.checks.sender.ticks_failed_last_hour, 0);
    assert.ok(fresh.body.checks.sender.last_tick_finished_at, "the tick recorded its end");
  } finally {
    await sql`delete from vault.secrets where name = any (${names})`;
    await sql`delete from cron.job_run_details where runid < 0`;
    await sql.end();
  }
  // Unscheduled again (as the test stack is): reported, not judged.
  await pastDatabaseCache();
  const unscheduled = await health(stackEnv().SUPABASE_URL);
  assert.equal(unscheduled.body.checks.sender.scheduled, false);
  assert.equal(unscheduled.status, 200, JSON.stringify(unscheduled.body));
});

Deno.test("health: 503 naming the database when it stops, 200 again when it is back", async () => {
  const env = stackEnv();
  const dbPort = Number(new URL(env.SUPABASE_DB_URL).port);
  let proxy: TcpProxy = startTcpProxy(dbPort);
  const viaProxy = new URL(env.SUPABASE_DB_URL);
  viaProxy.port = String(proxy.port);
  const gateway = await startGatewayProcess({ SUPABASE_DB_URL: viaProxy.toString() });
  try {
    assert.equal((await health(gateway.base)).status, 200);

    await proxy.close();
    await pastDatabaseCache();
    const down = await health(gateway.base);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, "down");
    assert.ok(down.body.down.includes("database"), JSON.stringify(down.body.down));
    assert.equal(down.body.checks.database.ok, false);
    assert.equal(down.body.checks.twilio.ok, true, "Twilio is still up");
    assert.ok(!JSON.stringify(down.body).includes("postgres:"), "no connection string leaks");

    proxy = startTcpProxy(dbPort, proxy.port);
    await pastDatabaseCache();
    const back = await health(gateway.base);
    assert.equal(back.status, 200, JSON.stringify(back.body));
  } finally {
    await gateway.stop();
    await proxy.close();
  }
});

Deno.test("health: a hung database gives a prompt 503, not a hung health check", async () => {
  const hung = startBlackhole();
  const url = new URL(stackEnv().SUPABASE_DB_URL);
  url.port = String(hung.port);
  const gateway = await startGatewayProcess({ SUPABASE_DB_URL: url.toString() });
  try {
    // health() gives up after 30 s: a health check that hangs fails this test.
    const { status, body } = await health(gateway.base);
    assert.equal(status, 503);
    assert.ok(body.down.includes("database"));
    assert.match(body.checks.database.error ?? "", /timed out/);
  } finally {
    await gateway.stop();
    await hung.close();
  }
});

Deno.test("health: 503 naming Twilio when its API does not answer", async () => {
  const gateway = await startGatewayProcess({ TWILIO_API_BASE: `http://127.0.0.1:${freePort()}` });
  try {
    const { status, body } = await health(gateway.base);
    assert.equal(status, 503);
    assert.deepEqual(body.down, ["twilio"]);
    assert.equal(body.checks.database.ok, true);
  } finally {
    await gateway.stop();
  }
});

Deno.test("health: 503 naming Twilio when the credentials are refused", async () => {
  const gateway = await startGatewayProcess({ TWILIO_AUTH_TOKEN: "wrong-token-0123456789" });
  try {
    const { status, body } = await health(gateway.base);
    assert.equal(status, 503);
    assert.deepEqual(body.down, ["twilio"]);
    assert.match(body.checks.twilio.error ?? "", /401/);
  } finally {
    await gateway.stop();
  }
});

/** A computation that resolves when told to, counting how often it started. */
function controlled<T>() {
  let calls = 0;
  let settle: { resolve(value: T): void; reject(error: unknown): void } | undefined;
  const fn = () => {
    calls++;
    return new Promise<T>((resolve, reject) => settle = { resolve, reject });
  };
  return {
    fn,
    get calls() {
      return calls;
    },
    resolve: (value: T) => settle!.resolve(value),
    reject: (error: unknown) => settle!.reject(error),
  };
}

const neverFails = (error: unknown): never => {
  throw new Error("onError should not be called", { cause: error });
};

Deno.test("cachedFor: concurrent callers share one computation, even one outlasting the TTL", async () => {
  const work = controlled<number>();
  const cached = cachedFor(work.fn, 10, neverFails);
  const first = [cached(), cached()];
  await sleep(30);
  const later = cached();
  assert.equal(work.calls, 1, "one computation in flight, shared");
  work.resolve(42);
  assert.deepEqual(await Promise.all([...first, later]), [42, 42, 42]);
});

Deno.test("cachedFor: the result is reused within the TTL and computed afresh after it", async () => {
  let calls = 0;
  const cached = cachedFor(() => Promise.resolve(++calls), 50, neverFails);
  assert.equal(await cached(), 1);
  assert.equal(await cached(), 1, "within the TTL");
  await sleep(80);
  assert.equal(await cached(), 2, "after the TTL");
  assert.equal(await cached(), 2);
});

Deno.test("cachedFor: a failure is cached for the TTL too, and callers get onError's value", async () => {
  const work = controlled<string>();
  const seen: unknown[] = [];
  const cached = cachedFor(work.fn, 50, (error) => {
    seen.push(error);
    return "fallback";
  });
  const pending = [cached(), cached()];
  const boom = new Error("boom");
  work.reject(boom);
  assert.deepEqual(await Promise.all(pending), ["fallback", "fallback"], "no caller throws");
  assert.deepEqual(seen, [boom], "onError runs once per computation");
  assert.equal(await cached(), "fallback", "within the TTL the failure is not retried");
  assert.equal(work.calls, 1);

  await sleep(80);
  const retry = cached();
  assert.equal(work.calls, 2, "retried after the TTL");
  work.resolve("ok");
  assert.equal(await retry, "ok");
});

Deno.test("cachedFor: a function that throws synchronously is handled like a rejection", async () => {
  const cached = cachedFor(
    (): Promise<string> => {
      throw new Error("sync");
    },
    50,
    () => "fallback",
  );
  assert.equal(await cached(), "fallback");
});
