/**
 * Ticks that follow each other closely, through a gateway process of the test's own with a
 * 3 s budget (as a tick that follows right after another one, or a scheduler more frequent
 * than budget + 30 s, such as hosted pg_cron's 'N seconds'): a tick hands back the claims
 * its deadline kept from starting, and the next tick must be able to send them. Also, a
 * claim handed back was never attempted: it must not count as an attempt.
 *
 * Both are regression tests for bugs they found, since fixed.
 *
 * Needs a US place whose send window is open now (see openPlace); ignored otherwise.
 */
import assert from "node:assert/strict";
import { startGatewayProcess } from "./support/gateway-process.ts";
import { adminSql } from "./support/stack.ts";
import { createScenario, openPlace, postTick } from "./support/tick-scenario.ts";

const LEADS = 60;

const probe = adminSql();
const place = await openPlace(probe);
await probe.end();

// Regression (ticks in a row send nothing), fixed since; what this test saw before the fix:
// the claim hands out send slots up to the lease's end, which is the tick's deadline plus 30 s,
// so a tick claims ~30 s of slots it can never start; it releases them, but
// private.release_claims does not give the slots back (sending_number_slots.next_slot_at stays
// at the end of the horizon). The next tick that starts within ~30 s finds the number's next
// slot beyond its own deadline: it claims, sends nothing, releases everything and pushes the
// slots further. Measured (budget 3 s, 2 messages a second, 60 leads): tick 1 claimed 66, sent
// 6, released 60; tick 2 right after claimed 6, sent 0, released 6; ticks 3 and 4 claimed
// nothing; the number's next slot was 33 s ahead. With ticks more often than every budget + 30
// s (hosted's 10 s schedule against a 25 s budget) the ledger stays ahead of every deadline and
// sending stops for good.
Deno.test({
  name: "campaign-tick robustness: a tick right after another sends what is due",
  ignore: place === undefined,
  async fn() {
    const sql = adminSql();
    const scenario = await createScenario(sql, {
      place: place!,
      leads: LEADS,
      messagesPerSecond: 2,
      name: "Tick pacing",
    });
    const gateway = await startGatewayProcess({ TICK_BUDGET_MS: "3000" });
    try {
      const first = await postTick(gateway.base);
      assert.ok(first.sent > 0 && first.sent < LEADS, JSON.stringify(first));
      const second = await postTick(gateway.base);
      assert.ok(second.sent > 0, JSON.stringify({ first, second }));
    } finally {
      await gateway.stop();
      await scenario.drop();
      await sql.end();
    }
  },
});

// Regression (a hand-back costs an attempt), fixed since: the claim adds 1 to `attempts` and
// private.release_claims left it, so a target handed back tick after tick used up its 5
// attempts without a request ever leaving (seen: claimed and released 4 times, then one 429,
// "gave up after 5 attempts"). Claims are handed back here by pausing the campaign mid-tick:
// the tick's check before each send withholds them.
Deno.test({
  name: "campaign-tick robustness: a claim handed back is not an attempt",
  ignore: place === undefined,
  async fn() {
    const sql = adminSql();
    const scenario = await createScenario(sql, {
      place: place!,
      leads: LEADS,
      messagesPerSecond: 2,
      name: "Tick hand-back",
    });
    const gateway = await startGatewayProcess({ TICK_BUDGET_MS: "3000" });
    try {
      const ticking = postTick(gateway.base);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      await sql`select private.change_campaign_status(${scenario.campaign}, 'pause')`;
      const report = await ticking;
      assert.ok(report.withheld > 0 && report.released > 0, JSON.stringify(report));
      const charged = await sql<{ id: string; attempts: number }[]>`
        select id::text, attempts::integer from public.campaign_targets
        where campaign_id = ${scenario.campaign} and status = 'pending' and attempts > 0`;
      assert.deepEqual(charged.map((t) => `${t.id}: ${t.attempts}`), []);
    } finally {
      await gateway.stop();
      await scenario.drop();
      await sql.end();
    }
  },
});
