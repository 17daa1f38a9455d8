/**
 * The last-admin rule under concurrency: two admins demoting each other at the same
 * moment can never leave their organization without an admin, whatever the isolation
 * level. (The single-session rules are in supabase/tests/01_tenancy.test.sql.)
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, stackEnv } from "./support/stack.ts";

interface Org {
  id: string;
  admins: [string, string];
}

/** A scratch organization with two admins; removed afterwards. */
async function twoAdminOrg(sql: postgres.Sql): Promise<Org> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const a = crypto.randomUUID();
  const b = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values
    (${a}, ${`a-${suffix}@race.test`}), (${b}, ${`b-${suffix}@race.test`})`;
  const [org] = await sql`insert into public.organizations (name, slug)
    values ('Race', ${`race-${suffix}`}) returning id`;
  await sql`insert into public.memberships (org_id, user_id, role)
    values (${org.id}, ${a}, 'admin'), (${org.id}, ${b}, 'admin')`;
  return { id: org.id, admins: [a, b] };
}

async function removeOrg(sql: postgres.Sql, org: Org): Promise<void> {
  await sql`delete from public.organizations where id = ${org.id}`;
  await sql`delete from auth.users where id in ${sql(org.admins)}`;
}

/** Admin `actor` demotes `target`, as PostgREST would run it, and waits for `go` to commit. */
function demote(
  sql: postgres.Sql,
  isolation: string,
  actor: string,
  target: string,
  org: string,
  started: () => void,
  go: Promise<void>,
): Promise<string> {
  return sql.begin(`isolation level ${isolation}`, async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
      set_config('request.jwt.claims', ${
      JSON.stringify({ sub: actor, role: "authenticated" })
    }, true)`;
    // Takes the transaction's snapshot before the other side commits.
    await tx`select count(*) from public.memberships where org_id = ${org}`;
    started();
    await go;
    const changed = await tx`update public.memberships set role = 'viewer'
      where org_id = ${org} and user_id = ${target} returning 1`;
    // No row: RLS no longer let a just-demoted actor touch memberships (a refusal too).
    return changed.length === 1 ? "demoted" : "not allowed";
  }).catch((error: { code?: string }) => `failed ${error.code}`) as Promise<string>;
}

for (const isolation of ["read committed", "repeatable read"]) {
  Deno.test(`last admin: crossing demotions under ${isolation} leave one admin`, async () => {
    const setup = adminSql();
    const one = postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
    const two = postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
    const org = await twoAdminOrg(setup);
    try {
      let release!: () => void;
      const go = new Promise<void>((r) => release = r);
      let ready = 0;
      let results!: Promise<string[]>;
      const bothStarted = new Promise<void>((resolve) => {
        const started = () => ++ready === 2 && resolve();
        const [a, b] = org.admins;
        results = Promise.all([
          demote(one, isolation, a, b, org.id, started, go),
          demote(two, isolation, b, a, org.id, started, go),
        ]);
      });
      await bothStarted;
      release();
      const outcome = await results;
      assert.equal(outcome.filter((o) => o === "demoted").length, 1, outcome.join(", "));
      const refusal = outcome.find((o) => o !== "demoted");
      // The second is refused: the last-admin rule (23514), a serialization failure under
      // REPEATABLE READ (40001), or RLS once its actor is no longer an admin.
      assert.match(refusal ?? "", /23514|40001|not allowed/);
      const [{ admins, count }] = await setup`
        select (select count(*)::int from public.memberships
                where org_id = ${org.id} and role = 'admin') as admins,
               admin_count as count
        from public.organizations where id = ${org.id}`;
      assert.equal(admins, 1, "exactly one admin is left");
      assert.equal(count, 1, "admin_count agrees with the memberships");
    } finally {
      await removeOrg(setup, org);
      await Promise.all([setup.end(), one.end(), two.end()]);
    }
  });
}
