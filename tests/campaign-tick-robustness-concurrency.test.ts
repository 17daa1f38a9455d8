/**
 * Ticks that overlap (pg_cron firing while a slow tick still runs, or two schedulers)
 * through the real gateway and the Twilio sandbox: three ticks at once on a gateway process
 * of the test's own (claims of 25, 0.2 s ahead, so they claim again and again while the
 * others send). Each lead gets exactly one message,
 * in the sandbox and in `messages`, and every target ends sent.
 *
 * Needs a US place whose send window is open now (see openPlace); ignored otherwise.
 */
import assert from "node:assert/strict";
import type { TickReport } from "../supabase/functions/campaign-tick/tick.ts";
import { startGatewayProcess } from "./support/gateway-process.ts";
import { adminSql } from "./support/stack.ts";
import {
  countsBreaking,
  createScenario,
  openPlace,
  postTick,
  sandboxCounts,
  targetCounts,
} from "./support/tick-scenario.ts";

const LEADS = 300;

const probe = adminSql();
const place = await openPlace(probe);
await probe.end();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "campaign-tick robustness: ticks running at once never send a message twice",
  ignore: place === undefined,
  async fn() {
    const sql = adminSql();
    const scenario = await createScenario(sql, {
      place: place!,
      leads: LEADS,
      numbers: 2,
      messagesPerSecond: 50,
      name: "Tick concurrency",
    });
    // Claims of 25 slots at most 0.2 s ahead: each tick claims again every few tenths of a
    // second, so the three take turns at the organization's claim.
    const gateway = await startGatewayProcess({ TICK_BATCH_SIZE: "25", TICK_LOOKAHEAD_MS: "200" });
    try {
      const reports: TickReport[][] = [];
      // Three ticks of small claims, started a little apart, so that their claims interleave
      // (a tick that finds the organization's claim taken tries again a moment later).
      for (let round = 0; round < 5; round++) {
        reports.push(
          await Promise.all([
            postTick(gateway.base),
            sleep(150).then(() => postTick(gateway.base)),
            sleep(300).then(() => postTick(gateway.base)),
          ]),
        );
        const [{ n }] = await sql<{ n: number }[]>`
          select count(*)::integer as n from public.campaign_targets
          where campaign_id = ${scenario.campaign} and status in ('pending', 'claimed')`;
        if (n === 0) break;
      }
      const summary = JSON.stringify(
        reports.map((r) => r.map(({ claimed, sent, released }) => ({ claimed, sent, released }))),
      );
      // The overlap happened: more than one tick of the first round claimed targets.
      assert.ok(reports[0].filter((r) => r.claimed > 0).length >= 2, summary);
      assert.equal(reports.flat().reduce((n, r) => n + r.sent, 0), LEADS, summary);

      assert.deepEqual(await targetCounts(sql, scenario.campaign), [["sent", LEADS]]);
      const [messages] = await sql<{ n: number; leads: number; sids: number }[]>`
        select count(*)::integer as n, count(distinct lead_id)::integer as leads,
          count(distinct twilio_sid)::integer as sids
        from public.messages where org_id = ${scenario.org} and direction = 'outbound'`;
      assert.deepEqual(messages, { n: LEADS, leads: LEADS, sids: LEADS });
      assert.deepEqual(countsBreaking(await sandboxCounts(scenario), (_, n) => n === 1), []);
      const [campaign] = await sql<{ status: string }[]>`
        select status from public.campaigns where id = ${scenario.campaign}`;
      assert.equal(campaign.status, "completed");
      console.log(`ticks per round (claimed, sent, released): ${summary}`);
    } finally {
      await gateway.stop();
      await scenario.drop();
      await sql.end();
    }
  },
});
