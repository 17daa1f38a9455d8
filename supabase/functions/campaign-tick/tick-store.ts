/**
 * The tick's database side: every call is system work (`sms_system`), each one a short
 * transaction through the SQL functions of the sender (claim, outcomes, release, numbers,
 * campaigns). The rules live there; this file only carries values across.
 */
import type { Db } from "../_shared/db.ts";
import type { Claim, ClaimedMessage, TickStore } from "./tick.ts";

interface ClaimRow {
  target_id: string;
  claim_token: string;
  campaign_id: string;
  phone_number_id: string;
  to_phone: string;
  from_phone: string;
  messaging_service_sid: string | null;
  body: string;
  not_before: Date;
}

export function createTickStore(db: Db): TickStore {
  return {
    async startDueCampaigns() {
      await db.asSystem((tx) => tx`select * from private.start_due_campaigns()`);
    },
    async sendable(claims) {
      const rows = await db.asSystem((tx) =>
        tx<{ id: string }[]>`
          select id::text from private.sendable_claims(
            ${claims.map((c) => c.targetId)}::bigint[], ${claims.map((c) => c.claimToken)}::uuid[]
          ) as id`
      );
      return new Set(rows.map((r) => r.id));
    },
    async expireLeases() {
      const [row] = await db.asSystem((tx) =>
        tx<{ n: number }[]>`select private.expire_leases() as n`
      );
      return row.n;
    },
    async claim(max, leaseMs) {
      const rows = await db.asSystem((tx) =>
        tx<ClaimRow[]>`
          select target_id::text, claim_token, campaign_id, phone_number_id, to_phone,
            from_phone, messaging_service_sid, body, not_before
          from private.claim_targets(${max}, ${leaseMs} * interval '1 millisecond')`
      );
      return rows.map((r): ClaimedMessage => ({
        targetId: r.target_id,
        claimToken: r.claim_token,
        campaignId: r.campaign_id,
        phoneNumberId: r.phone_number_id,
        to: r.to_phone,
        from: r.from_phone,
        messagingServiceSid: r.messaging_service_sid,
        body: r.body,
        notBefore: r.not_before.getTime(),
      }));
    },
    async record(outcomes) {
      const sent = outcomes.filter((o) => o.kind === "sent");
      const failed = outcomes.filter((o) => o.kind === "failed");
      const unknown = outcomes.filter((o) => o.kind === "unknown");
      await db.asSystem(async (tx) => {
        if (sent.length > 0) {
          await tx`
            select private.record_sent(s.id, s.token, s.sid, s.status)
            from unnest(${sent.map((o) => o.targetId)}::bigint[],
                        ${sent.map((o) => o.claimToken)}::uuid[],
                        ${sent.map((o) => o.sid)}::text[],
                        ${sent.map((o) => o.status)}::text[]) as s (id, token, sid, status)`;
        }
        if (failed.length > 0) {
          // The client's classification decides (it knows HTTP statuses and codes the SQL
          // side does not); Retry-After, when Twilio sent one, is a floor for the backoff.
          await tx`
            select private.record_send_failure(f.id, f.token, f.code, f.message, now(), f.kind,
              f.retry_after_ms * interval '1 millisecond')
            from unnest(${failed.map((o) => o.targetId)}::bigint[],
                        ${failed.map((o) => o.claimToken)}::uuid[],
                        ${failed.map((o) => o.code)}::integer[],
                        ${failed.map((o) => o.message)}::text[],
                        ${failed.map((o) => o.failure)}::text[],
                        ${failed.map((o) => o.retryAfterMs)}::bigint[])
              as f (id, token, code, message, kind, retry_after_ms)`;
        }
        if (unknown.length > 0) {
          await tx`
            select private.record_send_unknown(${unknown.map((o) => o.targetId)}::bigint[],
              ${unknown.map((o) => o.claimToken)}::uuid[], ${
            unknown.map((o) => o.message)
          }::text[])`;
        }
      });
    },
    async release(claims: Claim[]) {
      await db.asSystem((tx) =>
        tx`select private.release_claims(${claims.map((c) => c.targetId)}::bigint[],
            ${claims.map((c) => c.claimToken)}::uuid[])`
      );
    },
    async pauseNumber(phoneNumberId, reason) {
      await db.asSystem((tx) =>
        tx`select private.pause_sending_number(${phoneNumberId}, ${reason})`
      );
    },
    async finishCampaigns(campaignIds) {
      await db.asSystem((tx) => tx`select private.finish_campaigns(${campaignIds}::uuid[])`);
    },
  };
}
