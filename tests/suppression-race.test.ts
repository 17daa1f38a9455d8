/**
 * A lead and a suppression of the same number written at the same moment never miss each
 * other: whichever commits first, the lead ends up flagged. (Lead writes share an advisory
 * lock per organization that suppression changes take exclusively; the single-session
 * rules are in supabase/tests/07_data_rules.test.sql.)
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, stackEnv } from "./support/stack.ts";

const PHONE = "+14155550191";

async function scratchOrg(sql: postgres.Sql): Promise<string> {
  const [org] = await sql`insert into public.organizations (name, slug)
    values ('Race', ${`race-${crypto.randomUUID().slice(0, 8)}`}) returning id`;
  return org.id;
}

/** Runs `first` in an open transaction, starts `second` meanwhile, then commits `first`. */
async function overlap(
  first: (tx: postgres.TransactionSql) => Promise<unknown>,
  second: (sql: postgres.Sql) => Promise<unknown>,
): Promise<void> {
  const a = postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  const b = postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  try {
    let secondDone: Promise<unknown> = Promise.resolve();
    await a.begin(async (tx) => {
      await first(tx);
      // postgres.js runs a query when it is awaited: start it now, on the other connection.
      secondDone = (async () => await second(b))();
      // Give the second statement time to reach the database (and wait on the lock, when
      // there is one) before the first commits; correctness does not depend on it.
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    await secondDone;
  } finally {
    await a.end();
    await b.end();
  }
}

async function flagged(sql: postgres.Sql, org: string): Promise<boolean> {
  const [lead] = await sql`select suppressed from public.leads
    where org_id = ${org} and phone = ${PHONE}`;
  return lead.suppressed;
}

Deno.test("a STOP arriving while a lead is being inserted flags the lead", async () => {
  const sql = adminSql();
  const org = await scratchOrg(sql);
  try {
    await overlap(
      (tx) => tx`insert into public.leads (org_id, phone) values (${org}, ${PHONE})`,
      (other) =>
        other`insert into public.suppressions (org_id, phone, source, reason)
          values (${org}, ${PHONE}, 'recipient_stop', 'STOP')`,
    );
    assert.equal(await flagged(sql, org), true);
  } finally {
    await sql`delete from public.organizations where id = ${org}`;
    await sql.end();
  }
});

Deno.test("a lead inserted while a STOP is being recorded is flagged", async () => {
  const sql = adminSql();
  const org = await scratchOrg(sql);
  try {
    await overlap(
      (tx) =>
        tx`insert into public.suppressions (org_id, phone, source, reason)
          values (${org}, ${PHONE}, 'recipient_stop', 'STOP')`,
      (other) => other`insert into public.leads (org_id, phone) values (${org}, ${PHONE})`,
    );
    assert.equal(await flagged(sql, org), true);
  } finally {
    await sql`delete from public.organizations where id = ${org}`;
    await sql.end();
  }
});
