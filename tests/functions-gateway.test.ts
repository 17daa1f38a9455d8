/**
 * The local functions gateway serves each function's own index.ts at the hosted URL
 * shape, enforces verify_jwt like the hosted gateway, and serves the JWKS.
 */
import assert from "node:assert/strict";
import { startGateway } from "../local/functions-server.ts";
import { loadOrCreateKeys, mintApiKey, mintUserToken } from "../local/keys.ts";
import { freePort } from "./support/stack.ts";

const fixtures = new URL("./fixtures/supabase/functions/", import.meta.url);

async function withGateway(
  fn: (base: string, keysDir: string) => Promise<void>,
): Promise<void> {
  const keysDir = await Deno.makeTempDir();
  const keys = await loadOrCreateKeys(keysDir);
  const port = freePort();
  const server = await startGateway({
    port,
    keysDir,
    legacyJwtSecret: keys.jwtSecret,
    functionsDir: fixtures,
  });
  try {
    await fn(`http://127.0.0.1:${port}`, keysDir);
  } finally {
    await server.shutdown();
    await Deno.remove(keysDir, { recursive: true });
  }
}

Deno.test("gateway: serves the public JWKS without private key material", async () => {
  await withGateway(async (base) => {
    const res = await fetch(`${base}/auth/v1/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.keys.length, 1);
    assert.equal(body.keys[0].alg, "ES256");
    assert.equal(body.keys[0].kty, "EC");
    assert.ok(body.keys[0].kid);
    assert.equal(body.keys[0].d, undefined, "the private scalar must never be served");
  });
});

Deno.test("gateway: a verify_jwt function refuses requests without a valid token", async () => {
  await withGateway(async (base) => {
    const missing = await fetch(`${base}/functions/v1/echo/x`);
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).message, "Missing authorization header");
    const bad = await fetch(`${base}/functions/v1/echo/x`, {
      headers: { authorization: "Bearer not.a.jwt" },
    });
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).message, "Invalid JWT");
  });
});

Deno.test("gateway: strips /functions/v1 and passes path, query and method through", async () => {
  await withGateway(async (base, keysDir) => {
    const keys = await loadOrCreateKeys(keysDir);
    const user = await mintUserToken(
      keys,
      { id: crypto.randomUUID(), email: "a@b.test" },
      { issuer: `${base}/auth/v1` },
    );
    const res = await fetch(`${base}/functions/v1/echo/a/b?c=1`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${user}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { path: "/echo/a/b", search: "?c=1", method: "DELETE" });
    // The legacy anon key (HS256) is a valid JWT for the gateway too, as on hosted.
    const anon = await mintApiKey(keys, "anon", "supabase-local");
    const withAnon = await fetch(`${base}/functions/v1/echo`, {
      headers: { authorization: `Bearer ${anon}` },
    });
    assert.equal(withAnon.status, 200);
    assert.equal((await withAnon.json()).path, "/echo");
  });
});

Deno.test("gateway: verify_jwt = false functions take anonymous requests and bodies", async () => {
  await withGateway(async (base) => {
    const res = await fetch(`${base}/functions/v1/open/hook`, { method: "POST", body: "hello" });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "open:/open/hook:hello");
  });
});

Deno.test("gateway: unknown functions are 404 and failed boots are 503", async () => {
  await withGateway(async (base) => {
    const unknown = await fetch(`${base}/functions/v1/nope`);
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const other = await fetch(`${base}/rest/v1/leads`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
    const broken = await fetch(`${base}/functions/v1/broken`);
    assert.equal(broken.status, 503);
    assert.equal((await broken.json()).code, "BOOT_ERROR");
  });
});
