/**
 * The live view's query (local/campaign-progress.ts) against the local stack: a started
 * campaign whose targets, messages, replies and opt-outs are written the way the sender
 * and the twilio webhook write them, in a transaction that is rolled back.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { type CampaignProgress, campaignProgress } from "../local/campaign-progress.ts";
import { adminSql } from "./support/stack.ts";

class Rollback extends Error {}

/** Runs `body` in a transaction that is always rolled back. */
async function inRollback(sql: postgres.Sql, body: (tx: postgres.Sql) => Promise<void>) {
  await assert.rejects(
    sql.begin(async (tx) => {
      await body(tx as unknown as postgres.Sql);
      throw new Rollback();
    }),
    Rollback,
  );
}

const sid = () => "SM" + crypto.randomUUID().replaceAll("-", "");

Deno.test("progress counts targets, messages, replies and opt-outs of each running campaign", async () => {
  const sql = adminSql();
  try {
    await inRollback(sql, async (tx) => {
      const [org] = await tx<{ id: string }[]>`
        insert into public.organizations (name, slug) values ('Progress', ${
        "progress-" + crypto.randomUUID().slice(0, 8)
      }) returning id`;
      const [number] = await tx<{ id: string; phone: string }[]>`
        insert into public.phone_numbers (org_id, phone, twilio_sid, messages_per_second)
        values (${org.id}, '+12125559900', 'PN' || replace(gen_random_uuid()::text, '-', ''), 1)
        returning id, phone`;
      const [template] = await tx<{ id: string }[]>`
        insert into public.templates (org_id, name) values (${org.id}, 'T') returning id`;
      await tx`
        insert into public.template_variants (org_id, template_id, label, body)
        values (${org.id}, ${template.id}, 'A', 'Hi {{first_name|there}}')`;
      // Eight leads in the campaign's audience, one outside it.
      const phones = Array.from({ length: 9 }, (_, i) => `+1212555${String(9000 + i)}`);
      await tx`
        insert into public.leads (org_id, phone, first_name, state, zip, tags)
        select ${org.id}, p, 'Lead ' || n, 'NY', '10001',
          case when n <= 8 then '{p}'::text[] else '{other}'::text[] end
        from unnest(${phones}::text[]) with ordinality as t (p, n)`;
      const campaignOf = async (name: string) => {
        const [c] = await tx<{ id: string }[]>`
          insert into public.campaigns (org_id, name, template_id, audience)
          values (${org.id}, ${name}, ${template.id}, '{"tags": ["p"]}') returning id`;
        return c.id;
      };
      const campaign = await campaignOf("Live");
      const draft = await campaignOf("Draft");
      await tx`select private.change_campaign_status(${campaign}, 'start')`;

      // What the sender leaves: five sent (each with its message and thread), one refused
      // by Twilio as opted out, one held by the send window, one skipped.
      const targets = await tx<{ id: string; lead_id: string; phone: string }[]>`
        select id, lead_id, phone from public.campaign_targets
        where campaign_id = ${campaign} order by phone`;
      assert.equal(targets.length, 8);
      const statuses = ["delivered", "delivered", "undelivered", "sent", "delivered"];
      for (const [i, status] of statuses.entries()) {
        const t = targets[i];
        await tx`update public.campaign_targets set status = 'sent', sent_at = now()
          where id = ${t.id}`;
        const [thread] = await tx<{ id: string }[]>`
          insert into public.conversations (org_id, lead_id, phone_number_id, last_message_at)
          values (${org.id}, ${t.lead_id}, ${number.id}, now()) returning id`;
        await tx`
          insert into public.messages (org_id, direction, conversation_id, lead_id,
            phone_number_id, from_phone, to_phone, body, twilio_sid, status, campaign_id,
            campaign_target_id)
          values (${org.id}, 'outbound', ${thread.id}, ${t.lead_id}, ${number.id},
            ${number.phone}, ${t.phone}, 'Hi', ${sid()}, ${status}, ${campaign}, ${t.id})`;
      }
      await tx`update public.campaign_targets set status = 'failed', last_error_code = 21610
        where id = ${targets[5].id}`;
      await tx`select private.suppress_opted_out(${org.id}, ${targets[5].lead_id},
        ${targets[5].phone}, '21610', 'test')`;
      await tx`update public.campaign_targets
        set not_before = now() + interval '90 minutes',
            status_reason = 'held: outside the send window'
        where id = ${targets[6].id}`;
      await tx`update public.campaign_targets set status = 'skipped' where id = ${targets[7].id}`;

      // Replies through the webhook's own function: a question, a STOP and a second
      // message from the same lead, and a text from a lead the campaign never wrote to.
      const inbound = (from: string, body: string) =>
        tx`select outcome from private.receive_inbound(${sid()}, ${from}, ${number.phone},
          ${body})`;
      await inbound(targets[0].phone, "What's the price?");
      await inbound(targets[1].phone, "STOP");
      await inbound(targets[1].phone, "Stop texting me");
      await inbound(phones[8], "Who is this?");

      const all = await campaignProgress(tx);
      const mine = all.filter((p) => p.id === campaign || p.id === draft);
      assert.equal(mine.length, 1, "the draft is not running");
      const [p] = mine;
      const expected: Partial<CampaignProgress> = {
        name: "Live",
        org: "Progress",
        status: "running",
        targets: 8,
        pending: 1,
        claimed: 0,
        sent: 5,
        unknown: 0,
        skipped: 1,
        canceled: 0,
        sendFailed: 1,
        delivered: 3,
        undelivered: 1,
        replied: 2,
        optedOut: 2,
        due: 0,
        nextReason: "held: outside the send window",
      };
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(p[key as keyof CampaignProgress], value, key);
      }
      assert.ok(p.startedAt instanceof Date);
      assert.equal(p.nextAt!.getTime() - p.at.getTime(), 90 * 60_000);

      // The window opens: the held target is due, no reason shown.
      await tx`update public.campaign_targets set not_before = now() where id = ${targets[6].id}`;
      const [due] = (await campaignProgress(tx)).filter((c) => c.id === campaign);
      assert.equal(due.due, 1);
      assert.equal(due.nextAt, null);
      assert.equal(due.nextReason, null);

      // A campaign asked for by id is shown whatever its status.
      const [asked] = (await campaignProgress(tx, [draft])).filter((c) => c.id === draft);
      assert.equal(asked.status, "draft");
      assert.equal(asked.targets, 0);
      assert.equal(asked.startedAt, null);
      assert.equal(asked.replied, 0);
    });
  } finally {
    await sql.end();
  }
});
