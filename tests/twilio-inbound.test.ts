/**
 * POST /functions/v1/twilio/inbound through the stack's function server, signed as Twilio
 * signs: every keyword class with its answer (TwiML) and its effect on suppressions, the
 * consent ledger, campaign targets, the conversation and Realtime; Twilio's retries of one
 * MessageSid; messages to numbers that are not ours; a stranger's first message; bad
 * signatures and bad parameters, which write nothing.
 */
import assert from "node:assert/strict";
import { adminSql } from "./support/stack.ts";
import {
  createWebhookOrg,
  inboundParams,
  newSid,
  postWebhook,
  twimlMessage,
  type WebhookOrg,
} from "./support/twilio-webhook.ts";

const sql = adminSql();

async function withOrg(body: (o: WebhookOrg) => Promise<void>): Promise<void> {
  const o = await createWebhookOrg(sql);
  try {
    await body(o);
  } finally {
    await o.drop();
  }
}

/** What the organization holds about one phone, for comparing before and after. */
async function stateOf(o: WebhookOrg, phone: string) {
  const [row] = await sql`
    select
      (select count(*)::int from public.suppressions s
       where s.org_id = ${o.org} and s.phone = ${phone} and s.source = 'recipient_stop'
         and s.lifted_at is null) as stops,
      (select coalesce(json_agg(json_build_object('kind', c.kind, 'raw', c.raw_text)
         order by c.id), '[]') from public.consent_events c
       where c.org_id = ${o.org} and c.phone = ${phone}) as ledger,
      (select coalesce(json_agg(t.status order by k.name), '[]')
       from public.campaign_targets t join public.campaigns k on k.id = t.campaign_id
       where t.org_id = ${o.org} and t.phone = ${phone}) as targets,
      (select count(*)::int from public.messages m
       where m.org_id = ${o.org} and m.from_phone = ${phone} and m.direction = 'inbound')
        as inbound,
      (select json_agg(json_build_object('unread', c.unread_count, 'status', c.status))
       from public.conversations c join public.leads l on l.id = c.lead_id
       where c.org_id = ${o.org} and l.phone = ${phone}) as conversations,
      (select l.suppressed from public.leads l where l.org_id = ${o.org} and l.phone = ${phone})
        as suppressed`;
  return row;
}

/** Realtime events on the organization's topic other than campaign changes, sorted. */
async function events(o: WebhookOrg): Promise<string[]> {
  const rows = await sql<{ event: string }[]>`
    select event from realtime.messages
    where topic = ${"org:" + o.org} and event <> 'campaign.status' order by event`;
  return rows.map((r) => r.event);
}

Deno.test("inbound: STOP opts out, cancels pending targets in every campaign, confirms once", async () => {
  await withOrg(async (o) => {
    const [phone, other] = o.leads;
    const answer = await postWebhook("inbound", inboundParams(phone, o.number, "Stop texting me!"));
    assert.equal(answer.status, 200, answer.text);
    const reply = twimlMessage(answer.text)!;
    assert.match(reply, /^Webhook Realty: You are unsubscribed/);
    assert.match(reply, /START/);
    const after = await stateOf(o, phone);
    assert.equal(after.stops, 1);
    assert.equal(after.suppressed, true);
    assert.deepEqual(after.ledger, [{ kind: "revoked", raw: "Stop texting me!" }]);
    assert.deepEqual(after.targets, ["canceled", "canceled"]);
    assert.equal(after.inbound, 1);
    assert.deepEqual(after.conversations, [{ unread: 1, status: "open" }]);
    // The others are untouched.
    assert.deepEqual((await stateOf(o, other)).targets, ["pending", "pending"]);
    assert.deepEqual(await events(o), ["conversation.changed", "lead.opted_out"]);
    const [message] = await sql`
      select intent, auto_reply from public.messages
      where org_id = ${o.org} and direction = 'inbound'`;
    assert.deepEqual({ ...message }, { intent: "opt_out", auto_reply: reply });
  });
});

Deno.test("inbound: the standard keywords in any case and punctuation opt out", async () => {
  await withOrg(async (o) => {
    const words = [
      "STOP",
      "stop.",
      "Unsubscribe",
      "CANCEL",
      "end",
      "QUIT",
      "revoke",
      "Opt-Out",
      "STOPALL",
      "stop all",
    ];
    for (const [i, word] of words.entries()) {
      const phone = `${o.number.slice(0, -4)}2${String(i).padStart(3, "0")}`;
      const answer = await postWebhook("inbound", inboundParams(phone, o.number, word));
      assert.match(twimlMessage(answer.text) ?? "", /unsubscribed/, word);
      assert.equal((await stateOf(o, phone)).stops, 1, word);
    }
  });
});

