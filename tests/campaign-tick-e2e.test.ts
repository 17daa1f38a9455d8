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
import { adminSql, stackEnv } from "./support/stack.ts";
import {
  countsBreaking,
  createScenario,
  openPlace,
  postTick,
  sandboxMessages,
  targetCounts,
} from "./support/tick-scenario.ts";

const LEADS = 40;

const probe = adminSql();
const place = await openPlace(probe);
await probe.end();

Deno.test({
  name: "campaign-tick: a campaign reaches every eligible lead exactly once and completes",
  ignore: place === undefined,
  async fn() {
    const sql = adminSql();
    // One of them said STOP before the campaign.
    const scenario = await createScenario(sql, {
      place: place!,
      leads: LEADS,
      messagesPerSecond: 25,
      stoppedBefore: [7],
      name: "Tick e2e",
    });
    const { phones } = scenario;
    try {
      const first = await postTick();
      assert.equal(first.sent, LEADS - 1, JSON.stringify(first));
      const second = await postTick();
      assert.equal(second.claimed, 0, JSON.stringify(second));

      assert.deepEqual(await targetCounts(sql, scenario.campaign), [["sent", LEADS - 1]]);
      const [messages] = await sql<{ n: number; leads: number; sids: number }[]>`
        select count(*)::integer as n, count(distinct lead_id)::integer as leads,
          count(distinct twilio_sid)::integer as sids
        from public.messages where org_id = ${scenario.org} and direction = 'outbound'`;
      assert.deepEqual(messages, { n: LEADS - 1, leads: LEADS - 1, sids: LEADS - 1 });
      const [status] = await sql<{ status: string }[]>`
        select status from public.campaigns where id = ${scenario.campaign}`;
      assert.equal(status.status, "completed");

      // What the carrier saw: one message per eligible number, none to the opted-out one.
      const sent = await sandboxMessages(scenario.senders);
      const seen = new Map(phones.map((p) => [p, 0]));
      for (const message of sent) {
        seen.set(message.to, (seen.get(message.to) ?? 0) + 1);
        assert.match(message.body, /^Hi Lead \d+, open house Saturday!\nReply STOP/);
      }
      assert.deepEqual(countsBreaking(seen, (_, n) => n === 1), [`${phones[7]}: 0`]);
    } finally {
      await scenario.drop();
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
