/**
 * A tick whose process dies mid-batch (an Edge Function isolate killed for its wall clock
 * or memory, a host going away): a gateway process of the test's own runs a slow tick
 * (claims of 10 at 5 messages a second, Twilio's answers delayed by a second) and is
 * killed with SIGKILL by its PID, so some of its messages have reached the sandbox and
 * their outcomes are not recorded. Then:
 *
 * - nothing was sent twice, and nothing is lost: each target is sent, pending (and never
 *   reached the sandbox, since a pending target is sent again), or claimed under a lease
 *   that has not expired;
 * - once the lease has passed, the next tick makes those claims unknown (they may have
 *   reached Twilio: never sent again), sends the pending ones, and the campaign completes.
 *
 * The lease is the tick's budget plus 30 s; the test does not wait for it, it moves the
 * leases of its own campaign into the past (simulated time).
 *
 * Also: a campaign whose last claims expire in a tick that sends nothing for it completes
 * (a regression test for a bug it found, since fixed).
 *
 * Needs a US place whose send window is open now (see openPlace); ignored otherwise.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { startGatewayProcess } from "./support/gateway-process.ts";
import { adminSql } from "./support/stack.ts";
import {
  countsBreaking,
  createScenario,
  openPlace,
  postTick,
  sandboxCounts,
  sandboxMessages,
  type Scenario,
  targetCounts,
  waitFor,
  withSandboxConfig,
} from "./support/tick-scenario.ts";

const LEADS = 60;
/** Sandbox messages seen before the kill: about 5 s into the tick. */
const KILL_AFTER = 25;

const probe = adminSql();
const place = await openPlace(probe);
await probe.end();

interface TargetRow {
  id: string;
  phone: string;
  status: string;
  leased: boolean | null;
  claim_token: string | null;
  attempts: number;
}

function targets(sql: postgres.Sql, campaign: string): Promise<TargetRow[]> {
  return sql<TargetRow[]>`
    select id::text, phone, status, lease_expires_at > now() as leased, claim_token::text,
      attempts::integer
    from public.campaign_targets where campaign_id = ${campaign} order by id`;
}

/** Simulated time: the leases of this campaign's claims end now (other organizations' not). */
async function passLeases(sql: postgres.Sql, campaign: string): Promise<void> {
  await sql`
    update public.campaign_targets set lease_expires_at = now() - interval '1 second'
    where campaign_id = ${campaign} and status = 'claimed'`;
}

async function campaignStatus(sql: postgres.Sql, scenario: Scenario): Promise<string> {
  const [row] = await sql<{ status: string }[]>`
    select status from public.campaigns where id = ${scenario.campaign}`;
  return row.status;
}

