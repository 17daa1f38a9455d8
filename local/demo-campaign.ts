/**
 * What `npm start` runs once the stack is up: the Twilio sandbox plays the recipients
 * (carrier delays, some failures, replies that ask questions or opt out) and the seeded
 * campaign "Saturday open house" (Acme) runs, sent by the dev stack's pg_cron tick as a
 * deployed project's would be. The seed stays as it is: the campaign is started the way
 * the system starts one, through private.change_campaign_status, as the database's
 * superuser (no member's token needed).
 */
import { psql } from "./postgres.ts";
import type { Profile } from "./profiles.ts";

/** The seed's draft campaign in Acme (the seed contract). */
export const DEMO_CAMPAIGN = "a6000000-0000-4000-8000-000000000001";
const DEMO_NAME = `"Saturday open house" (Acme)`;

/**
 * The sandbox's carrier during `npm start` (POST /_sandbox/config). The seeded audience is
 * two leads, so the rates are high enough that a run usually shows a failure or a reply.
 */
export const DEMO_CARRIER = {
  delivery_rate: 0.8,
  latency_ms: { min: 1_000, max: 6_000 },
  reply_rate: 0.5,
  stop_share: 0.3,
  reply_delay_ms: { min: 5_000, max: 30_000 },
} as const;

/** How each status gets to running (null: it cannot, or it already is). */
const TO_RUNNING: Record<string, string | null> = {
  draft: "start",
  scheduled: "start",
  paused: "resume",
  running: null,
  completed: null,
  canceled: null,
};

/**
 * Sets the sandbox's carrier, makes sure the demo campaign runs and wakes the sender at
 * once (pg_cron's next tick may be a minute away). Returns the campaigns the live view
 * should show even once they no longer run.
 */
export async function startDemo(
  p: Profile,
  env: Record<string, string>,
  say: (line: string) => void,
): Promise<string[]> {
  await configureSandbox(env.TWILIO_API_BASE);
  const status = (await psql(p, {
    sql: `select status from public.campaigns where id = '${DEMO_CAMPAIGN}'`,
  })).trim();
  if (status === "") {
    say(`the demo campaign ${DEMO_NAME} is not in the database: nothing to run`);
    return [];
  }
  const action = TO_RUNNING[status];
  if (action) {
    await psql(p, {
      sql: `select status from private.change_campaign_status('${DEMO_CAMPAIGN}', '${action}')`,
    });
    say(`the demo campaign ${DEMO_NAME} is ${action === "start" ? "started" : "resumed"}`);
  } else if (status === "running") {
    say(`the demo campaign ${DEMO_NAME} is running`);
  } else {
    say(`the demo campaign ${DEMO_NAME} is ${status}: npm run reset, then npm start, runs it anew`);
    return [DEMO_CAMPAIGN];
  }
  await psql(p, { sql: "select private.invoke_campaign_tick()" });
  return [DEMO_CAMPAIGN];
}

async function configureSandbox(base: string): Promise<void> {
  const response = await fetch(`${base}/_sandbox/config`, {
    method: "POST",
    body: JSON.stringify(DEMO_CARRIER),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`the Twilio sandbox refused the demo settings: ${text}`);
}
