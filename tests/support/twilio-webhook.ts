/**
 * Twilio's side of our webhooks, for tests: a form post to the stack's twilio function
 * signed with the `twilio` package for the URL the function checks (SUPABASE_URL +
 * /functions/v1/twilio/<path>, as the local stack sets no PUBLIC_BASE_URL), and a scratch
 * organization to receive them.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { stackEnv } from "./stack.ts";

export interface WebhookAnswer {
  status: number;
  text: string;
}

/** POSTs `params` to /functions/v1/twilio/<path>, signed (or with `signature` as given). */
export async function postWebhook(
  path: "inbound" | "status",
  params: Record<string, string>,
  signature?: string,
): Promise<WebhookAnswer> {
  const env = stackEnv();
  const url = `${env.SUPABASE_URL}/functions/v1/twilio/${path}`;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": signature ??
        getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN, url, params),
    },
    body: new URLSearchParams(params),
  });
  return { status: response.status, text: await response.text() };
}

/** A fresh message SID. */
export function newSid(): string {
  return "SM" + crypto.randomUUID().replaceAll("-", "");
}

/** What Twilio posts for an incoming SMS (the parameters we read, and some we do not). */
export function inboundParams(from: string, to: string, body: string, sid = newSid()) {
  return {
    MessageSid: sid,
    SmsSid: sid,
    AccountSid: stackEnv().TWILIO_ACCOUNT_SID,
    From: from,
    To: to,
    Body: body,
    NumMedia: "0",
    NumSegments: "1",
    FromCountry: "US",
    ApiVersion: "2010-04-01",
  };
}

/** The <Message> of a TwiML answer, or null for an empty <Response/>. */
export function twimlMessage(text: string): string | null {
  if (/<Response\/>/.test(text)) return null;
  const match = /<Response><Message>([\s\S]*)<\/Message><\/Response>/.exec(text);
  assert.ok(match, `not a TwiML answer: ${text}`);
  return match[1].replaceAll("&apos;", "'").replaceAll("&quot;", '"').replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

export interface WebhookOrg {
  org: string;
  /** The organization's sending number (receives the inbound messages). */
  number: string;
  numberId: string;
  /** Its leads' phones. */
  leads: string[];
  /** Two campaigns, paused (no tick sends them), each with a pending target per lead. */
  campaigns: string[];
  drop(): Promise<void>;
}

/** An organization with a number, `leads` leads and two paused campaigns targeting them. */
export async function createWebhookOrg(sql: postgres.Sql, leads = 4): Promise<WebhookOrg> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const [org] = await sql<{ id: string }[]>`
    insert into public.organizations (name, slug, help_text)
    values ('Webhook Realty', ${"webhook-" + suffix},
      'Webhook Realty: for help call 415-555-0100. Reply STOP to opt out.')
    returning id`;
  const drop = async () => {
    await sql`delete from public.organizations where id = ${org.id}`;
  };
  try {
    // A valid NANP exchange (2-9 first, not N11); the number ends in 9999, leads in 1xxx.
    let exchange = 200 + Math.floor(Math.random() * 800);
    if (exchange % 100 === 11) exchange++;
    const number = `+1415${exchange}9999`;
    const phones = Array.from({ length: leads }, (_, i) => `${number.slice(0, -4)}${1000 + i}`);
    const [num] = await sql<{ id: string }[]>`
      insert into public.phone_numbers (org_id, phone, twilio_sid)
      values (${org.id}, ${number}, 'PN' || replace(gen_random_uuid()::text, '-', ''))
      returning id`;
    const [template] = await sql<{ id: string }[]>`
      insert into public.templates (org_id, name) values (${org.id}, 'Hello') returning id`;
    await sql`
      insert into public.template_variants (org_id, template_id, label, body)
      values (${org.id}, ${template.id}, 'A', 'Hi {{first_name|there}}!')`;
    await sql`
      insert into public.leads (org_id, phone, first_name, state, zip, tags)
      select ${org.id}, p, 'Lead ' || n, 'CA', '94105', '{webhook}'
      from unnest(${phones}::text[]) with ordinality as t (p, n)`;
    const campaigns: string[] = [];
    for (const name of ["Spring", "Summer"]) {
      const [campaign] = await sql<{ id: string }[]>`
        insert into public.campaigns (org_id, name, template_id, audience)
        values (${org.id}, ${name}, ${template.id}, '{"tags": ["webhook"]}')
        returning id`;
      await sql`select private.change_campaign_status(${campaign.id}, 'start')`;
      await sql`select private.change_campaign_status(${campaign.id}, 'pause')`;
      campaigns.push(campaign.id);
    }
    return { org: org.id, number, numberId: num.id, leads: phones, campaigns, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}
