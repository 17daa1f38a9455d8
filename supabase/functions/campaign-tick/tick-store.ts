/**
 * The tick's database side: every call is system work (`sms_system`), each one a short
 * transaction through the SQL functions of the sender (claims of replies and targets,
 * outcomes, hand-backs, numbers, campaigns). The rules live there; this file only carries
 * values across.
 */
import type { Db } from "../_shared/db.ts";
import { bySource, type ClaimedMessage, claimKey, type TextMeasure } from "./claims.ts";
import type { TickReport, TickStore } from "./tick.ts";

/** The record each tick leaves in private.tick_runs, which the health check reads. */
export interface TickRuns {
  /** A tick starts with this budget: its run id. */
  startRun(budgetMs: number): Promise<string>;
  /** The run ended with this report (a run that never ends shows as failed). */
  finishRun(runId: string, report: TickReport): Promise<void>;
}

interface ClaimRow {
  id: string;
  claim_token: string;
  campaign_id: string | null;
  phone_number_id: string;
  to_phone: string;
  from_phone: string;
  messaging_service_sid: string | null;
  body: string;
  encoding: TextMeasure["encoding"] | null;
  segments: number | null;
  not_before: Date;
  send_by: Date;
}

function claimed(source: "target" | "reply", rows: ClaimRow[]): ClaimedMessage[] {
  return rows.map((r) => ({
    source,
    id: r.id,
    claimToken: r.claim_token,
    campaignId: r.campaign_id,
    phoneNumberId: r.phone_number_id,
    to: r.to_phone,
    from: r.from_phone,
    messagingServiceSid: r.messaging_service_sid,
    body: r.body,
    measure: r.encoding === null || r.segments === null
      ? null
      : { encoding: r.encoding, segments: r.segments },
    notBefore: r.not_before.getTime(),
    sendBy: r.send_by.getTime(),
  }));
}