Deno.test("inbound: START after STOP lifts the opt-out; YES does too, but only after one", async () => {
  await withOrg(async (o) => {
    const [phone, other] = o.leads;
    await postWebhook("inbound", inboundParams(phone, o.number, "STOP"));
    const answer = await postWebhook("inbound", inboundParams(phone, o.number, "start"));
    assert.match(twimlMessage(answer.text)!, /^Webhook Realty: You are resubscribed/);
    const after = await stateOf(o, phone);
    assert.equal(after.stops, 0);
    assert.equal(after.suppressed, false);
    assert.deepEqual(after.ledger, [
      { kind: "revoked", raw: "STOP" },
      { kind: "captured", raw: "start" },
    ]);
    // Canceled targets stay canceled: opting back in is not a new campaign.
    assert.deepEqual(after.targets, ["canceled", "canceled"]);

    // YES from someone who never opted out is a message for the operators.
    const yes = await postWebhook("inbound", inboundParams(other, o.number, "Yes"));
    assert.equal(twimlMessage(yes.text), null);
    assert.deepEqual((await stateOf(o, other)).ledger, []);
    await postWebhook("inbound", inboundParams(other, o.number, "STOP"));
    const yesAfter = await postWebhook("inbound", inboundParams(other, o.number, "YES"));
    assert.match(twimlMessage(yesAfter.text)!, /resubscribed/);
    assert.equal((await stateOf(o, other)).stops, 0);
  });
});

Deno.test("inbound: HELP answers with the organization's help text and changes nothing", async () => {
  await withOrg(async (o) => {
    const [phone] = o.leads;
    const answer = await postWebhook("inbound", inboundParams(phone, o.number, "HELP"));
    assert.equal(
      twimlMessage(answer.text),
      "Webhook Realty: for help call 415-555-0100. Reply STOP to opt out.",
    );
    const after = await stateOf(o, phone);
    assert.equal(after.stops, 0);
    assert.deepEqual(after.ledger, []);
    assert.deepEqual(after.targets, ["pending", "pending"]);
    await sql`update public.organizations set help_text = null where id = ${o.org}`;
    const fallback = await postWebhook("inbound", inboundParams(phone, o.number, "info"));
    assert.match(twimlMessage(fallback.text)!, /^Webhook Realty: Reply STOP to opt out/);
  });
});

Deno.test("inbound: a question is a message for the operators; it reopens a closed thread", async () => {
  await withOrg(async (o) => {
    const [phone] = o.leads;
    const first = await postWebhook(
      "inbound",
      inboundParams(phone, o.number, "Can I stop by Saturday?"),
    );
    assert.equal(first.status, 200);
    assert.equal(twimlMessage(first.text), null);
    await sql`
      update public.conversations set status = 'closed', unread_count = 0
      where org_id = ${o.org}`;
    await postWebhook("inbound", inboundParams(phone, o.number, "What is the price?"));
    const after = await stateOf(o, phone);
    assert.deepEqual(after.conversations, [{ unread: 1, status: "open" }]);
    assert.equal(after.inbound, 2);
    assert.equal(after.stops, 0);
    assert.deepEqual(after.targets, ["pending", "pending"]);
    const [lead] =
      await sql`select status from public.leads where org_id = ${o.org} and phone = ${phone}`;
    assert.equal(lead.status, "replied");
  });
});

Deno.test("inbound: a stranger's first message creates the lead and the thread", async () => {
  await withOrg(async (o) => {
    const stranger = `${o.number.slice(0, -4)}7777`;
    const answer = await postWebhook("inbound", inboundParams(stranger, o.number, "Who is this?"));
    assert.equal(answer.status, 200);
    const [lead] = await sql`
      select status, notes from public.leads where org_id = ${o.org} and phone = ${stranger}`;
    assert.deepEqual({ ...lead }, { status: "replied", notes: "Created by an inbound message" });
    assert.deepEqual((await stateOf(o, stranger)).conversations, [{ unread: 1, status: "open" }]);
  });
});

Deno.test("inbound: Twilio's retries of one MessageSid write once and answer the same", async () => {
  await withOrg(async (o) => {
    const [phone] = o.leads;
    const params = inboundParams(phone, o.number, "unsubscribe");
    const answers = await Promise.all([1, 2, 3].map(() => postWebhook("inbound", params)));
    const replies = answers.map((a) => twimlMessage(a.text));
    assert.equal(new Set(replies).size, 1, JSON.stringify(replies));
    assert.match(replies[0]!, /unsubscribed/);
    const after = await stateOf(o, phone);
    assert.equal(after.inbound, 1);
    assert.equal(after.ledger.length, 1);
    assert.deepEqual(after.conversations, [{ unread: 1, status: "open" }]);
  });
});

