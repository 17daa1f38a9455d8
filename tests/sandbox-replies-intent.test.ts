/**
 * The sandbox's simulated replies (local/twilio-sandbox/replies.ts) mean to our keyword
 * engine what they claim to: every opt-out reply opts out, no question does ("Can I stop by
 * Saturday?" is a visit). Against the local stack's private.reply_intent.
 */
import assert from "node:assert/strict";
import { OPT_OUT_REPLIES, QUESTION_REPLIES } from "../local/twilio-sandbox/replies.ts";
import { adminSql } from "./support/stack.ts";

Deno.test("the keyword engine reads the sandbox's opt-outs as opt-outs and its questions as none", async () => {
  const sql = adminSql();
  try {
    const replies = [...OPT_OUT_REPLIES, ...QUESTION_REPLIES];
    const rows = await sql<{ body: string; intent: string | null }[]>`
      select r.body, private.reply_intent(r.body, '{}', false) as intent
      from unnest(${replies}::text[]) with ordinality as r (body, n)
      order by r.n`;
    assert.deepEqual(
      rows.map((r) => [r.body, r.intent]),
      replies.map((body) => [body, OPT_OUT_REPLIES.includes(body) ? "opt_out" : null]),
    );
  } finally {
    await sql.end();
  }
});
