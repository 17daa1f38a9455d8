/**
 * Operators' replies through the tick, end to end: an operator writes two replies (as
 * PostgREST would insert them, role authenticated with the operator's claims) in
 * conversations of a running campaign's sending number; one recipient says STOP before
 * the tick. The tick sends the other reply before any campaign message of that number,
 * records Twilio's SID on it, never sends the stopped one (canceled, with the reason), and
 * the campaign still completes with one message per eligible lead.
 *
 * Needs a US place whose send window is open now (see openPlace); ignored otherwise.
 */
import assert from "node:assert/strict";
import { adminSql } from "./support/stack.ts";
import {
  createScenario,
  openPlace,
  postTick,
  sandboxMessages,
  targetCounts,
} from "./support/tick-scenario.ts";

const LEADS = 10;

const probe = adminSql();
const place = await openPlace(probe);
await probe.end();

Deno.test({
  name: "campaign-tick: operators' replies go out first, never to a number that said STOP",
  ignore: place === undefined,
  async fn() {
    const sql = adminSql();
    const scenario = await createScenario(sql, {
      place: place!,
      leads: LEADS,
      messagesPerSecond: 5,
      name: "Tick replies",
    });
    try {
      const [operator] = await sql<{ id: string }[]>`
        select id from auth.users where email = 'operator@acme.test'`;
      await sql`
        insert into public.memberships (org_id, user_id, role)
        values (${scenario.org}, ${operator.id}, 'operator')`;
      // Conversations with leads 2 and 5 on the campaign's number.
      const threads = await sql<{ id: string; phone: string }[]>`
        insert into public.conversations (org_id, lead_id, phone_number_id)
        select l.org_id, l.id, n.id
        from public.leads l join public.phone_numbers n on n.org_id = l.org_id
        where l.org_id = ${scenario.org} and l.phone in ${
        sql([scenario.phones[2], scenario.phones[5]])
      }
        returning id, (select phone from public.leads where id = lead_id) as phone`;
      const threadOf = (phone: string) => threads.find((t) => t.phone === phone)!.id;
      await sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${
          JSON.stringify({ sub: operator.id, role: "authenticated" })
        }, true)`;
        await tx`set local role authenticated`;
        for (
          const [phone, body] of [[scenario.phones[2], "Yes, 2pm works!"], [
            scenario.phones[5],
            "Still interested?",
          ]]
        ) {
          await tx`
            insert into public.messages (org_id, conversation_id, body)
            values (${scenario.org}, ${threadOf(phone)}, ${body})`;
        }
      });
      // Lead 5 says STOP after the reply was written, before the tick.
      await sql`
        insert into public.suppressions (org_id, phone, source, reason)
        values (${scenario.org}, ${scenario.phones[5]}, 'recipient_stop', 'STOP')`;

      const report = await postTick();
      assert.equal(report.replies, 1, JSON.stringify(report));

      const replies = await sql<
        { body: string; status: string; send_state: string | null; sid: string | null }[]
      >`
        select body, status::text, send_state, twilio_sid as sid from public.messages
        where org_id = ${scenario.org} and sent_by is not null order by body`;
      assert.deepEqual(replies.map((r) => [r.body, r.status, r.send_state, r.sid !== null]), [
        ["Still interested?", "canceled", null, false],
        ["Yes, 2pm works!", replies[1].status, null, true],
      ]);
      // Its status callbacks may already have moved it on.
      assert.ok(
        ["queued", "accepted", "sending", "sent", "delivered"].includes(replies[1].status),
        replies[1].status,
      );

      const seen = await sandboxMessages(scenario.senders);
      assert.equal(seen[0].body, "Yes, 2pm works!", "the reply is the number's first message");
      assert.equal(seen[0].sid, replies[1].sid);
      // Lead 5 gets nothing; lead 2 its reply and its campaign message; the others one each.
      const counts = scenario.phones.map((p) => seen.filter((m) => m.to === p).length);
      assert.deepEqual(counts, scenario.phones.map((_, i) => i === 5 ? 0 : i === 2 ? 2 : 1));
      assert.deepEqual(await targetCounts(sql, scenario.campaign), [
        ["sent", LEADS - 1],
        ["skipped", 1],
      ]);
    } finally {
      await scenario.drop();
      await sql.end();
    }
  },
});
