/**
 * The local pg_net worker sends what net.http_post queued once the transaction
 * commits, never what a rolled-back transaction queued, and records each response.
 */
import assert from "node:assert/strict";
import { adminSql } from "./support/stack.ts";

async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("timed out waiting");
}

Deno.test("pg_net worker: committed requests are sent and their responses recorded", async () => {
  const received: { path: string; body: string; header: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    received.push({
      path: new URL(req.url).pathname + new URL(req.url).search,
      body: await req.text(),
      header: req.headers.get("x-probe"),
    });
    return Response.json({ ok: true }, { status: 202 });
  });
  const sql = adminSql();
  try {
    const url = `http://127.0.0.1:${server.addr.port}/hook`;
    const rolledBack = sql.begin(async (tx) => {
      await tx`select net.http_post(${url + "/never"}, '{"x":1}'::jsonb)`;
      throw new Error("roll back");
    });
    await assert.rejects(rolledBack, /roll back/);
    const [{ id }] = await sql`
      select net.http_post(
        url := ${url},
        body := '{"hello":"world"}'::jsonb,
        params := '{"a":"1"}'::jsonb,
        headers := '{"Content-Type":"application/json","X-Probe":"yes"}'::jsonb
      ) as id`;
    const response = await waitFor(async () => {
      const [row] = await sql`
        select status_code, content, timed_out, error_msg from net._http_response where id = ${id}`;
      return row;
    });
    assert.equal(response.status_code, 202);
    assert.deepEqual(JSON.parse(response.content), { ok: true });
    assert.equal(response.timed_out, false);
    assert.equal(received.length, 1, "the rolled-back request must never be sent");
    assert.equal(received[0].path, "/hook?a=1");
    assert.deepEqual(JSON.parse(received[0].body), { hello: "world" });
    assert.equal(received[0].header, "yes");
  } finally {
    await sql.end();
    await server.shutdown();
  }
});

Deno.test("pg_net worker: an unreachable URL is recorded as an error, not lost", async () => {
  const sql = adminSql();
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const [{ id }] = await sql`
      select net.http_post(${`http://127.0.0.1:${closedPort}/x`}, '{}'::jsonb) as id`;
    const response = await waitFor(async () => {
      const [row] = await sql`
        select status_code, error_msg from net._http_response where id = ${id}`;
      return row;
    });
    assert.equal(response.status_code, null);
    assert.ok(response.error_msg, "the failure is described");
  } finally {
    await sql.end();
  }
});
