/**
 * The health function, through the local gateway exactly as a monitor calls it:
 * 200 when every dependency answers, 503 naming what is down, and back to 200 once
 * it returns.
 */
import assert from "node:assert/strict";
import { freePort, stackEnv } from "./support/stack.ts";
import { startBlackhole, startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";

interface Gateway {
  base: string;
  stop(): Promise<void>;
}

/** A gateway process of its own, so each test can point the function elsewhere. */
async function startGatewayProcess(overrides: Record<string, string>): Promise<Gateway> {
  const env = stackEnv();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      new URL("../local/functions-server.ts", import.meta.url).pathname,
    ],
    env: {
      ...env,
      ...overrides,
      LOCAL_API_PORT: String(port),
      LOCAL_KEYS_DIR: env.LOCAL_PROFILE_DIR,
    },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${base}/auth/v1/.well-known/jwks.json`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      if (Date.now() > deadline) throw new Error("gateway did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    base,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

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
  return { status: res.status, body: await res.json() };
}

Deno.test("health: the public answer names what is down but shows no details", async () => {
  const env = stackEnv();
  for (const token of [null, env.SUPABASE_ANON_KEY, "not-a-token"]) {
    const { status, body } = await health(env.SUPABASE_URL, token);
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), ["checked_at", "down", "status"]);
    assert.equal(body.status, "ok");
  }
});

Deno.test("health: its OpenAPI document describes the route", async () => {
  const res = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/health/openapi.json`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.ok(doc.paths["/health"].get.responses["503"], "the 503 answer is documented");
  assert.ok(doc.components.schemas.HealthReport);
});

Deno.test("health: 200 with every check up on the running stack", async () => {
  const { status, body } = await health(stackEnv().SUPABASE_URL);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.status, "ok");
  assert.deepEqual(body.down, []);
  for (const name of ["database", "migrations", "pg_cron", "pg_net", "twilio"]) {
    assert.equal(body.checks[name].ok, true, `${name} should be up`);
  }
  assert.equal(typeof body.checks.pg_net.queue_depth, "number");
  assert.match(String(body.checks.migrations.applied), /^\d{14}$/);
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
    const down = await health(gateway.base);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, "down");
    assert.ok(down.body.down.includes("database"), JSON.stringify(down.body.down));
    assert.equal(down.body.checks.database.ok, false);
    assert.equal(down.body.checks.twilio.ok, true, "Twilio is still up");
    assert.ok(!JSON.stringify(down.body).includes("postgres:"), "no connection string leaks");

    proxy = startTcpProxy(dbPort, proxy.port);
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
