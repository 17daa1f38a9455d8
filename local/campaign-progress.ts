/**
 * How far each running campaign has got, read from the database in one query: its targets
 * by status, its messages by status, the leads who replied in its conversations and the
 * numbers that opted out since it started, and, when nothing can be sent now, until when
 * and why the next target waits. What `npm start`'s live view shows (progress-bar.ts draws
 * it); locally there is no Realtime server to push it, so the view polls this once a second.
 */
import type postgres from "postgres";

export interface CampaignProgress {
  id: string;
  name: string;
  /** The organization's name. */
  org: string;
  /** The campaign's status (running, paused, completed, …). */
  status: string;
  startedAt: Date | null;
  /** Every target the campaign made when it started. */
  targets: number;
  /** Targets waiting to be claimed. */
  pending: number;
  /** Targets claimed by a tick and about to be sent. */
  claimed: number;
  /** Targets handed to Twilio. */
  sent: number;
  /** Targets whose send may have reached Twilio, with no answer recorded: never sent again. */
  unknown: number;
  /** Targets a rule set aside for good (suppressed or invalid at the claim). */
  skipped: number;
  /** Targets canceled (the campaign, or the recipient opted out before their turn). */
  canceled: number;
  /** Targets Twilio refused (21610, 21211, …) or that ran out of retries. */
  sendFailed: number;
  /** The campaign's messages the carrier delivered. */
  delivered: number;
  /** The campaign's messages reported undelivered or failed. */
  undelivered: number;
  /** Leads who wrote back in the campaign's conversations since it started (opt-outs too). */
  replied: number;
  /** Targeted numbers that opted out since the campaign started (STOP, or Twilio's 21610). */
  optedOut: number;
  /** Pending targets that may be claimed now. */
  due: number;
  /** When nothing pending is due: when the first pending target becomes due. */
  nextAt: Date | null;
  /** Why that target waits (its status_reason, e.g. "held: outside the send window"). */
  nextReason: string | null;
  /** The database's clock when this was read. */
  at: Date;
}

interface Row {
  id: string;
  name: string;
  org: string;
  status: string;
  started_at: Date | null;
  targets: number;
  pending: number;
  claimed: number;
  sent: number;
  unknown: number;
  skipped: number;
  canceled: number;
  send_failed: number;
  delivered: number;
  undelivered: number;
  replied: number;
  opted_out: number;
  due: number;
  next_at: Date | null;
  next_reason: string | null;
  at: Date;
}

/**
 * Progress of every running campaign, and of the campaigns in `alsoIds` whatever their
 * status (a campaign that completed while it was watched keeps its line: replies and
 * delivery receipts still come in), oldest start first. Each count is read through an
 * index of the campaign or its organization; nothing scans a table.
 */
export async function campaignProgress(
  sql: postgres.Sql,
  alsoIds: readonly string[] = [],
): Promise<CampaignProgress[]> {
  const rows = await sql<Row[]>`
    select c.id, c.name, o.name as org, c.status, c.started_at,
      t.targets, t.pending, t.claimed, t.sent, t.unknown, t.skipped, t.canceled,
      t.failed as send_failed, t.due,
      m.delivered, m.undelivered, r.replied, x.opted_out,
      case when t.due = 0 then nxt.not_before end as next_at,
      case when t.due = 0 then nxt.status_reason end as next_reason,
      now() as at
    from public.campaigns c
    join public.organizations o on o.id = c.org_id
    cross join lateral (
      select count(*)::integer as targets,
        count(*) filter (where t.status = 'pending')::integer as pending,
        count(*) filter (where t.status = 'claimed')::integer as claimed,
        count(*) filter (where t.status = 'sent')::integer as sent,
        count(*) filter (where t.status = 'unknown')::integer as unknown,
        count(*) filter (where t.status = 'skipped')::integer as skipped,
        count(*) filter (where t.status = 'canceled')::integer as canceled,
        count(*) filter (where t.status = 'failed')::integer as failed,
        count(*) filter (where t.status = 'pending' and t.not_before <= now())::integer as due
      from public.campaign_targets t
      where t.org_id = c.org_id and t.campaign_id = c.id
    ) t
    left join lateral (
      -- The pending queue's first target (campaign_targets_pending_queue_idx).
      select p.not_before, p.status_reason
      from public.campaign_targets p
      where p.org_id = c.org_id and p.campaign_id = c.id and p.status = 'pending'
      order by p.not_before, p.id
      limit 1
    ) nxt on true
    cross join lateral (
      select count(*) filter (where m.status = 'delivered')::integer as delivered,
        count(*) filter (where m.status in ('undelivered', 'failed'))::integer as undelivered
      from public.messages m
      where m.org_id = c.org_id and m.campaign_id = c.id and m.direction = 'outbound'
    ) m
    cross join lateral (
      select count(distinct i.lead_id)::integer as replied
      from public.messages i
      where i.org_id = c.org_id and i.direction = 'inbound' and i.created_at >= c.started_at
        and i.conversation_id in (
          select s.conversation_id from public.messages s
          where s.org_id = c.org_id and s.campaign_id = c.id
        )
    ) r
    cross join lateral (
      select count(distinct s.phone)::integer as opted_out
      from public.suppressions s
      where s.org_id = c.org_id and s.source = 'recipient_stop'
        and s.created_at >= c.started_at
        and s.phone in (
          select t.phone from public.campaign_targets t
          where t.org_id = c.org_id and t.campaign_id = c.id
        )
    ) x
    where c.status = 'running' or c.id = any (${alsoIds as string[]}::uuid[])
    order by c.started_at nulls last, c.id`;
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    org: row.org,
    status: row.status,
    startedAt: row.started_at,
    targets: row.targets,
    pending: row.pending,
    claimed: row.claimed,
    sent: row.sent,
    unknown: row.unknown,
    skipped: row.skipped,
    canceled: row.canceled,
    sendFailed: row.send_failed,
    delivered: row.delivered,
    undelivered: row.undelivered,
    replied: row.replied,
    optedOut: row.opted_out,
    due: row.due,
    nextAt: row.next_at,
    nextReason: row.next_reason,
    at: row.at,
  }));
}
