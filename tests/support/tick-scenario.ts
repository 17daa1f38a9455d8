/**
 * What end-to-end tests of the sender share: a scratch organization with sending numbers,
 * a template, leads in a US place whose legal send window is open now and a started
 * campaign; POSTing campaign-tick with its service secret; and what the Twilio sandbox
 * accepted from the scenario's numbers (never another test's), and its carrier settings.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import type { TickReport } from "../../supabase/functions/campaign-tick/tick.ts";
import { stackEnv } from "./stack.ts";

export interface Place {
  zip: string;
  area: string;
  state: string;
}

/** A ZIP, area code and state in each US zone, east to west and beyond. */
export const PLACES: readonly Place[] = [
  { zip: "00901", area: "787", state: "PR" },
  { zip: "10001", area: "212", state: "NY" },
  { zip: "60601", area: "312", state: "IL" },
  { zip: "80202", area: "303", state: "CO" },
  { zip: "90012", area: "213", state: "CA" },
  { zip: "99501", area: "907", state: "AK" },
  { zip: "96813", area: "808", state: "HI" },
  { zip: "96910", area: "671", state: "GU" },
];

/**
 * A place whose send window (federal, state and an all-day campaign) is open now and for
 * the next `minutes`, or undefined: the tick claims at the real time, so between 11:00 and
 * 12:00 UTC (Guam has closed, Puerto Rico has not opened) no US place is, and tests that
 * need one are ignored.
 */
export async function openPlace(sql: postgres.Sql, minutes = 5): Promise<Place | undefined> {
  for (const place of PLACES) {
    const [row] = await sql<{ open: boolean }[]>`
      with z as (
        select private.lead_time_zones(private.time_zone_for_zip(${place.zip}),
          ${"+1" + place.area + "2000000"}) as zones
      )
      select private.send_window_open(z.zones, ${place.state}, '00:00', '23:59:59',
          '{1,2,3,4,5,6,7}', now() + ${minutes} * interval '1 minute')
        and private.send_window_open(z.zones, ${place.state}, '00:00', '23:59:59',
          '{1,2,3,4,5,6,7}', now()) as open
      from z`;
    if (row.open) return place;
  }
  return undefined;
}

export interface ScenarioOptions {
  place: Place;
  leads: number;
  /** Sending numbers (default 1), each with this rate (phone_numbers.messages_per_second). */
  numbers?: number;
  messagesPerSecond: number;
  /** Indexes of leads with a recipient_stop suppression before the campaign starts. */
  stoppedBefore?: number[];
  name?: string;
}

export interface Scenario {
  org: string;
  campaign: string;
  /** The leads' numbers, in lead order (`Lead 1` has phones[0]). */
  phones: string[];
  /** The sending numbers. */
  senders: string[];
  /** Deletes the organization and everything in it. */
  drop(): Promise<void>;
}

/** A NANP exchange code that is valid (2–9 first, not N11). */
function randomExchange(): number {
  for (;;) {
    const exchange = 200 + Math.floor(Math.random() * 800);
    if (exchange % 100 !== 11) return exchange;
  }
}

