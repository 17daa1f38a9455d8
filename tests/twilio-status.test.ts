/**
 * POST /functions/v1/twilio/status through the stack's function server, signed as Twilio
 * signs: statuses delivered out of order and duplicated end in the right final state with
 * the time of each; every error code Twilio reports is mapped (21610 opts the number out,
 * 30003-30007 are delivery problems, 30005/30006 make the lead invalid); an unknown
 * MessageSid is answered 200 and writes nothing; no callback broadcasts on Realtime.
 */
import assert from "node:assert/strict";
import { adminSql } from "./support/stack.ts";
import {
  createWebhookOrg,
  newSid,
  postWebhook,
  type WebhookOrg,
} from "./support/twilio-webhook.ts";

const sql = adminSql();

async function withOrg(body: (o: WebhookOrg) => Promise<void>): Promise<void> {
  const o = await createWebhookOrg(sql, 8);
  try {
    await body(o);
  } finally {
    await o.drop();
  }
}

/** An outbound message to lead `i` as the sender records it: queued, with Twilio's SID. */
async function sentMessage(o: WebhookOrg, i: number): Promise<string> {
  const sid = newSid();
  await sql`
    insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone,
      to_phone, body, twilio_sid, status)
    select ${o.org}, 'outbound', l.id, ${o.numberId}, ${o.number}, l.phone, 'Hi!', ${sid},
      'queued'
    from public.leads l where l.org_id = ${o.org} and l.phone = ${o.leads[i]}`;
  return sid;
}

async function callback(sid: string, status: string, errorCode?: number): Promise<void> {
  const params: Record<string, string> = {
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: status,
    SmsStatus: status,
    AccountSid: "AC" + "0".repeat(32),
    ApiVersion: "2010-04-01",
  };
  if (errorCode !== undefined) params.ErrorCode = String(errorCode);
  const answer = await postWebhook("status", params);
  assert.equal(answer.status, 200, answer.text);
}

async function messageOf(sid: string) {
  const [m] = await sql`
    select status::text, error_code, sent_at is not null as has_sent_at,
      delivered_at is not null as has_delivered_at, failed_at is not null as has_failed_at,
      (select array_agg(k order by k) from jsonb_object_keys(status_times) k) as reported
    from public.messages where twilio_sid = ${sid}`;
  return { ...m };
}

Deno.test("status: callbacks out of order and duplicated end delivered, each time kept", async () => {
  await withOrg(async (o) => {
    const sid = await sentMessage(o, 0);
    for (const status of ["delivered", "sent", "sent", "queued", "delivered", "sending"]) {
      await callback(sid, status);
    }
    assert.deepEqual(await messageOf(sid), {
      status: "delivered",
      error_code: null,
      has_sent_at: true,
      has_delivered_at: true,
      has_failed_at: false,
      reported: ["delivered", "queued", "sending", "sent"],
    });
  });
});

Deno.test("status: a failure is final; a late delivered after it changes nothing", async () => {
  await withOrg(async (o) => {
    const sid = await sentMessage(o, 0);
    await callback(sid, "sent");
    await callback(sid, "undelivered", 30003);
    await callback(sid, "delivered");
    await callback(sid, "failed", 30007);
    const m = await messageOf(sid);
    assert.equal(m.status, "undelivered");
    assert.equal(m.error_code, 30003);
    assert.equal(m.has_failed_at, true);
    assert.equal(m.has_delivered_at, false);
    const problems = await sql`
      select kind from public.delivery_problems where org_id = ${o.org}`;
    assert.deepEqual(problems.map((p) => p.kind), ["unreachable"]);
  });
});

Deno.test("status: each error code is mapped", async () => {
  await withOrg(async (o) => {
    const cases = [
      { code: 30003, kind: "unreachable", invalid: false },
      { code: 30004, kind: "blocked", invalid: false },
      { code: 30005, kind: "unknown_destination", invalid: true },
      { code: 30006, kind: "landline", invalid: true },
      { code: 30007, kind: "carrier_filtered", invalid: false },
      { code: 30008, kind: null, invalid: false },
    ];
    for (const [i, c] of cases.entries()) {
      const sid = await sentMessage(o, i);
      await callback(sid, "sent");
      await callback(sid, "undelivered", c.code);
      const [row] = await sql`
        select m.error_code, l.status::text as lead_status,
          (select d.kind from public.delivery_problems d where d.message_id = m.id) as kind,
          (select d.phone_number_id = m.phone_number_id and d.lead_id = m.lead_id
           from public.delivery_problems d where d.message_id = m.id) as attributed
        from public.messages m join public.leads l on l.id = m.lead_id
        where m.twilio_sid = ${sid}`;
      assert.equal(row.error_code, c.code);
      assert.equal(row.kind, c.kind, String(c.code));
      if (c.kind !== null) assert.equal(row.attributed, true, "problem of the number and lead");
      assert.equal(row.lead_status === "invalid", c.invalid, `${c.code}: ${row.lead_status}`);
    }
  });
});

Deno.test("status: 21610 opts the number out and cancels its pending targets", async () => {
  await withOrg(async (o) => {
    const sid = await sentMessage(o, 0);
    await callback(sid, "failed", 21610);
    const [row] = await sql`
      select
        (select count(*)::int from public.suppressions s where s.org_id = ${o.org}
           and s.phone = ${o.leads[0]} and s.source = 'recipient_stop' and s.lifted_at is null)
          as stops,
        (select array_agg(c.kind::text) from public.consent_events c
         where c.org_id = ${o.org} and c.phone = ${o.leads[0]}) as ledger,
        (select array_agg(t.status order by t.id) from public.campaign_targets t
         where t.org_id = ${o.org} and t.phone = ${o.leads[0]}) as targets,
        (select array_agg(distinct t.status) from public.campaign_targets t
         where t.org_id = ${o.org} and t.phone <> ${o.leads[0]}) as others`;
    assert.deepEqual({ ...row }, {
      stops: 1,
      ledger: ["revoked"],
      targets: ["canceled", "canceled"],
      others: ["pending"],
    });
  });
});

Deno.test("status: concurrent duplicates of a failure record one delivery problem", async () => {
  await withOrg(async (o) => {
    const sid = await sentMessage(o, 0);
    await Promise.all([1, 2, 3, 4].map(() => callback(sid, "undelivered", 30007)));
    const [{ n }] = await sql`
      select count(*)::int as n from public.delivery_problems where org_id = ${o.org}`;
    assert.equal(n, 1);
  });
});

Deno.test("status: an unknown MessageSid is answered 200 and writes nothing", async () => {
  const before = await sql`select count(*)::int as n, max(updated_at) as at from public.messages`;
  await callback(newSid(), "delivered");
  const after = await sql`select count(*)::int as n, max(updated_at) as at from public.messages`;
  assert.deepEqual(after, before);
});

Deno.test("status: callbacks never broadcast on Realtime", async () => {
  await withOrg(async (o) => {
    const sid = await sentMessage(o, 0);
    const count = async () =>
      (await sql`
        select count(*)::int as n from realtime.messages
        where topic = ${"org:" + o.org} or topic like 'campaign:%'`)[0].n;
    const before = await count();
    for (const status of ["sent", "delivered", "delivered"]) await callback(sid, status);
    assert.equal(await count(), before);
  });
});

Deno.test({
  name: "status: close the connection",
  fn: () => sql.end(),
  sanitizeResources: false,
  sanitizeOps: false,
});
