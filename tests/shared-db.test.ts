/**
 * _shared/db.ts runs user SQL as PostgREST does (role and claims from the token, RLS
 * deciding) and system work as the sms_system role.
 */
import assert from "node:assert/strict";
import { createDb } from "../supabase/functions/_shared/db.ts";
import { seed, stackEnv } from "./support/stack.ts";

function claimsFor(email: keyof typeof seed.users) {
  return { sub: seed.users[email], role: "authenticated", email, aud: "authenticated" };
}

Deno.test("db.asUser: role, auth.uid() and RLS come from the claims", async () => {
  const db = createDb({ url: stackEnv().SUPABASE_DB_URL, max: 1 });
  try {
    const who = await db.asUser(claimsFor("viewer@globex.test"), async (tx) => {
      const [row] = await tx`
        select current_user as role, auth.uid() as uid, auth.jwt() ->> 'email' as email,
               (select array_agg(slug) from public.organizations) as orgs`;
      return row;
    });
    assert.equal(who.role, "authenticated");
    assert.equal(who.uid, seed.users["viewer@globex.test"]);
    assert.equal(who.email, "viewer@globex.test");
    assert.deepEqual(who.orgs, ["globex"]);
  } finally {
    await db.end();
  }
});

Deno.test("db.asUser: settings do not outlive the transaction", async () => {
  const db = createDb({ url: stackEnv().SUPABASE_DB_URL, max: 1 });
  try {
    await db.asUser(claimsFor("admin@acme.test"), (tx) => tx`select 1`);
    const [after] = await db.sql`
      select current_user as role, auth.uid() as uid`;
    assert.equal(after.role, "postgres");
    assert.equal(after.uid, null);
  } finally {
    await db.end();
  }
});

Deno.test("db.asUser: a write RLS refuses fails and rolls back the whole transaction", async () => {
  const db = createDb({ url: stackEnv().SUPABASE_DB_URL, max: 1 });
  try {
    await assert.rejects(
      db.asUser(claimsFor("admin@acme.test"), async (tx) => {
        await tx`update public.organizations set name = 'Acme Renamed' where slug = 'acme'`;
        await tx`insert into public.memberships (org_id, user_id, role)
                 values (${seed.globex}, ${seed.users["admin@acme.test"]}, 'admin')`;
      }),
      (error: { code?: string }) => error.code === "42501",
    );
    const [org] = await db.sql`select name from public.organizations where slug = 'acme'`;
    assert.equal(org.name, "Acme", "the earlier update in the transaction was rolled back");
  } finally {
    await db.end();
  }
});

Deno.test("db.asUser: refuses roles a token may not take", async () => {
  const db = createDb({ url: stackEnv().SUPABASE_DB_URL, max: 1 });
  try {
    for (const role of ["postgres", "supabase_admin", "sms_system", undefined]) {
      await assert.rejects(
        db.asUser({ sub: seed.users["admin@acme.test"], role }, (tx) => tx`select 1`),
        /may not act as role/,
      );
    }
  } finally {
    await db.end();
  }
});

Deno.test("db.asSystem: runs as sms_system, without claims and without RLS bypass", async () => {
  const db = createDb({ url: stackEnv().SUPABASE_DB_URL, max: 1 });
  try {
    const row = await db.asSystem(async (tx) => {
      const [r] = await tx`
        select current_user as role,
               coalesce(current_setting('request.jwt.claims', true), '') as claims,
               (select rolbypassrls from pg_roles where rolname = current_user) as bypass`;
      return r;
    });
    assert.deepEqual({ ...row }, { role: "sms_system", claims: "", bypass: false });
    await assert.rejects(
      db.asSystem((tx) => tx`select * from public.organizations`),
      (error: { code?: string }) => error.code === "42501",
    );
  } finally {
    await db.end();
  }
});

Deno.test("db with systemSessions: plain queries run as sms_system, with its rights only", async () => {
  const db = createDb({ url: stackEnv().SUPABASE_DB_URL, max: 1, systemSessions: true });
  try {
    const [who] = await db.sql`select current_user as role, session_user as login`;
    assert.deepEqual({ ...who }, { role: "sms_system", login: "postgres" });
    await assert.rejects(
      db.sql`update public.organizations set name = 'Acme Renamed' where slug = 'acme'`,
      (error: { code?: string }) => error.code === "42501",
    );
    const [status] = await db.sql`
      select private.record_message_status('SM' || md5('no such message'), 'delivered') as s`;
    assert.equal(status.s, "unknown", "the webhook functions are its to call");
    // A user's transaction on the same pool still takes the user's role and claims.
    const role = await db.asUser(claimsFor("viewer@acme.test"), async (tx) => {
      const [row] = await tx`select current_user as role`;
      return row.role;
    });
    assert.equal(role, "authenticated");
  } finally {
    await db.end();
  }
});
