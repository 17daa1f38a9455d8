/**
 * local/keys.ts: the local stack's keys are created once, kept private on disk, served
 * without private material, and mint tokens shaped like Supabase Auth's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { jwks, loadOrCreateKeys, mintApiKey, mintUserToken } from "../local/keys.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("keys: created once, persisted with mode 0600, and reloaded unchanged", async () => {
  await withDir(async (dir) => {
    const nested = join(dir, "profile");
    const first = await loadOrCreateKeys(nested);
    const stat = await Deno.stat(join(nested, "keys.json"));
    assert.equal((stat.mode ?? 0) & 0o777, 0o600);
    const again = await loadOrCreateKeys(nested);
    assert.deepEqual(again, first);
    assert.ok(first.jwtSecret.length >= 40);
    assert.ok(first.kid.length > 0);
    assert.equal(first.privateJwk.kty, "EC");
    assert.equal(first.privateJwk.crv, "P-256");
    assert.ok(first.privateJwk.d);
  });
});

Deno.test("keys: concurrent first use agrees on one key set", async () => {
  await withDir(async (dir) => {
    const all = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateKeys(dir)));
    const onDisk = await loadOrCreateKeys(dir);
    for (const keys of all) assert.equal(keys.kid, onDisk.kid);
  });
});

Deno.test("keys: a corrupt keys.json is reported, not silently replaced", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "keys.json"), "{not json");
    await assert.rejects(loadOrCreateKeys(dir), /keys\.json is not a valid local keys file/);
    assert.equal(await Deno.readTextFile(join(dir, "keys.json")), "{not json");
  });
});

Deno.test("keys: the JWKS holds the public key only, with kid, alg and use", async () => {
  await withDir(async (dir) => {
    const keys = await loadOrCreateKeys(dir);
    const set = jwks(keys);
    assert.equal(set.keys.length, 1);
    const [key] = set.keys;
    assert.deepEqual(Object.keys(key).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert.equal(key.kid, keys.kid);
    assert.equal(key.alg, "ES256");
    assert.equal(key.use, "sig");
    assert.equal(key.d, undefined);
  });
});

Deno.test("keys: user tokens carry the claims Supabase Auth issues", async () => {
  await withDir(async (dir) => {
    const keys = await loadOrCreateKeys(dir);
    const id = crypto.randomUUID();
    const token = await mintUserToken(
      keys,
      {
        id,
        email: "op@acme.test",
        phone: "+14155550123",
        appMetadata: { org: "acme" },
        userMetadata: { name: "Op" },
      },
      { issuer: "http://127.0.0.1:54321/auth/v1", expiresInSeconds: 600 },
    );
    assert.deepEqual(decodeProtectedHeader(token), { alg: "ES256", kid: keys.kid, typ: "JWT" });
    const claims = decodeJwt(token);
    assert.equal(claims.iss, "http://127.0.0.1:54321/auth/v1");
    assert.equal(claims.sub, id);
    assert.equal(claims.aud, "authenticated");
    assert.equal(claims.role, "authenticated");
    assert.equal(claims.email, "op@acme.test");
    assert.equal(claims.phone, "+14155550123");
    assert.deepEqual(claims.app_metadata, { provider: "email", providers: ["email"], org: "acme" });
    assert.deepEqual(claims.user_metadata, { name: "Op" });
    assert.equal(claims.aal, "aal1");
    assert.deepEqual(claims.amr, [{ method: "password", timestamp: claims.iat }]);
    assert.match(String(claims.session_id), /^[0-9a-f-]{36}$/);
    assert.equal(claims.is_anonymous, false);
    assert.equal(claims.exp! - claims.iat!, 600);

    const plain = decodeJwt(
      await mintUserToken(keys, { id, email: "v@acme.test" }, { issuer: "i" }),
    );
    assert.equal(plain.phone, "", "Supabase Auth puts an empty phone when there is none");
    assert.deepEqual(plain.user_metadata, {});
    assert.equal(plain.exp! - plain.iat!, 3600, "one hour by default");
  });
});

Deno.test("keys: API keys are long-lived HS256 tokens with the role and issuer", async () => {
  await withDir(async (dir) => {
    const keys = await loadOrCreateKeys(dir);
    for (const role of ["anon", "service_role"] as const) {
      const token = await mintApiKey(keys, role, "supabase-local");
      assert.deepEqual(decodeProtectedHeader(token), { alg: "HS256", typ: "JWT" });
      const claims = decodeJwt(token);
      assert.equal(claims.role, role);
      assert.equal(claims.iss, "supabase-local");
      assert.equal(claims.sub, undefined);
      const years = (claims.exp! - claims.iat!) / (365 * 24 * 3600);
      assert.equal(Math.round(years), 10);
    }
  });
});