export function createTickStore(db: Db): TickStore & TickRuns {
  return {
    async startDueCampaigns() {
      await db.asSystem((tx) => tx`select * from private.start_due_campaigns()`);
    },
    async sendable(claims) {
      const { target, reply } = bySource(claims);
      const ids = await db.asSystem(async (tx) => {
        const found: string[] = [];
        if (target.length > 0) {
          const rows = await tx<{ id: string }[]>`
            select id::text from private.sendable_claims(
              ${target.map((c) => c.id)}::bigint[], ${target.map((c) => c.claimToken)}::uuid[]
            ) as id`;
          for (const r of rows) found.push(claimKey({ source: "target", id: r.id }));
        }
        if (reply.length > 0) {
          const rows = await tx<{ id: string }[]>`
            select id::text from private.sendable_replies(
              ${reply.map((c) => c.id)}::uuid[], ${reply.map((c) => c.claimToken)}::uuid[]
            ) as id`;
          for (const r of rows) found.push(claimKey({ source: "reply", id: r.id }));
        }
        return found;
      });
      return new Set(ids);
    },
    async expireLeases() {
      const [row] = await db.asSystem((tx) =>
        tx<{ n: number }[]>`select private.expire_leases() as n`
      );
      return row.n;
    },
    async claim(max, leaseMs, horizonMs, startMs) {
      return await db.asSystem(async (tx) => {
        // now() is the transaction's start: both claims are made as of the same instant.
        const horizonMsFromNow = startMs + horizonMs;
        // Replies first: they take their numbers' next slots; targets get the ones after.
        const replies = await tx<ClaimRow[]>`
          select message_id::text as id, claim_token, null::uuid as campaign_id,
            phone_number_id, to_phone, from_phone, messaging_service_sid, body,
            null::text as encoding, null::integer as segments, not_before, send_by
          from private.claim_replies(${max}, ${leaseMs} * interval '1 millisecond',
            now() + ${startMs} * interval '1 millisecond',
            now() + ${horizonMsFromNow} * interval '1 millisecond')`;
        const left = max - replies.length;
        const targets = left === 0
          ? []
          : await tx<Omit<ClaimRow, "body" | "encoding" | "segments">[]>`
          select target_id::text as id, claim_token, campaign_id, phone_number_id, to_phone,
            from_phone, messaging_service_sid, not_before, send_by
          from private.claim_targets(${left}, ${leaseMs} * interval '1 millisecond',
            now() + ${startMs} * interval '1 millisecond',
            now() + ${horizonMsFromNow} * interval '1 millisecond')`;
        // Then their texts, in the same transaction: a claim refused here (it renders empty
        // or too long) is skipped with its reason and not sent.
        const texts = targets.length === 0
          ? []
          : await tx<Pick<ClaimRow, "id" | "body" | "encoding" | "segments">[]>`
          select target_id::text as id, body, encoding, segments
          from private.render_claims(${targets.map((t) => t.id)}::bigint[],
            ${targets.map((t) => t.claim_token)}::uuid[])`;
        const byId = new Map(texts.map((t) => [t.id, t]));
        const rendered = targets.flatMap((t) => {
          const text = byId.get(t.id);
          return text === undefined ? [] : [{ ...t, ...text }];
        });
        return [...claimed("reply", replies), ...claimed("target", rendered)];
      });
    },
    async hasDueWork() {
      const [row] = await db.asSystem((tx) =>
        tx<{ due: boolean }[]>`select private.sender_has_due_work() as due`
      );
      return row.due;
    },
    async record(outcomes) {
      const { target, reply } = bySource(outcomes);
      const sent = target.filter((o) => o.kind === "sent");
      const failed = target.filter((o) => o.kind === "failed");
      const unknown = target.filter((o) => o.kind === "unknown");
      const repliesSent = reply.filter((o) => o.kind === "sent");
      const repliesFailed = reply.filter((o) => o.kind === "failed");
      const repliesUnknown = reply.filter((o) => o.kind === "unknown");
      await db.asSystem(async (tx) => {
        if (sent.length > 0) {
          // With the text it was sent with (the claim's render), kept on the target.
          await tx`
            select private.record_sent(s.id, s.token, s.sid, s.status, now(), s.body,
              s.encoding, s.segments)
            from unnest(${sent.map((o) => o.id)}::bigint[],
                        ${sent.map((o) => o.claimToken)}::uuid[],
                        ${sent.map((o) => o.sid)}::text[],
                        ${sent.map((o) => o.status)}::text[],
                        ${sent.map((o) => o.text?.body ?? null)}::text[],
                        ${sent.map((o) => o.text?.encoding ?? null)}::public.message_encoding[],
                        ${sent.map((o) => o.text?.segments ?? null)}::smallint[])
              as s (id, token, sid, status, body, encoding, segments)`;
        }
        if (failed.length > 0) {
          // The client's classification decides (it knows HTTP statuses and codes the SQL
          // side does not); Retry-After, when Twilio sent one, is a floor for the backoff.
          await tx`
            select private.record_send_failure(f.id, f.token, f.code, f.message, now(), f.kind,
              f.retry_after_ms * interval '1 millisecond')
            from unnest(${failed.map((o) => o.id)}::bigint[],
                        ${failed.map((o) => o.claimToken)}::uuid[],
                        ${failed.map((o) => o.code)}::integer[],
                        ${failed.map((o) => o.message)}::text[],
                        ${failed.map((o) => o.failure)}::text[],
                        ${failed.map((o) => o.retryAfterMs)}::bigint[])
              as f (id, token, code, message, kind, retry_after_ms)`;
        }
        if (unknown.length > 0) {
          await tx`
            select private.record_send_unknown(${unknown.map((o) => o.id)}::bigint[],
              ${unknown.map((o) => o.claimToken)}::uuid[],
              ${unknown.map((o) => o.message)}::text[],
              ${unknown.map((o) => o.text?.body ?? null)}::text[],
              ${unknown.map((o) => o.text?.encoding ?? null)}::public.message_encoding[],
              ${unknown.map((o) => o.text?.segments ?? null)}::smallint[])`;
        }
        if (repliesSent.length > 0) {
          await tx`
            select private.record_reply_sent(${repliesSent.map((o) => o.id)}::uuid[],
              ${repliesSent.map((o) => o.claimToken)}::uuid[],
              ${repliesSent.map((o) => o.sid)}::text[],
              ${repliesSent.map((o) => o.status)}::text[])`;
        }
        if (repliesFailed.length > 0) {
          await tx`
            select private.record_reply_failures(${repliesFailed.map((o) => o.id)}::uuid[],
              ${repliesFailed.map((o) => o.claimToken)}::uuid[],
              ${repliesFailed.map((o) => o.code)}::integer[],
              ${repliesFailed.map((o) => o.message)}::text[],
              ${repliesFailed.map((o) => o.failure)}::text[],
              ${repliesFailed.map((o) => o.retryAfterMs)}::bigint[])`;
        }
        if (repliesUnknown.length > 0) {
          await tx`
            select private.record_reply_unknown(${repliesUnknown.map((o) => o.id)}::uuid[],
              ${repliesUnknown.map((o) => o.claimToken)}::uuid[],
              ${repliesUnknown.map((o) => o.message)}::text[])`;
        }
      });
    },
    async release(claims) {
      const { target, reply } = bySource(claims);
      await db.asSystem(async (tx) => {
        if (target.length > 0) {
          await tx`select private.release_claims(${target.map((c) => c.id)}::bigint[],
              ${target.map((c) => c.claimToken)}::uuid[])`;
        }
        if (reply.length > 0) {
          await tx`select private.release_replies(${reply.map((c) => c.id)}::uuid[],
              ${reply.map((c) => c.claimToken)}::uuid[])`;
        }
      });
    },
    async pauseNumber(phoneNumberId, reason) {
      await db.asSystem((tx) =>
        tx`select private.pause_sending_number(${phoneNumberId}, ${reason})`
      );
    },
    async startRun(budgetMs) {
      const [row] = await db.asSystem((tx) =>
        tx<{ id: string }[]>`select private.start_tick_run(${budgetMs}) as id`
      );
      return row.id;
    },
    async finishRun(runId, report) {
      await db.asSystem((tx) =>
        tx`select private.finish_tick_run(${runId}::bigint, ${JSON.stringify(report)}::jsonb)`
      );
    },
    async runGuardrails() {
      await db.asSystem((tx) => tx`select private.run_metric_jobs()`);
    },
    async finishCampaigns(campaignIds) {
      await db.asSystem((tx) => tx`select private.finish_campaigns(${campaignIds}::uuid[])`);
    },
  };
}
