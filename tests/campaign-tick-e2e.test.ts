/**
 * A campaign sent end to end: leads, a number and a template in a scratch organization,
 * the campaign started, then POST /functions/v1/campaign-tick (through the gateway, with
 * its service secret) claims, sends through the Twilio sandbox and records. Exactly one
 * message reaches each eligible lead; the suppressed one gets none; the campaign
 * completes; a second tick sends nothing.
 *
 * The recipients live in a US zone whose legal window is open now (the tick claims at the
 * real time). Between 11:00 and 12:00 UTC no US zone is (Guam has closed, Puerto Rico has
 * not opened): the test is ignored then, and says so.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, stackEnv } from "./support/stack.ts";

const LEADS = 40;

/** A ZIP, area code and state in each US zone, east to west and beyond. */
const PLACES = [
  { zip: "00901", area: "787", state: "PR" },
  { zip: "10001", area: "212", state: "NY" },
  { zip: "60601", area: "312", state: "IL" },
  { zip: "80202", area: "303", state: "CO" },
  { zip: "90012", area: "213", state: "CA" },
  { zip: "99501", area: "907", state: "AK" },
  { zip: "96813", area: "808", state: "HI" },
  { zip: "96910", area: "671", state: "GU" },
];

async function openPlace(sql: postgres.Sql) {
  for (const place of PLACES) {
    const [row] = await sql<{ open: boolean }[]>`
      select private.send_window_open(
        private.lead_time_zones(private.time_zone_for_zip(${place.zip}),
          ${"+1" + place.area + "2000000"}),
        ${place.state}, '00:00', '23:59:59', '{1,2,3,4,5,6,7}', now() + interval '2 minutes'
      ) and private.send_window_open(
        private.lead_time_zones(private.time_zone_for_zip(${place.zip}),
          ${"+1" + place.area + "2000000"}),
        ${place.state}, '00:00', '23:59:59', '{1,2,3,4,5,6,7}', now()
      ) as open`;
    if (row.open) return place;
  }
  return undefined;
}

const probe = adminSql();
const place = await openPlace(probe);
await probe.end();

async function tick(): Promise<Record<string, unknown>> {
  const env = stackEnv() as Record<string, string>;
  const response = await fetch(`${env.SUPABASE_URL}/functions/v1/campaign-tick`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.CAMPAIGN_TICK_SECRET}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

Deno.test({
  name: "campaign-tick: a campaign reaches every eligible lead exactly once and completes",
  ignore: place === undefined,
  async fn() {
    const sql = adminSql();
    const env = stackEnv();
    const suffix = crypto.randomUUID().slice(0, 8);
    const [org] = await sql<{ id: string }[]>`
      insert into public.organizations (name, slug) values ('Tick e2e', ${"tick-" + suffix})
      returning id`;
    try {
      const area = place!.area;
      const exchange = 200 + Math.floor(Math.random() * 700);
      const from = `+1${area}${exchange}9${
        String(Math.floor(Math.random() * 1000)).padStart(3, "0")
      }`;
      await sql`
        insert into public.phone_numbers (org_id, phone, twilio_sid, messages_per_second)
        values (${org.id}, ${from}, ${"PN" + crypto.randomUUID().replaceAll("-", "")}, 25)`;
      const [template] = await sql<{ id: string }[]>`
        insert into public.templates (org_id, name) values (${org.id}, 'Open house')
        returning id`;
      await sql`
        insert into public.template_variants (org_id, template_id, label, body)
        values (${org.id}, ${template.id}, 'A', 'Hi {{first_name|there}}, open house Saturday!')`;
      const phones = Array.from(
        { length: LEADS },
        (_, i) => `+1${area}${exchange}${String(i).padStart(4, "0")}`,
      );
      await sql`
        insert into public.leads (org_id, phone, first_name, state, zip, tags)
        select ${org.id}, p, 'Lead ' || n, ${place!.state}, ${place!.zip}, '{e2e}'
        from unnest(${phones}::text[]) with ordinality as t (p, n)`;
      // One of them said STOP before the campaign.
      await sql`
        insert into public.suppressions (org_id, phone, source, reason)
        values (${org.id}, ${phones[7]}, 'recipient_stop', 'STOP')`;
      const [campaign] = await sql<{ id: string }[]>`
        insert into public.campaigns (org_id, name, template_id, audience, send_window_start,
          send_window_end)
        values (${org.id}, 'E2E', ${template.id}, '{"tags": ["e2e"]}', '00:00', '23:59:59')
        returning id`;
      await sql`select private.change_campaign_status(${campaign.id}, 'start')`;

      const first = await tick();
      assert.equal(first.sent, LEADS - 1, JSON.stringify(first));
      const second = await tick();
      assert.equal(second.claimed, 0, JSON.stringify(second));

      const targets = await sql<{ status: string; n: number }[]>`
        select status, count(*)::integer as n from public.campaign_targets
        where org_id = ${org.id} group by status order by status`;
      assert.deepEqual(targets.map((t) => [t.status, t.n]), [["sent", LEADS - 1]]);
      const [messages] = await sql<{ n: number; leads: number; sids: number }[]>`
        select count(*)::integer as n, count(distinct lead_id)::integer as leads,
          count(distinct twilio_sid)::integer as sids
        from public.messages where org_id = ${org.id} and direction = 'outbound'`;
      assert.deepEqual(messages, { n: LEADS - 1, leads: LEADS - 1, sids: LEADS - 1 });
      const [status] = await sql<{ status: string }[]>`
        select status from public.campaigns where id = ${campaign.id}`;
      assert.equal(status.status, "completed");

      // What the carrier saw: one message per eligible number, none to the opted-out one.
      const seen = new Map<string, number>();
      for (const phone of phones) {
        const response = await fetch(
          `${env.TWILIO_API_BASE}/_sandbox/messages?to=${encodeURIComponent(phone)}`,
        );
        const { messages: sent } = await response.json() as { messages: { body: string }[] };
        seen.set(phone, sent.length);
        if (phone !== phones[7]) {
          assert.match(sent[0]?.body ?? "", /^Hi Lead \d+, open house Saturday!\nReply STOP/);
        }
      }
      assert.deepEqual(
        [...seen.entries()].filter(([, n]) => n !== 1).map(([p, n]) => `${p}: ${n}`),
        [`${phones[7]}: 0`],
      );
    } finally {
      await sql`delete from public.organizations where id = ${org.id}`;
      await sql.end();
    }
  },
});

Deno.test("campaign-tick: without its service secret, 401 and nothing claimed", async () => {
  const env = stackEnv() as Record<string, string>;
  for (const authorization of [undefined, "Bearer wrong", `Bearer ${env.SUPABASE_ANON_KEY}`]) {
    const response = await fetch(`${env.SUPABASE_URL}/functions/v1/campaign-tick`, {
      method: "POST",
      headers: authorization ? { authorization } : {},
    });
    assert.equal(response.status, 401, await response.text());
  }
});