Deno.test("inbound: a message to a number that is not ours is answered empty, nothing written", async () => {
  const before = await sql`select count(*)::int as n from public.messages`;
  const answer = await postWebhook(
    "inbound",
    inboundParams("+14155550123", "+19995550100", "STOP"),
  );
  assert.equal(answer.status, 200);
  assert.equal(twimlMessage(answer.text), null);
  const after = await sql`select count(*)::int as n from public.messages`;
  assert.equal(after[0].n, before[0].n);
});

Deno.test("inbound: a bad signature is 403 and bad parameters 422, and neither writes", async () => {
  await withOrg(async (o) => {
    const [phone] = o.leads;
    const params = inboundParams(phone, o.number, "STOP");
    const forged = await postWebhook("inbound", params, "bm90IGEgc2lnbmF0dXJl");
    assert.equal(forged.status, 403, forged.text);
    const noSid = { ...params, MessageSid: "not-a-sid" };
    const bad = await postWebhook("inbound", noSid);
    assert.equal(bad.status, 422, bad.text);
    assert.match(bad.text, /MessageSid/);
    const noFrom: Record<string, string> = { ...params, MessageSid: newSid() };
    delete noFrom.From;
    const missing = await postWebhook("inbound", noFrom);
    assert.equal(missing.status, 422, missing.text);
    assert.match(missing.text, /From/);
    const after = await stateOf(o, phone);
    assert.equal(after.inbound, 0);
    assert.equal(after.stops, 0);
  });
});

Deno.test("inbound: the organization's own keywords opt out too", async () => {
  await withOrg(async (o) => {
    const [phone, other] = o.leads;
    await sql`update public.organizations set opt_out_keywords = '{"basta", "No gracias"}' where id = ${o.org}`;
    assert.match(
      twimlMessage((await postWebhook("inbound", inboundParams(phone, o.number, "BASTA!"))).text)!,
      /unsubscribed/,
    );
    assert.match(
      twimlMessage(
        (await postWebhook("inbound", inboundParams(other, o.number, "no gracias"))).text,
      )!,
      /unsubscribed/,
    );
    assert.equal((await stateOf(o, phone)).stops, 1);
    assert.equal((await stateOf(o, other)).stops, 1);
  });
});

Deno.test("inbound: twenty STOPs at once, from leads and strangers, all opt out", async () => {
  await withOrg(async (o) => {
    // Strangers' leads are created (a lead write takes the suppression lock shared) in the
    // same transactions that suppress (which take it exclusively): none may deadlock.
    const phones = [
      ...o.leads,
      ...Array.from(
        { length: 16 },
        (_, i) => `${o.number.slice(0, -4)}5${String(i).padStart(3, "0")}`,
      ),
    ];
    const answers = await Promise.all(
      phones.map((p, i) =>
        postWebhook("inbound", inboundParams(p, o.number, i % 2 ? "STOP" : "unsubscribe"))
      ),
    );
    assert.deepEqual(answers.map((a) => a.status), phones.map(() => 200));
    const [{ n }] = await sql`
      select count(*)::int as n from public.suppressions
      where org_id = ${o.org} and source = 'recipient_stop' and lifted_at is null`;
    assert.equal(n, phones.length);
  });
});

Deno.test("inbound: a number the organization does not text keeps its message and its STOP", async () => {
  await withOrg(async (o) => {
    const foreign = "+447700900123";
    const answer = await postWebhook("inbound", inboundParams(foreign, o.number, "STOP"));
    assert.equal(answer.status, 200, answer.text);
    assert.match(twimlMessage(answer.text)!, /unsubscribed/);
    const [row] = await sql`
      select m.lead_id, m.conversation_id, m.intent,
        (select count(*)::int from public.suppressions s
         where s.org_id = ${o.org} and s.phone = ${foreign} and s.lifted_at is null) as stops
      from public.messages m where m.org_id = ${o.org} and m.from_phone = ${foreign}`;
    assert.deepEqual({ ...row }, {
      lead_id: null,
      conversation_id: null,
      intent: "opt_out",
      stops: 1,
    });
  });
});

Deno.test({
  name: "inbound: close the connection",
  fn: () => sql.end(),
  sanitizeResources: false,
  sanitizeOps: false,
});