Deno.test({
  name:
    "campaign-tick robustness: a tick killed mid-batch sends nothing twice, loses nothing, and its claims become unknown",
  ignore: place === undefined,
  async fn() {
    const sql = adminSql();
    const scenario = await createScenario(sql, {
      place: place!,
      leads: LEADS,
      messagesPerSecond: 5,
      name: "Tick crash",
    });
    const gateway = await startGatewayProcess({
      TICK_BATCH_SIZE: "10",
      TICK_BUDGET_MS: "60000",
      TICK_CONCURRENCY: "20",
    });
    try {
      // Twilio's answers take a second: messages are in the sandbox a second before the
      // tick can record them, as over a slow link, so the kill finds some of them.
      await withSandboxConfig({ response_delay_ms: 1_000 }, async () => {
        const ticking = postTick(gateway.base).then(() => "answered", () => "cut off");
        await waitFor(
          `${KILL_AFTER} messages in the sandbox`,
          async () => (await sandboxMessages(scenario.senders)).length >= KILL_AFTER,
        );
        const status = await gateway.kill("SIGKILL");
        assert.equal(status.signal, "SIGKILL");
        assert.equal(await ticking, "cut off");
      });

      // Right after the kill.
      const atKill = await targets(sql, scenario.campaign);
      const counts = await sandboxCounts(scenario);
      assert.equal(atKill.length, LEADS);
      assert.deepEqual(countsBreaking(counts, (_, n) => n <= 1), [], "sent twice");
      const broken = atKill.filter((t) =>
        !(t.status === "sent" && counts.get(t.phone) === 1 ||
          t.status === "pending" && counts.get(t.phone) === 0 ||
          t.status === "claimed" && t.leased === true)
      );
      assert.deepEqual(broken, [], "neither sent, pending nor claimed under a live lease");
      const claimed = atKill.filter((t) => t.status === "claimed");
      const pending = atKill.filter((t) => t.status === "pending");
      const sentAtKill = atKill.filter((t) => t.status === "sent").length;
      // The kill came mid-claim: some of its messages left, none was recorded.
      assert.ok(claimed.some((t) => counts.get(t.phone) === 1), "a claimed target was sent");
      assert.ok(pending.length > 0 && sentAtKill > 0, JSON.stringify(atKill.map((t) => t.status)));

      // The leases pass: the next tick makes the claims unknown, for good, and sends the rest.
      await passLeases(sql, scenario.campaign);
      const after = await postTick();
      assert.ok(after.expired >= claimed.length, JSON.stringify(after));
      assert.equal(after.sent, pending.length, JSON.stringify(after));
      const final = await targets(sql, scenario.campaign);
      for (const claim of claimed) {
        const now = final.find((t) => t.id === claim.id)!;
        assert.equal(now.status, "unknown");
        assert.equal(now.claim_token, claim.claim_token, "never claimed again");
        assert.equal(now.attempts, claim.attempts, "never claimed again");
      }
      assert.deepEqual(await targetCounts(sql, scenario.campaign), [
        ["sent", LEADS - claimed.length],
        ["unknown", claimed.length],
      ]);
      // The carrier saw one message per sent target, and nothing more for the unknown ones.
      const finalCounts = await sandboxCounts(scenario);
      const unknown = new Set(claimed.map((t) => t.phone));
      assert.deepEqual(
        countsBreaking(
          finalCounts,
          (phone, n) => unknown.has(phone) ? n === counts.get(phone) : n === 1,
        ),
        [],
      );
      const [messages] = await sql<{ n: number; leads: number }[]>`
        select count(*)::integer as n, count(distinct lead_id)::integer as leads
        from public.messages where org_id = ${scenario.org} and direction = 'outbound'`;
      assert.deepEqual(messages, { n: LEADS - claimed.length, leads: LEADS - claimed.length });
      assert.equal(await campaignStatus(sql, scenario), "completed");
      assert.equal((await postTick()).claimed, 0);
      console.log(
        `at the kill: ${sentAtKill} sent, ${claimed.length} claimed (${
          claimed.filter((t) => counts.get(t.phone) === 1).length
        } of them in the sandbox), ${pending.length} pending`,
      );
    } finally {
      await gateway.kill("SIGKILL");
      await scenario.drop();
      await sql.end();
    }
  },
});

// Regression (campaign never completes), fixed since; what this test saw before the fix:
// a tick completes only the campaigns it sent for (tick.ts adds a campaign to `campaigns` when
// it sends one of its messages, and calls finishCampaigns with those). When the last open
// targets of a campaign are claims that expire (a crashed tick), the tick that expires them
// sends nothing for that campaign, so private.complete_campaign_if_done never runs for it: it
// stays `running` with nothing pending or claimed, and no later tick touches it. Seen first in
// the test above, with a tick run while the leases still held (it sent every pending target)
// and then one after they passed: the campaign stayed `running`.
Deno.test({
  name: "campaign-tick robustness: a campaign whose last claims expire is completed",
  ignore: place === undefined,
  async fn() {
    const sql = adminSql();
    const scenario = await createScenario(sql, {
      place: place!,
      leads: 5,
      messagesPerSecond: 10,
      name: "Tick expiry",
    });
    try {
      // A tick that claimed, rendered and died before sending anything (claims of other
      // organizations' running campaigns, if any, expire as well: that is the rule).
      await sql.begin(async (tx) => {
        await tx`set local role sms_system`;
        const claims = await tx`
          select target_id, claim_token from private.claim_targets(100, interval '1 minute')`;
        await tx`select * from private.render_claims(
          ${claims.map((c) => c.target_id)}::bigint[], ${
          claims.map((c) => c.claim_token)
        }::uuid[])`;
      });
      assert.deepEqual(await targetCounts(sql, scenario.campaign), [["claimed", 5]]);
      await passLeases(sql, scenario.campaign);
      const report = await postTick();
      assert.ok(report.expired >= 5, JSON.stringify(report));
      assert.deepEqual(await targetCounts(sql, scenario.campaign), [["unknown", 5]]);
      assert.equal(await campaignStatus(sql, scenario), "completed");
    } finally {
      await scenario.drop();
      await sql.end();
    }
  },
});