/** Creates the organization, numbers, template, leads and campaign, and starts it. */
export async function createScenario(
  sql: postgres.Sql,
  options: ScenarioOptions,
): Promise<Scenario> {
  const { place, leads } = options;
  assert.ok(leads >= 1 && leads <= 9_000, "between 1 and 9,000 leads");
  const suffix = crypto.randomUUID().slice(0, 8);
  const [org] = await sql<{ id: string }[]>`
    insert into public.organizations (name, slug)
    values (${options.name ?? "Tick scenario"}, ${"tick-" + suffix})
    returning id`;
  const drop = async () => {
    await sql`delete from public.organizations where id = ${org.id}`;
  };
  try {
    const exchange = randomExchange();
    // Senders end in 9xxx, leads in 0000–8999 of the same exchange: never the same number.
    const senders = new Set<string>();
    while (senders.size < (options.numbers ?? 1)) {
      senders.add(`+1${place.area}${exchange}9${
        String(Math.floor(Math.random() * 1000))
          .padStart(3, "0")
      }`);
    }
    await sql`
      insert into public.phone_numbers (org_id, phone, twilio_sid, messages_per_second)
      select ${org.id}, p, 'PN' || replace(gen_random_uuid()::text, '-', ''),
        ${options.messagesPerSecond}
      from unnest(${[...senders]}::text[]) as p`;
    const [template] = await sql<{ id: string }[]>`
      insert into public.templates (org_id, name) values (${org.id}, 'Open house')
      returning id`;
    await sql`
      insert into public.template_variants (org_id, template_id, label, body)
      values (${org.id}, ${template.id}, 'A', 'Hi {{first_name|there}}, open house Saturday!')`;
    const phones = Array.from(
      { length: leads },
      (_, i) => `+1${place.area}${exchange}${String(i).padStart(4, "0")}`,
    );
    await sql`
      insert into public.leads (org_id, phone, first_name, state, zip, tags)
      select ${org.id}, p, 'Lead ' || n, ${place.state}, ${place.zip}, '{e2e}'
      from unnest(${phones}::text[]) with ordinality as t (p, n)`;
    const stopped = (options.stoppedBefore ?? []).map((i) => phones[i]);
    if (stopped.length > 0) {
      await sql`
        insert into public.suppressions (org_id, phone, source, reason)
        select ${org.id}, p, 'recipient_stop', 'STOP' from unnest(${stopped}::text[]) as p`;
    }
    const [campaign] = await sql<{ id: string }[]>`
      insert into public.campaigns (org_id, name, template_id, audience, send_window_start,
        send_window_end)
      values (${org.id}, 'E2E', ${template.id}, '{"tags": ["e2e"]}', '00:00', '23:59:59')
      returning id`;
    await sql`select private.change_campaign_status(${campaign.id}, 'start')`;
    return { org: org.id, campaign: campaign.id, phones, senders: [...senders], drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

/** One tick through a gateway (the stack's by default), as pg_cron calls it. */
export async function postTick(base = stackEnv().SUPABASE_URL): Promise<TickReport> {
  const env = stackEnv() as Record<string, string>;
  const response = await fetch(`${base}/functions/v1/campaign-tick`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.CAMPAIGN_TICK_SECRET}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

export interface SandboxMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  /** RFC 2822, whole seconds, as Twilio writes it. */
  date_created: string;
}

/** What the sandbox accepted from these sending numbers, oldest first. */
export async function sandboxMessages(senders: readonly string[]): Promise<SandboxMessage[]> {
  const response = await fetch(`${stackEnv().TWILIO_API_BASE}/_sandbox/messages`);
  assert.equal(response.status, 200);
  const { messages } = await response.json() as { messages: SandboxMessage[] };
  return messages.filter((m) => senders.includes(m.from));
}

/** How many messages the sandbox accepted for each of `phones` from the scenario's numbers. */
export async function sandboxCounts(scenario: Scenario): Promise<Map<string, number>> {
  const counts = new Map(scenario.phones.map((p) => [p, 0]));
  for (const message of await sandboxMessages(scenario.senders)) {
    counts.set(message.to, (counts.get(message.to) ?? 0) + 1);
  }
  return counts;
}

/** `phone: n` for every phone whose count breaks `ok`: empty when all pass. */
export function countsBreaking(
  counts: Map<string, number>,
  ok: (phone: string, n: number) => boolean,
): string[] {
  return [...counts].filter(([phone, n]) => !ok(phone, n)).map(([phone, n]) => `${phone}: ${n}`);
}

/**
 * Changes the stack sandbox's carrier settings (POST /_sandbox/config) for the length of
 * `body`, then puts back what was there. Test files run one at a time, so no other test
 * sees the change.
 */
export async function withSandboxConfig<T>(
  patch: Record<string, unknown>,
  body: () => Promise<T>,
): Promise<T> {
  const url = `${stackEnv().TWILIO_API_BASE}/_sandbox/config`;
  const before = await (await fetch(url)).json();
  const post = async (config: unknown) => {
    const response = await fetch(url, { method: "POST", body: JSON.stringify(config) });
    assert.equal(response.status, 200, await response.text());
  };
  await post(patch);
  try {
    return await body();
  } finally {
    await post(before);
  }
}

/** Targets of the campaign by status, as `[status, count]` pairs in status order. */
export async function targetCounts(
  sql: postgres.Sql,
  campaign: string,
): Promise<[string, number][]> {
  const rows = await sql<{ status: string; n: number }[]>`
    select status, count(*)::integer as n from public.campaign_targets
    where campaign_id = ${campaign} group by status order by status`;
  return rows.map((r) => [r.status, r.n]);
}

/** Resolves once `condition` holds (checked every `everyMs`); throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean>,
  { timeoutMs = 30_000, everyMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
