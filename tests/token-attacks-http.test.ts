/**
 * Forged and misused tokens against a real function through the gateway: the leads export
 * of Acme, which with a good token answers every lead's number. Each attack must get a 401
 * (not signed in) or a 403 (signed in, not allowed) in the one error shape, and its answer
 * must hold nothing of Acme's leads.
 */
import assert from "node:assert/strict";
import { base64url, generateKeyPair, importJWK, SignJWT } from "jose";
import { loadOrCreateKeys } from "../local/keys.ts";
import { supabaseAuthIssuer } from "../supabase/functions/_shared/auth.ts";
import { adminSql, seed, stackEnv } from "./support/stack.ts";

const env = stackEnv();
const EXPORT = `${env.SUPABASE_URL}/functions/v1/leads/export?org_id=${seed.acme}`;
const ISSUER = supabaseAuthIssuer(env.SUPABASE_URL);
/** Seeded Acme leads' numbers: none may appear in a refused answer. */
const ACME_PHONES = ["+14155550101", "+13055550104"];

const keys = await loadOrCreateKeys(env.LOCAL_PROFILE_DIR);
const now = () => Math.floor(Date.now() / 1000);

type Claims = Record<string, unknown>;

function claimsOf(user: keyof typeof seed.users, extra: Claims = {}): Claims {
  return {
    sub: seed.users[user],
    email: user,
    role: "authenticated",
    aud: "authenticated",
    iss: ISSUER,
    iat: now(),
    exp: now() + 600,
    ...extra,
  };
}

/** Signed with the project's ES256 key, as Supabase Auth signs. */
async function es256(claims: Claims, kid = keys.kid): Promise<string> {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
    .sign(await importJWK(keys.privateJwk, "ES256"));
}

function unsigned(header: Claims, claims: Claims, signature = ""): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(claims)}.${signature}`;
}

async function hs256(claims: Claims, secret: Uint8Array): Promise<string> {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", kid: keys.kid, typ: "JWT" })
    .sign(secret);
}

async function get(token: string | null): Promise<{ status: number; text: string }> {
  const headers = new Headers();
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  const res = await fetch(EXPORT, { headers });
  return { status: res.status, text: await res.text() };
}

/**
 * Refused with `status`, in the platform gateway's shape ({code, message}: it checks the
 * token before the function runs) or the function's ({error: {code, message}}), and
 * nothing of Acme's leads in the answer.
 */
function assertRefused(answer: { status: number; text: string }, status: number[], what: string) {
  assert.ok(status.includes(answer.status), `${what}: ${answer.status} ${answer.text}`);
  const body = JSON.parse(answer.text) as {
    code?: number;
    message?: string;
    error?: { code: string; message: string };
  };
  const message = body.error?.message ?? body.message;
  assert.ok(message && message.length >= 5, `${what}: says why (${answer.text})`);
  for (const phone of ACME_PHONES) assert.ok(!answer.text.includes(phone), `${what}: leaks a lead`);
}

Deno.test("tokens: a good token exports Acme's leads (the attacks below are refused, not broken)", async () => {
  const answer = await get(await es256(claimsOf("manager@acme.test")));
  assert.equal(answer.status, 200, answer.text);
  assert.ok(answer.text.includes(ACME_PHONES[0]));
});

Deno.test("tokens: forged, expired, early, misaddressed and tampered tokens get 401 and nothing", async () => {
  const good = await es256(claimsOf("manager@acme.test"));
  const [header, payload, signature] = good.split(".");
  const tamperedClaims = {
    ...JSON.parse(new TextDecoder().decode(base64url.decode(payload))),
    sub: seed.users["admin@acme.test"],
  };
  const other = await generateKeyPair("ES256", { extractable: true });
  const publicJwkBytes = new TextEncoder().encode(JSON.stringify(keys.publicJwk));
  const attacks: [string, string | null][] = [
    ["no token", null],
    ["garbage", "not.a.token"],
    ["an empty bearer", ""],
    ["expired", await es256(claimsOf("manager@acme.test", { exp: now() - 120, iat: now() - 720 }))],
    [
      "not yet valid (nbf in an hour)",
      await es256(claimsOf("manager@acme.test", { nbf: now() + 3600 })),
    ],
    [
      "issued in the future",
      await es256(claimsOf("manager@acme.test", { iat: now() + 3600, exp: now() + 7200 })),
    ],
    ["wrong audience", await es256(claimsOf("manager@acme.test", { aud: "service" }))],
    ["no audience", await es256(claimsOf("manager@acme.test", { aud: undefined }))],
    [
      "wrong issuer",
      await es256(claimsOf("manager@acme.test", { iss: "https://evil.example/auth/v1" })),
    ],
    ["alg none", unsigned({ alg: "none", typ: "JWT" }, claimsOf("manager@acme.test"))],
    [
      "alg none with a signature",
      unsigned({ alg: "none", typ: "JWT" }, claimsOf("manager@acme.test"), signature),
    ],
    [
      "HS256 signed with the public key (alg confusion)",
      await hs256(claimsOf("manager@acme.test"), publicJwkBytes),
    ],
    [
      "HS256 with a guessed secret",
      await hs256(claimsOf("manager@acme.test"), new TextEncoder().encode("secret")),
    ],
    [
      "tampered claims, signature kept",
      `${header}.${base64url.encode(JSON.stringify(tamperedClaims))}.${signature}`,
    ],
    [
      "signed by another key under our kid",
      await new SignJWT(claimsOf("manager@acme.test"))
        .setProtectedHeader({ alg: "ES256", kid: keys.kid, typ: "JWT" }).sign(other.privateKey),
    ],
    [
      "a sub that is not a uuid",
      await es256(claimsOf("manager@acme.test", { sub: "' or 1=1 --" })),
    ],
    ["the anon key", env.SUPABASE_ANON_KEY],
  ];
  for (const [what, token] of attacks) assertRefused(await get(token), [401], what);
});

Deno.test("tokens: valid tokens without the right get 403 and nothing", async () => {
  // A member of another organization, and a user Acme removed (the token outlives it).
  assertRefused(await get(await es256(claimsOf("admin@globex.test"))), [403, 404], "another org");
  const sql = adminSql();
  const user = seed.users["viewer@globex.test"];
  try {
    await sql`insert into public.memberships (org_id, user_id, role)
      values (${seed.acme}, ${user}, 'campaign_manager')`;
    const token = await es256(claimsOf("viewer@globex.test"));
    assert.equal((await get(token)).status, 200, "a member exports");
    await sql`delete from public.memberships where org_id = ${seed.acme} and user_id = ${user}`;
    assertRefused(await get(token), [403, 404], "a user removed from the organization");
    // A token for a user who no longer exists at all.
    assertRefused(
      await get(await es256({ ...claimsOf("viewer@globex.test"), sub: crypto.randomUUID() })),
      [401, 403, 404],
      "a user that does not exist",
    );
  } finally {
    await sql`delete from public.memberships where org_id = ${seed.acme} and user_id = ${user}`;
    await sql.end();
  }
});
