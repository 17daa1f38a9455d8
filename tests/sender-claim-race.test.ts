/**
 * The sender's claim against other sessions (the single-session rules are in
 * supabase/tests/15_sender_claim.test.sql): a target another transaction holds is skipped,
 * not waited for; two ticks never claim the same target or send slot; a STOP or a pause
 * being committed while a tick claims is seen by the claim.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, stackEnv } from "./support/stack.ts";

/** A Tuesday, 10:00 in Los Angeles: the send window is open. */
const AT = "2026-11-24 18:00:00+00";

interface Scenario {
  org: string;
  campaign: string;
  targets: number[];
}

/** An organization with one 10-per-second number, `leads` Los Angeles leads and a running campaign. */
async function scenario(sql: postgres.Sql, leads: number): Promise<Scenario> {
  const tag = crypto.randomUUID().slice(0, 8);
  const digits = String(Math.floor(Math.random() * 9000) + 1000);
  const [org] = await sql`insert into public.organizations (name, slug, campaign_message_interval)
    values ('Claim race', ${`claim-race-${tag}`}, '0') returning id`;
  const [template] = await sql`insert into public.templates (org_id, name)
    values (${org.id}, 'T') returning id`;
  const [variant] =
    await sql`insert into public.template_variants (org_id, template_id, label, body)
    values (${org.id}, ${template.id}, 'A', 'Hi {{first_name|there}}, news.') returning id`;
  await sql`insert into public.phone_numbers (org_id, phone, twilio_sid, messages_per_second)
    values (${org.id}, ${`+1415557${digits}`}, ${`PN${tag}${"0".repeat(24)}`}, 10)`;
  await sql`insert into public.leads (org_id, phone, first_name, state, zip)
    select ${org.id}, '+1415558' || lpad(i::text, 4, '0'), 'Pat', 'CA', '94105'
    from generate_series(1, ${leads}) i`;
  const [campaign] = await sql`insert into public.campaigns (org_id, name, template_id, status)
    values (${org.id}, 'race', ${template.id}, 'running') returning id`;
  const targets = await sql`insert into public.campaign_targets
      (org_id, campaign_id, lead_id, phone, template_variant_id)
    select l.org_id, ${campaign.id}, l.id, l.phone, ${variant.id}
    from public.leads l where l.org_id = ${org.id} order by l.phone
    returning id`;
  return { org: org.id, campaign: campaign.id, targets: targets.map((t) => Number(t.id)) };
}

async function drop(sql: postgres.Sql, org: string): Promise<void> {
  await sql`delete from public.organizations where id = ${org}`;
}

/** Claims as the tick does, as sms_system, inside the caller's transaction. */
async function claimIn(
  tx: postgres.TransactionSql,
  org: string,
  max = 100,
): Promise<{ id: number; slot: string }[]> {
  await tx`set local role sms_system`;
  const rows = await tx`select c.target_id, c.not_before::text as slot
    from private.claim_targets(${max}, '30 seconds', ${AT}) c where c.org_id = ${org}`;
  return rows.map((r) => ({ id: Number(r.target_id), slot: r.slot as string }));
}

/** Claims in a transaction of its own, as a tick does. */
function claim(sql: postgres.Sql, org: string, max = 100) {
  return sql.begin((tx) => claimIn(tx, org, max));
}

/** Runs `first` in an open transaction, starts `second` meanwhile, then commits `first`. */
async function overlap<T>(
  first: (tx: postgres.TransactionSql) => Promise<unknown>,
  second: (sql: postgres.Sql) => Promise<T>,
  pause = 300,
): Promise<{ secondResult: T; secondFinishedFirst: boolean }> {
  const a = postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  const b = postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  let firstCommitted = false;
  let secondFinishedFirst = false;
  try {
    let secondDone: Promise<T> | undefined;
    await a.begin(async (tx) => {
      await first(tx);
      secondDone = (async () => {
        const result = await second(b);
        secondFinishedFirst = !firstCommitted;
        return result;
      })();
      await new Promise((resolve) => setTimeout(resolve, pause));
    });
    firstCommitted = true;
    const secondResult = await secondDone!;
    return { secondResult, secondFinishedFirst };
  } finally {
    await a.end();
    await b.end();
  }
}

Deno.test("a target another transaction holds is skipped, not waited for", async () => {
  const sql = adminSql();
  const s = await scenario(sql, 4);
  try {
    const held = s.targets[0];
    const { secondResult, secondFinishedFirst } = await overlap(
      (tx) => tx`select id from public.campaign_targets where id = ${held} for update`,
      (other) => claim(other, s.org),
    );
    assert.equal(secondFinishedFirst, true, "the claim did not wait for the held row");
    assert.deepEqual(secondResult.map((r) => r.id).sort(), s.targets.slice(1).sort());
    const [row] = await sql`select status from public.campaign_targets where id = ${held}`;
    assert.equal(row.status, "pending");
  } finally {
    await drop(sql, s.org);
    await sql.end();
  }
});

Deno.test("two ticks never claim the same target or send slot", async () => {
  const sql = adminSql();
  const s = await scenario(sql, 40);
  try {
    // The first tick's claim is open while the second claims: the organization is busy, so
    // the second takes nothing (rather than slots the first may also hand out).
    const { secondResult } = await overlap(
      (tx) => claimIn(tx, s.org, 10),
      (other) => claim(other, s.org, 10),
    );
    assert.equal(secondResult.length, 0);
    // Claims one after the other continue each other's slots.
    const third = await claim(sql, s.org, 10);
    assert.equal(third.length, 10);
    const all = await sql`select id, not_before from public.campaign_targets
      where org_id = ${s.org} and status = 'claimed' order by not_before`;
    assert.equal(all.length, 20);
    assert.equal(new Set(all.map((r) => r.id)).size, 20);
    const times = all.map((r) => new Date(r.not_before).getTime());
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i] - times[i - 1] >= 100, `slots ${i - 1} and ${i} are 0.1 s apart or more`);
    }
  } finally {
    await drop(sql, s.org);
    await sql.end();
  }
});

Deno.test("a STOP committed while a tick claims is seen by the claim", async () => {
  const sql = adminSql();
  const s = await scenario(sql, 2);
  try {
    const [lead] = await sql`select phone from public.campaign_targets where id = ${s.targets[0]}`;
    const { secondResult } = await overlap(
      (tx) =>
        tx`insert into public.suppressions (org_id, phone, source, reason)
          values (${s.org}, ${lead.phone}, 'recipient_stop', 'STOP')`,
      (other) => claim(other, s.org),
    );
    assert.deepEqual(secondResult.map((r) => r.id), [s.targets[1]]);
    const [row] = await sql`select status from public.campaign_targets where id = ${s.targets[0]}`;
    assert.equal(row.status, "skipped");
  } finally {
    await drop(sql, s.org);
    await sql.end();
  }
});

Deno.test("a pause committed while a tick claims is seen by the claim", async () => {
  const sql = adminSql();
  const s = await scenario(sql, 2);
  try {
    const { secondResult } = await overlap(
      (tx) => tx`select private.change_campaign_status(${s.campaign}, 'pause', 'race')`,
      (other) => claim(other, s.org),
    );
    assert.equal(secondResult.length, 0);
    const rows = await sql`select status from public.campaign_targets where org_id = ${s.org}`;
    assert.deepEqual(rows.map((r) => r.status), ["pending", "pending"]);
  } finally {
    await drop(sql, s.org);
    await sql.end();
  }
});
