/**
 * Two-way messaging end to end: a recipient texts a question (the sandbox posts Twilio's
 * signed webhook), an operator answers it by inserting a message as PostgREST would (role
 * authenticated, the operator's claims), and the reply reaches Twilio within seconds with
 * no tick called by the test: the insert's database webhook (pg_net) posts a short tick to
 * campaign-tick. Then the recipient texts STOP, and the operator's next reply is refused
 * (409) before anything is queued.
 *
 * Needs the Vault secrets the stack sets (campaign_tick_url, campaign_tick_secret); the
 * test sets them for its run when they are missing (a developer may have removed them to
 * stop the cron tick) and removes what it set.
 */
import assert from "node:assert/strict";
import { adminSql, stackEnv } from "./support/stack.ts";
import { sandboxMessages, waitFor } from "./support/tick-scenario.ts";
import { createWebhookOrg } from "./support/twilio-webhook.ts";

const sql = adminSql();

async function ensureTickSecrets(): Promise<string[]> {
  const env = stackEnv() as Record<string, string>;
  const wanted = {
    campaign_tick_url: `${env.SUPABASE_URL}/functions/v1/campaign-tick`,
    campaign_tick_secret: env.CAMPAIGN_TICK_SECRET,
  };
  const added: string[] = [];
  for (const [name, value] of Object.entries(wanted)) {
    const [row] = await sql`select 1 from vault.secrets where name = ${name}`;
    if (!row) {
      await sql`select vault.create_secret(${value}, ${name})`;
      added.push(name);
    }
  }
  return added;
}

async function asOperator<T>(
  operator: string,
  work: (tx: import("postgres").TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${
      JSON.stringify({ sub: operator, role: "authenticated" })
    }, true)`;
    await tx`set local role authenticated`;
    return await work(tx);
  }) as T;
}

async function inbound(from: string, to: string, body: string) {
  const response = await fetch(`${stackEnv().TWILIO_API_BASE}/_sandbox/inbound`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from, to, body }),
  });
  const answer = await response.json();
  assert.equal(answer.status, 200, JSON.stringify(answer));
  return answer;
}

Deno.test("a reply is sent within seconds of its insert, and refused after a STOP", async () => {
  const added = await ensureTickSecrets();
  const o = await createWebhookOrg(sql, 1);
  try {
    const [operator] = await sql<{ id: string }[]>`
      select id from auth.users where email = 'operator@acme.test'`;
    await sql`
      insert into public.memberships (org_id, user_id, role)
      values (${o.org}, ${operator.id}, 'operator')`;
    const [lead] = o.leads;
    await inbound(lead, o.number, "Is the house on Elm St still available?");
    const [thread] = await sql<{ id: string; unread_count: number }[]>`
      select id, unread_count from public.conversations where org_id = ${o.org}`;
    assert.equal(thread.unread_count, 1);

    await asOperator(operator.id, (tx) =>
      tx`
      insert into public.messages (org_id, conversation_id, body)
      values (${o.org}, ${thread.id}, 'Yes! Open house Saturday 1-4pm.')`);
    await waitFor(
      "the reply at the sandbox",
      async () => (await sandboxMessages([o.number])).some((m) => m.to === lead),
      { timeoutMs: 20_000 },
    );
    await waitFor("the reply recorded", async () => {
      const [r] = await sql`
        select twilio_sid is not null as has_sid from public.messages
        where org_id = ${o.org} and sent_by is not null`;
      return r.has_sid;
    }, { timeoutMs: 10_000 });
    const [reply] = await sql`
      select status::text, send_state from public.messages
      where org_id = ${o.org} and sent_by is not null`;
    assert.equal(reply.send_state, null, "sent, no longer in the outbox");

    const stop = await inbound(lead, o.number, "STOP");
    assert.match(stop.response, /unsubscribed/);
    await assert.rejects(
      asOperator(operator.id, (tx) =>
        tx`
        insert into public.messages (org_id, conversation_id, body)
        values (${o.org}, ${thread.id}, 'Sorry to see you go!')`),
      (error: { code?: string; message?: string }) =>
        error.code === "PT409" && /opted out|suppressed/.test(error.message ?? ""),
    );
    const sent = (await sandboxMessages([o.number])).filter((m) => m.to === lead);
    assert.equal(sent.length, 1, "only the first reply reached Twilio");
  } finally {
    await o.drop();
    if (added.length > 0) {
      await sql`delete from vault.secrets where name in ${sql(added)}`;
    }
    await sql.end();
  }
});
