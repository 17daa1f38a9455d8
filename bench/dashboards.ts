/**
 * Dashboards: `public.dashboard_metrics` for the last 30 days and `public.campaign_analytics`
 * as a campaign manager under RLS, in an organization with 1,000,000 messages over 90 days
 * and 200 campaigns, beside others with as many.
 *
 * Set-up, generated in the database as supabase_admin without triggers (the values are
 * generated already valid; one session per organization, in parallel): per organization 20
 * sending numbers, 10 templates of 2 or 3 variants, 200 campaigns (190 completed over the 90
 * days, each sending for 1–3 days; 10 running: the biggest, started 9 days ago with a tenth
 * of the organization's sends, and 9 started in the last 2 days), a lead per target, and one
 * campaign target per outbound message (plus pending targets for the running campaigns and 1%
 * skipped ones for the completed). Messages: 960,000 outbound and about 40,000 inbound,
 * outbound mostly delivered, 2.5% undelivered with 30003, 1.5% undelivered
 * and 0.5% failed with 30007, 0.5% failed with 30003, 2% still sent, 10% of two segments,
 * priced as Twilio prices them; about 1 outbound message in 24 drew a reply within 3 hours
 * (variant A 4.0%, B 4.6%, C 3.6%), a fifth of those a STOP (intent opt_out, counted as an
 * opt-out), credited to its campaign, target and variant as
 * private.attribute_inbound_message would. The metric triggers do not run during
 * the load (replica mode): public.metric_rollups is built afterwards by the migration's own
 * backfill statement, then the 5-minute rows older than 7 days are dropped as the fold drops
 * them. Lead and message ids and SIDs count up from a prefix of the organization's, so the
 * rows land at the end of their indexes (half the load time; the RPCs never read those
 * tables). Then VACUUM ANALYZE, so autovacuum does not start during the measurement.
 *
 * Measured, as PostgREST runs an RPC (a transaction, `set_config('role', 'authenticated')`,
 * the JWT claims in `request.jwt.claims`, then the call, prepared; only the call timed), on one
 * connection as `postgres` over TCP, by a campaign manager of the big organization only:
 * - `select public.dashboard_metrics(now() - interval '30 days', now())`;
 * - `select public.campaign_analytics(id)` of a typical campaign (the median size of the
 *   completed ones) and of the biggest (running);
 * - in the same run, interleaved, the baselines: `select 1` (the round trip), and the raw
 *   30-day sum of the organization's `org_hour` rollup rows (the least a dashboard read does)
 *   as service_role, which bypasses RLS as the RPCs (security definer, owned by postgres) do:
 *   the ceiling the ratios are taken against; and the same sum under RLS as the campaign
 *   manager (the table read directly through PostgREST).
 * Twice: right after a fold (no delta pending), then with `--deltas` (default 5,000) deltas not
 * folded yet, written by the real triggers (outbound messages inserted as sent into the
 * biggest campaign, then moved to delivered, and inbound replies attributed by the trigger),
 * which every read must add. During that phase the bench holds the fold's advisory lock, so
 * pg_cron's `run_metric_jobs` (every minute) waits instead of folding them; the bench folds
 * them itself at the end of the phase. Before each phase the answers are checked against
 * counts from public.messages and public.campaign_targets. The plans of the calls' statements
 * come from auto_explain (nested statements, ANALYZE) as the same user.
 *
 * Goal (issue): median under 20 ms. `--write` records the table in bench/RESULTS.md (between
 * the dashboards markers). Options: `--messages N` per organization (default 1,000,000),
 * `--others N` other organizations with as many (0–2, default 2), `--runs N` (default 200),
 * `--deltas N` (default 5,000), `--keep` leaves the data for inspection (the next run removes
 * it first).
 *
 * Needs the running dev stack (npm run up). Everything is removed at the end, also on error
 * or Ctrl-C, without triggers.
 */
import postgres from "postgres";
import { stackEnv } from "../tests/support/stack.ts";
import { argValue, holdInterrupts, percentile, removeOrganizations } from "./bench-util.ts";
import { devDatabase, insertAuthUser } from "./dev-database.ts";
import { writeResults } from "./results.ts";

/** The tables a load fills: analysed after it, vacuumed after the clean-up. */
const LOADED_TABLES = [
  "public.messages",
  "public.campaign_targets",
  "public.leads",
  "public.metric_rollups",
  "private.metric_deltas",
];
const GOAL_MS = 20;
const WARMUP = 20;
const NUMBERS = 20;
const TEMPLATES = 10;
const CAMPAIGNS = 200;
const RUNNING_RECENT = 9;
const DAY = 86_400;
const USER_ID = "be000000-0000-4000-8000-0000000000d1";
const USER_EMAIL = "bench-dashboards@bench.test";
const BIG_SLUG = "bench-dash-big";
const OTHER_SLUG = "bench-dash-other-";
const APP_NAME = "bench-dashboards-loader";
/** The fold's lock (private.fold_metrics takes it per transaction). */
const FOLD_LOCK = "select pg_advisory_lock(hashtext('private.fold_metrics'))";
const FOLD_UNLOCK = "select pg_advisory_unlock(hashtext('private.fold_metrics'))";

function numberArg(name: string, fallback: number, min: number, max: number): number {
  const value = Number(argValue(name) ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: an integer from ${min} to ${max}`);
  }
  return value;
}
const MESSAGES = numberArg("--messages", 1_000_000, 50_000, 5_000_000);
const OTHERS = numberArg("--others", 2, 0, 2);
const RUNS = numberArg("--runs", 200, 20, 5_000);
const DELTAS = numberArg("--deltas", 5_000, 100, 100_000);
const KEEP = Deno.args.includes("--keep");

const say = (line: string) => console.error(`» ${line}`);
const fmtInt = (n: number) => Math.round(n).toLocaleString("en");
const fmtMs = (n: number) => n < 10 ? n.toFixed(2) : n.toFixed(1);
const SLUGS = [BIG_SLUG, ...Array.from({ length: OTHERS }, (_, i) => `${OTHER_SLUG}${i + 1}`)];

// -----------------------------------------------------------------------------
// The shape of an organization's data (the same for each)
// -----------------------------------------------------------------------------

/** About 24 outbound messages to each inbound one. */
const OUTBOUND = Math.round(MESSAGES * 24 / 25);

interface PlannedCampaign {
  k: number;
  status: "running" | "completed";
  /** Seconds before now: its first and last send. */
  startAgo: number;
  endAgo: number;
  sent: number;
  /** Targets without a message: pending (running) or skipped (completed). */
  extra: number;
  /** Index of its first message among the organization's outbound messages. */
  first: number;
}

function plan(): PlannedCampaign[] {
  const biggest = Math.round(OUTBOUND / 10);
  const rest = OUTBOUND - biggest;
  const weights = Array.from({ length: CAMPAIGNS - 1 }, (_, i) => 0.5 + ((i + 2) * 37 % 100) / 100);
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor(rest * w / total));
  sizes[sizes.length - 1] += rest - sizes.reduce((a, b) => a + b, 0);
  const completed = CAMPAIGNS - 1 - RUNNING_RECENT;
  const campaigns: PlannedCampaign[] = [{
    k: 1,
    status: "running",
    startAgo: 9 * DAY,
    endAgo: 60,
    sent: biggest,
    extra: Math.round(biggest / 4),
    first: 0,
  }];
  for (let i = 0; i < CAMPAIGNS - 1; i++) {
    const k = i + 2;
    if (i < completed) {
      // From 90 days ago to 4 days ago, each sending for 1 to 3 days.
      const startAgo = Math.round(90 * DAY - i * (86 * DAY) / (completed - 1));
      campaigns.push({
        k,
        status: "completed",
        startAgo,
        endAgo: startAgo - (1 + k % 3) * DAY,
        sent: sizes[i],
        extra: Math.round(sizes[i] / 100),
        first: 0,
      });
    } else {
      // Started in the last 2 days, 5 hours apart, still sending.
      campaigns.push({
        k,
        status: "running",
        startAgo: 2 * DAY - (i - completed) * 5 * 3600,
        endAgo: 60,
        sent: sizes[i],
        extra: Math.round(sizes[i] / 4),
        first: 0,
      });
    }
  }
  let first = 0;
  for (const c of campaigns) {
    c.first = first;
    first += c.sent;
  }
  return campaigns;
}

const PLAN = plan();
const BIGGEST = PLAN[0];
/** The completed campaign of median size. */
const TYPICAL = PLAN.filter((c) => c.status === "completed").sort((a, b) => a.sent - b.sent)[
  Math.floor((CAMPAIGNS - 1 - RUNNING_RECENT) / 2)
];
/** Leads per organization: every campaign's targets are distinct leads. */
const LEADS = Math.max(2 * (BIGGEST.sent + BIGGEST.extra), 10_000);

// -----------------------------------------------------------------------------
// Connections: `postgres` over TCP (as PostgREST and the functions connect) for the
// measurement, `supabase_admin` over the unix socket (trust) for loading and cleaning up.
// -----------------------------------------------------------------------------

const env = stackEnv();
const db = devDatabase();
const superuser = (name = "bench-dashboards") => db.connect("supabase_admin", name);

// -----------------------------------------------------------------------------
// Set-up and clean-up
// -----------------------------------------------------------------------------

interface Org {
  slug: string;
  id: string;
  numbers: string[];
  /** Per template, its variants' ids (2 or 3). */
  variants: string[][];
  templates: string[];
  /** Campaign ids in PLAN order. */
  campaigns: string[];
}

async function cleanUp(sql: postgres.Sql): Promise<void> {
  await removeOrganizations(sql, SLUGS.concat([1, 2].map((i) => `${OTHER_SLUG}${i}`)));
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`delete from public.memberships where user_id = ${USER_ID}`;
    await tx`delete from public.profiles where id = ${USER_ID}`;
    await tx`delete from auth.users where id = ${USER_ID}`;
    await tx`delete from public.audit_log where actor_id = ${USER_ID}`;
  });
}

/** The organizations, their numbers, templates and variants, the user, through the triggers. */
async function createFixture(sql: postgres.Sql): Promise<Org[]> {
  return await sql.begin(async (tx) => {
    const orgs: Org[] = [];
    for (const [n, slug] of SLUGS.entries()) {
      const [org] = await tx`
        insert into public.organizations (name, slug)
        values (${n === 0 ? "Bench dashboards" : `Bench dashboards other ${n}`}, ${slug})
        returning id`;
      const numbers = await tx`
        insert into public.phone_numbers (org_id, phone, twilio_sid, messages_per_second)
        select ${org.id}, '+1646' || ${960 + n} || lpad(i::text, 4, '0'),
          'PN' || md5(${slug} || i), 10
        from generate_series(1, ${NUMBERS}) i
        returning id`;
      const templates = await tx`
        insert into public.templates (org_id, name)
        select ${org.id}, 'Template ' || t from generate_series(1, ${TEMPLATES}) t
        order by t
        returning id, name`;
      const variants: string[][] = [];
      for (const [t, template] of templates.entries()) {
        const labels = t % 2 === 0 ? ["A", "B", "C"] : ["A", "B"];
        const rows = await tx`
          insert into public.template_variants (org_id, template_id, label, body, weight, position)
          select ${org.id}, ${template.id}, label,
            'Hi {{first_name|there}}, open house Saturday (' || label || '). Reply STOP to opt out.',
            case when label = 'A' then 2 else 1 end, position - 1
          from unnest(${labels}::text[]) with ordinality as v (label, position)
          order by position
          returning id`;
        variants.push(rows.map((r) => r.id as string));
      }
      orgs.push({
        slug,
        id: org.id,
        numbers: numbers.map((r) => r.id as string),
        templates: templates.map((r) => r.id as string),
        variants,
        campaigns: [],
      });
    }
    await insertAuthUser(tx, { id: USER_ID, email: USER_EMAIL, fullName: "Bench Dashboards" });
    await tx`
      insert into public.memberships (org_id, user_id, role)
      values (${orgs[0].id}, ${USER_ID}, 'campaign_manager')`;
    return orgs;
  });
}

/**
 * 12 hex digits of an organization's own, for ids and SIDs that count up from it: rows
 * generated in id order then land at the end of their indexes instead of all over them (the
 * load takes half the time, and the RPCs never read public.messages or public.leads).
 */
function prefix(org: Org, kind: string): string {
  const hex = (org.id + kind).split("").reduce(
    (h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0,
    7,
  ).toString(16).padStart(8, "0");
  return `${hex}${org.id.replaceAll("-", "").slice(0, 4)}`;
}

/** Leads, campaigns, targets, messages and rollups of one organization, in one session. */
async function loadOrg(
  sql: postgres.Sql,
  org: Org,
  check: () => void,
): Promise<Record<string, number>> {
  const seconds: Record<string, number> = {};
  let last = performance.now();
  const step = (name: string) => {
    check();
    const now = performance.now();
    seconds[name] = (now - last) / 1000;
    last = now;
  };
  await sql`set session_replication_role = replica`;
  await sql`set synchronous_commit = off`;
  await sql`set work_mem = '256MB'`;
  await sql`select setseed(${0.1 + SLUGS.indexOf(org.slug) / 10})`;
  step("settings");

  // Leads: ids derived from the index, so the targets need no join to find them.
  await sql`
    insert into public.leads (id, org_id, phone, first_name, state, zip, time_zone,
      zip_time_zone, phone_time_zone, tags, status, created_at, updated_at)
    select (${prefix(org, "lead")} || lpad(to_hex(i), 20, '0'))::uuid, ${org.id},
      '+1212' || (200 + i / 10000 + (i / 10000 >= 11)::int)::text
        || lpad((i % 10000)::text, 4, '0'),
      'Lead ' || i, 'NY', '10001', 'America/New_York', 'America/New_York',
      'America/New_York', '{}', 'contacted', now() - interval '120 days',
      now() - interval '120 days'
    from generate_series(0, ${LEADS - 1}) i`;
  step("leads");

  const campaigns = await sql`
    insert into public.campaigns (org_id, name, template_id, audience, status, started_at,
      completed_at, guarded_since, created_at, updated_at)
    select ${org.id}, 'Campaign ' || lpad(p.k::text, 3, '0'),
      (${org.templates}::uuid[])[1 + p.k % ${TEMPLATES}], '{"tags": ["bench"]}', p.status,
      now() - p.start_ago * interval '1 second',
      case when p.status = 'completed' then now() - p.end_ago * interval '1 second' end,
      case when p.status = 'running' then now() - p.start_ago * interval '1 second' end,
      now() - (p.start_ago + 3600) * interval '1 second',
      now() - p.end_ago * interval '1 second'
    from unnest(${PLAN.map((c) => c.k)}::int[], ${PLAN.map((c) => c.status)}::text[],
      ${PLAN.map((c) => c.startAgo)}::float8[], ${PLAN.map((c) => c.endAgo)}::float8[])
      as p (k, status, start_ago, end_ago)
    order by p.k
    returning id, name`;
  const byName = new Map(campaigns.map((r) => [r.name as string, r.id as string]));
  org.campaigns = PLAN.map((c) => byName.get(`Campaign ${String(c.k).padStart(3, "0")}`)!);
  step("campaigns");

  // One target per outbound message (message g of the organization: sent at its place in the
  // campaign's sending time, number g % 20, variant A twice as often as B and C), then the
  // targets without a message. About 1 message in 24 drew a reply (A 4.0%, B 4.6%, C 3.6%),
  // a fifth of them STOP.
  const v = (i: number) => PLAN.map((c) => org.variants[c.k % TEMPLATES][i] ?? null);
  await sql`
    insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, status,
      status_reason, template_variant_id, phone_number_id, attempts, claimed_at, sent_at,
      body, encoding, segments, replied_at, opted_out_at, created_at, updated_at)
    select ${org.id}, p.campaign_id, (${
    prefix(org, "lead")
  } || lpad(to_hex(x.lead), 20, '0'))::uuid,
      '+1212' || (200 + x.lead / 10000 + (x.lead / 10000 >= 11)::int)::text
        || lpad((x.lead % 10000)::text, 4, '0'),
      case when x.has_message then 'sent'
        when p.status = 'running' then 'pending' else 'skipped' end,
      case when not x.has_message and p.status <> 'running' then 'suppressed' end,
      (array[p.v1, p.v2, p.v3])[x.variant + 1],
      case when x.has_message then (${org.numbers}::uuid[])[1 + (x.g % ${NUMBERS})::int] end,
      x.has_message::int, x.at, x.at,
      case when x.has_message then 'Hi there, open house Saturday. Reply STOP to opt out.' end,
      case when x.has_message then 'gsm7'::public.message_encoding end,
      case when x.has_message then case when j % 10 = 9 then 2 else 1 end end,
      case when x.replied then x.reply_at end,
      case when x.replied and x.r_stop < 0.2 then x.reply_at end,
      p.created_at, coalesce(x.at, p.created_at)
    from unnest(${org.campaigns}::uuid[], ${PLAN.map((c) => c.status)}::text[],
      ${PLAN.map((c) => c.startAgo)}::float8[], ${PLAN.map((c) => c.endAgo)}::float8[],
      ${PLAN.map((c) => c.sent)}::int[], ${PLAN.map((c) => c.extra)}::int[],
      ${PLAN.map((c) => c.first)}::bigint[], ${PLAN.map((c) => c.k * 104729 % LEADS)}::int[],
      ${v(0)}::uuid[], ${v(1)}::uuid[], ${v(2)}::uuid[])
      as p0 (campaign_id, status, start_ago, end_ago, sent, extra, first, lead_offset, v1, v2,
        v3)
    cross join lateral (
      select p0.*, now() - p0.start_ago * interval '1 second' as start_at,
        now() - p0.end_ago * interval '1 second' as end_at,
        now() - (p0.start_ago + 3600) * interval '1 second' as created_at
    ) p
    cross join lateral generate_series(0, p.sent + p.extra - 1) j
    cross join lateral (
      select j < p.sent as has_message, p.first + j as g, (p.lead_offset + j) % ${LEADS} as lead,
        case when p.v3 is null then j % 2 else case j % 4 when 2 then 1 when 3 then 2 else 0 end
          end as variant,
        case when j < p.sent then p.start_at + (p.end_at - p.start_at) * (j::float8 / p.sent) end
          as at,
        random() as r_reply, random() as r_stop
    ) x0
    cross join lateral (
      select x0.*,
        x0.has_message and x0.r_reply < (array[0.040, 0.046, 0.036])[x0.variant + 1] as replied,
        least(x0.at + (2 + x0.g % 178) * interval '1 minute', now() - interval '1 second')
          as reply_at
    ) x`;
  step("targets");

  // The outbound messages, as the sender and the status callbacks leave them.
  await sql`
    insert into public.messages (id, org_id, direction, lead_id, phone_number_id, from_phone,
      to_phone, body, segments, encoding, twilio_sid, status, error_code, price, price_unit,
      campaign_id, campaign_target_id, template_variant_id, created_at, updated_at, sent_at,
      delivered_at, failed_at)
    select (${prefix(org, "out")} || lpad(to_hex(t.id), 20, '0'))::uuid, t.org_id, 'outbound',
      t.lead_id, t.phone_number_id, n.phone, t.phone, t.body, t.segments, t.encoding,
      'SM' || ${prefix(org, "out").slice(0, 8)} || lpad(to_hex(t.id), 24, '0'), s.status,
      s.error_code,
      case when s.status <> 'sent' then -0.00790 * t.segments end,
      case when s.status <> 'sent' then 'USD' end,
      t.campaign_id, t.id, t.template_variant_id, t.sent_at,
      t.sent_at + interval '5 seconds', t.sent_at,
      case when s.status = 'delivered' then t.sent_at + interval '4 seconds' end,
      case when s.status in ('undelivered', 'failed') then t.sent_at + interval '4 seconds' end
    from public.campaign_targets t
    join public.phone_numbers n on n.org_id = t.org_id and n.id = t.phone_number_id
    -- Correlated (it names t), so random() is drawn per row, not once for the statement.
    cross join lateral (select random() + 0 * t.id as r) r
    cross join lateral (
      select case
          when r.r < 0.930 then 'delivered'
          when r.r < 0.970 then 'undelivered'
          when r.r < 0.980 then 'failed'
          else 'sent'
        end::public.message_status as status,
        case
          when r.r < 0.930 then null
          when r.r < 0.955 then 30003
          when r.r < 0.970 then 30007
          when r.r < 0.975 then 30007
          when r.r < 0.980 then 30003
        end as error_code
    ) s
    where t.org_id = ${org.id} and t.status = 'sent'`;
  step("outbound");

  // The replies, credited as private.attribute_inbound_message credits them.
  await sql`
    insert into public.messages (id, org_id, direction, lead_id, phone_number_id, from_phone,
      to_phone, body, segments, twilio_sid, status, campaign_id, campaign_target_id,
      template_variant_id, intent, counts_as_reply, counts_as_opt_out, created_at, updated_at,
      received_at)
    select (${prefix(org, "in")} || lpad(to_hex(t.id), 20, '0'))::uuid, t.org_id, 'inbound',
      t.lead_id, t.phone_number_id, t.phone, n.phone,
      case when t.opted_out_at is not null then 'STOP' else 'Yes, is it still available?' end,
      1, 'SM' || ${prefix(org, "in").slice(0, 8)} || lpad(to_hex(t.id), 24, '0'), 'received',
      t.campaign_id, t.id,
      t.template_variant_id, case when t.opted_out_at is not null then 'opt_out' end, true,
      t.opted_out_at is not null, t.replied_at, t.replied_at, t.replied_at
    from public.campaign_targets t
    join public.phone_numbers n on n.org_id = t.org_id and n.id = t.phone_number_id
    where t.org_id = ${org.id} and t.replied_at is not null`;
  step("inbound");

  // The messages loaded with the triggers off, counted as the migration's backfill counts
  // stored messages, and folded (which drops 5-minute rows over 7 days old).
  await sql`select private.count_stored_messages(${org.id})`;
  await sql`select private.fold_metrics()`;
  step("rollups");
  delete seconds.settings;
  return seconds;
}

// -----------------------------------------------------------------------------
// Deltas not folded yet, through the real triggers
// -----------------------------------------------------------------------------

/**
 * Writes about `DELTAS` deltas for the big organization: 40% outbound messages inserted as
 * sent into the biggest campaign (from its pending targets), the same moved to delivered
 * (or 30003/30007), and 20% inbound replies to its earlier messages, attributed by the trigger.
 */
async function writeDeltas(sql: postgres.Sql, org: Org): Promise<number> {
  const sends = Math.round(DELTAS * 0.4);
  const replies = DELTAS - 2 * sends;
  const campaign = org.campaigns[0];
  const ids = await sql.begin(async (tx) => {
    const targets = await tx`
      update public.campaign_targets t
      set status = 'sent', attempts = 1, claimed_at = now(), sent_at = now(),
        phone_number_id = (${org.numbers}::uuid[])[1 + (t.id % ${NUMBERS})::int],
        body = 'Hi there, open house Saturday. Reply STOP to opt out.', encoding = 'gsm7',
        segments = 1
      where t.id in (
        select id from public.campaign_targets
        where org_id = ${org.id} and campaign_id = ${campaign} and status = 'pending'
        order by id limit ${sends})
      returning t.id`;
    if (targets.length !== sends) throw new Error(`${targets.length} pending targets of ${sends}`);
    const ids = targets.map((r) => String(r.id));
    await tx`
      insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone,
        to_phone, body, segments, encoding, twilio_sid, status, campaign_id,
        campaign_target_id, template_variant_id)
      select t.org_id, 'outbound', t.lead_id, t.phone_number_id, n.phone, t.phone, t.body,
        t.segments, t.encoding, 'SM' || md5(${org.slug} || ':delta:' || t.id), 'sent',
        t.campaign_id, t.id, t.template_variant_id
      from public.campaign_targets t
      join public.phone_numbers n on n.org_id = t.org_id and n.id = t.phone_number_id
      where t.org_id = ${org.id} and t.id = any(${ids}::bigint[])`;
    return ids;
  });
  // Their status callbacks: delivered, 1 in 20 undelivered (30003).
  await sql`
    update public.messages m
    set status = case when m.campaign_target_id % 20 = 0 then 'undelivered'
        else 'delivered' end::public.message_status,
      error_code = case when m.campaign_target_id % 20 = 0 then 30003 end,
      price = -0.00790, price_unit = 'USD'
    where m.org_id = ${org.id} and m.campaign_target_id = any(${ids}::bigint[])
      and m.direction = 'outbound'`;
  // Replies from leads the biggest campaign reached a day ago, not answered yet.
  await sql`
    insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone,
      to_phone, body, segments, twilio_sid, status, intent)
    select t.org_id, 'inbound', t.lead_id, t.phone_number_id, t.phone, n.phone,
      case when t.id % 20 = 0 then 'STOP' else 'Sounds good' end, 1,
      'SM' || md5(${org.slug} || ':delta-in:' || t.id), 'received',
      case when t.id % 20 = 0 then 'opt_out' end
    from (
      select * from public.campaign_targets
      where org_id = ${org.id} and campaign_id = ${campaign} and status = 'sent'
        and replied_at is null and sent_at < now() - interval '1 day'
      order by sent_at desc
      limit ${replies}
    ) t
    join public.phone_numbers n on n.org_id = t.org_id and n.id = t.phone_number_id`;
  const [{ n }] = await sql`
    select count(*)::int as n from private.metric_deltas where org_id = ${org.id}`;
  return n;
}

// -----------------------------------------------------------------------------
// Checks: the answers against counts from the tables
// -----------------------------------------------------------------------------

const CLAIMS = JSON.stringify({ sub: USER_ID, role: "authenticated" });

async function checkAnswers(sql: postgres.Sql, org: Org): Promise<string> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${CLAIMS}, true)`;
    const [r] = await tx`
      select public.dashboard_metrics(now() - interval '30 days', now()) as dash,
        public.campaign_analytics(${org.campaigns[0]}) as big,
        public.campaign_analytics(${org.campaigns[PLAN.indexOf(TYPICAL)]}) as typical`;
    const [d] = await tx`
      select count(*) filter (where direction = 'outbound' and twilio_sid is not null)::int
          as sent,
        count(*) filter (where status = 'delivered')::int as delivered,
        count(*) filter (where direction = 'inbound')::int as inbound,
        count(*) filter (where counts_as_reply)::int as replies,
        count(*) filter (where counts_as_opt_out)::int as opt_outs,
        count(*) filter (where direction = 'outbound' and error_code = 30007)::int as filtered
      from public.messages
      where org_id = ${org.id}
        and created_at >= date_bin(interval '1 hour', now() - interval '30 days',
          timestamptz '2000-01-01 00:00:00+00')
        and date_bin(interval '1 hour', created_at, timestamptz '2000-01-01 00:00:00+00') < now()`;
    const campaign = async (id: string) => {
      const [c] = await tx`
        select count(*) filter (where direction = 'outbound' and twilio_sid is not null)::int
            as sent,
          count(*) filter (where counts_as_reply)::int as replies,
          (select count(*)::int from public.campaign_targets
            where org_id = ${org.id} and campaign_id = ${id}) as targets
        from public.messages
        where org_id = ${org.id} and campaign_id = ${id}`;
      return c;
    };
    const big = await campaign(org.campaigns[0]);
    const typical = await campaign(org.campaigns[PLAN.indexOf(TYPICAL)]);
    const t = r.dash.totals;
    const got = {
      sent: t.sent,
      delivered: t.delivered,
      inbound: t.inbound,
      replies: t.replies,
      opt_outs: t.opt_outs,
      filtered: t.filtered,
      big: [r.big.totals.sent, r.big.totals.replies, r.big.progress.targets],
      typical: [r.typical.totals.sent, r.typical.totals.replies, r.typical.progress.targets],
    };
    const expected = {
      ...d,
      big: [big.sent, big.replies, big.targets],
      typical: [typical.sent, typical.replies, typical.targets],
    };
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      throw new Error(
        `answers differ from the tables: got ${JSON.stringify(got)}, counted ${
          JSON.stringify(expected)
        }`,
      );
    }
    return `30 days: ${fmtInt(t.sent)} sent, ${fmtInt(t.delivered)} delivered, ${
      fmtInt(t.replies)
    } replies, ${
      fmtInt(t.opt_outs)
    } opt-outs, ${r.dash.top_campaigns.length} top campaigns; biggest campaign ${
      fmtInt(big.sent)
    } sent of ${fmtInt(big.targets)} targets, typical ${fmtInt(typical.sent)} of ${
      fmtInt(typical.targets)
    }`;
  });
}

// -----------------------------------------------------------------------------
// Measurement
// -----------------------------------------------------------------------------

interface Case {
  key: string;
  label: string;
  /** Who calls: the campaign manager (RLS applies) or service_role (bypasses RLS). */
  role: "authenticated" | "service_role";
  sql: string;
  params: (org: Org) => string[];
}

/** What a 30-day dashboard reads at least: the organization's hourly rollup rows, summed. */
const ROLLUP_SUM = `select sum(sent) as sent, sum(delivered) as delivered,
    sum(undelivered) as undelivered, sum(failed) as failed, sum(segments) as segments,
    sum(cost) as cost, sum(inbound) as inbound, sum(replies) as replies,
    sum(opt_outs) as opt_outs, sum(filtered) as filtered
  from public.metric_rollups
  where org_id = $1 and dimension = 'org_hour'
    and bucket >= date_bin(interval '1 hour', now() - interval '30 days',
      timestamptz '2000-01-01 00:00:00+00')
    and bucket < now()`;

const CASES: Case[] = [
  {
    key: "one",
    label: "`select 1` (round trip; baseline)",
    role: "authenticated",
    sql: "select 1",
    params: () => [],
  },
  {
    key: "sum",
    label:
      "raw sum of 30 days of `org_hour` rollups as service_role, no RLS (as the RPCs, security definer, read them; ceiling)",
    role: "service_role",
    sql: ROLLUP_SUM,
    params: (org) => [org.id],
  },
  {
    key: "sumRls",
    label: "the same raw sum under RLS (the table read directly)",
    role: "authenticated",
    sql: ROLLUP_SUM,
    params: (org) => [org.id],
  },
  {
    key: "dashboard",
    label: "`dashboard_metrics`, last 30 days",
    role: "authenticated",
    sql: "select public.dashboard_metrics(now() - interval '30 days', now())",
    params: () => [],
  },
  {
    key: "typical",
    label: `\`campaign_analytics\`, typical campaign (${fmtInt(TYPICAL.sent)} sent, completed)`,
    role: "authenticated",
    sql: "select public.campaign_analytics($1)",
    params: (org) => [org.campaigns[PLAN.indexOf(TYPICAL)]],
  },
  {
    key: "biggest",
    label: `\`campaign_analytics\`, biggest campaign (${fmtInt(BIGGEST.sent)} sent, ${
      fmtInt(BIGGEST.sent + BIGGEST.extra)
    } targets, running)`,
    role: "authenticated",
    sql: "select public.campaign_analytics($1)",
    params: (org) => [org.campaigns[0]],
  },
];
const CALLS = ["dashboard", "typical", "biggest"];

const claimsOf = (role: Case["role"]) =>
  JSON.stringify(role === "authenticated" ? { sub: USER_ID, role } : { role });

/** One call as PostgREST makes it; the call's time only. */
async function timed(sql: postgres.Sql, c: Case, org: Org): Promise<number> {
  return await sql.begin(async (tx) => {
    await tx`
      select set_config('role', ${c.role}, true),
        set_config('request.jwt.claims', ${claimsOf(c.role)}, true)`;
    const started = performance.now();
    await tx.unsafe(c.sql, c.params(org), { prepare: true });
    return performance.now() - started;
  });
}

async function measure(
  sql: postgres.Sql,
  org: Org,
  check: () => void,
): Promise<Map<string, number[]>> {
  const times = new Map(CASES.map((c) => [c.key, [] as number[]]));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    check();
    // Interleaved, the order rotating each round, so drift hits every case alike.
    for (let j = 0; j < CASES.length; j++) {
      const c = CASES[(i + j) % CASES.length];
      const ms = await timed(sql, c, org);
      if (i >= WARMUP) times.get(c.key)!.push(ms);
    }
  }
  return times;
}

/**
 * The plans of every statement the calls run (auto_explain, nested statements, ANALYZE,
 * BUFFERS), as the same user; returns each call's log lines.
 */
async function explainCalls(org: Org): Promise<Map<string, string[]>> {
  let lines: string[] = [];
  const sql = db.connect("supabase_admin", "bench-dashboards-explain", (notice) => {
    if (notice.severity === "LOG") lines.push(String(notice.message));
  });
  const plans = new Map<string, string[]>();
  try {
    await sql`load 'auto_explain'`;
    for (const c of CASES.filter((c) => c.key !== "one")) {
      lines = [];
      await sql.begin(async (tx) => {
        await tx`set local auto_explain.log_min_duration = 0`;
        await tx`set local auto_explain.log_analyze = on`;
        await tx`set local auto_explain.log_buffers = on`;
        await tx`set local auto_explain.log_nested_statements = on`;
        await tx`set local client_min_messages = log`;
        await tx`
          select set_config('role', ${c.role}, true),
            set_config('request.jwt.claims', ${claimsOf(c.role)}, true)`;
        await tx.unsafe(c.sql, c.params(org), { prepare: true });
      });
      plans.set(c.key, lines);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  return plans;
}

/**
 * Per logged plan (but an RPC call's own, which shows none of its statements): its duration,
 * the tables it scans with the rows each scan returned (100 or more), the rows of a CTE named
 * `rows`, and the temp blocks written when something spilled out of work_mem.
 */
function summarise(logs: string[], call: string): { ms: number; text: string }[] {
  const n = (x: string | number) => fmtInt(Number(x));
  return logs.flatMap((log) => {
    const lines = log.split("\n");
    const at = lines.findIndex((l) => l.includes("Query Text:"));
    const planAt = lines.findIndex((l, i) => i > at && /\(cost=/.test(l));
    if (at < 0 || planAt < 0) return [];
    const query = lines.slice(at, planAt).join(" ").replace(/^.*Query Text:\s*/, "")
      .replace(/\s+/g, " ").trim();
    const rpc = /^select public\.\w+\(/.test(call);
    if (rpc && query === call.replace(/\s+/g, " ").trim()) return [];
    const ms = Number(log.match(/duration: ([\d.]+) ms/)?.[1] ?? 0);
    const parts: string[] = [];
    const plan = lines.slice(planAt);
    plan.forEach((line, i) => {
      if (/Bitmap Index Scan/.test(line)) return;
      const scan = line.match(
        /(Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan)( using (\S+))? on (\S+).*rows=(\d+) loops=(\d+)/,
      );
      if (scan) {
        const rows = Number(scan[5]) * Number(scan[6]);
        const removed = plan.slice(i + 1).findIndex((l) => /->/.test(l));
        const filter = plan.slice(i + 1, i + 1 + (removed < 0 ? plan.length : removed))
          .join("\n").match(/Rows Removed by Filter: (\d+)/)?.[1];
        if (rows >= 100 || Number(filter ?? 0) >= 100) {
          parts.push(
            `${scan[4]} ${rows === 0 && !filter ? "" : n(rows)} rows (${scan[1]}${
              scan[3] ? ` ${scan[3]}` : ""
            }${filter ? `, ${n(filter)} removed by filter` : ""})`,
          );
        }
      }
    });
    const cte = plan.findIndex((l) => /^\s*CTE rows$/.test(l));
    const cteRows = cte >= 0 ? plan[cte + 1].match(/rows=(\d+) loops/)?.[1] : undefined;
    if (cteRows) parts.push(`CTE \`rows\` ${n(cteRows)} rows`);
    const temp = plan.slice(0, 3).join("\n").match(/temp read=\d+ written=(\d+)/)?.[1];
    if (temp) parts.push(`${n(temp)} temp blocks written (past work_mem)`);
    return [{ ms, text: `${ms.toFixed(1)} ms: ${parts.join(", ") || "no scan of 100 rows"}` }];
  });
}

// -----------------------------------------------------------------------------
// Run
// -----------------------------------------------------------------------------

const admin = superuser();
const loaders = SLUGS.map(() => superuser(APP_NAME));
const locker = superuser("bench-dashboards-deltas");
const pg = postgres(env.SUPABASE_DB_URL, {
  max: 1,
  onnotice: () => {},
  connection: { application_name: "bench-dashboards" },
});
let interrupted = false;

async function cancelLoads(): Promise<void> {
  interrupted = true;
  const killer = superuser();
  try {
    await killer`
      select pg_cancel_backend(pid) from pg_stat_activity
      where application_name = ${APP_NAME} and pid <> pg_backend_pid()`;
  } finally {
    await killer.end();
  }
}
const { check: checkSignal, release } = holdInterrupts(() => {
  say("interrupted: cancelling and cleaning up");
  cancelLoads().catch(() => {});
});
const check = () => {
  checkSignal();
  if (interrupted) throw new Error("interrupted");
};

let table = "";
try {
  await db.assertReachable(admin);
  await cleanUp(admin);
  check();
  const orgs = await createFixture(admin);
  const big = orgs[0];
  say(
    `loading ${orgs.length} organization${orgs.length > 1 ? "s" : ""} (${
      fmtInt(MESSAGES)
    } messages, ${CAMPAIGNS} campaigns, ${fmtInt(LEADS)} leads each), one session each`,
  );
  const loadStarted = performance.now();
  const loads = await Promise.allSettled(orgs.map(async (org, i) => {
    try {
      const seconds = await loadOrg(loaders[i], org, check);
      say(
        `  ${org.slug} loaded at ${((performance.now() - loadStarted) / 1000).toFixed(0)} s (${
          Object.entries(seconds).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(", ")
        })`,
      );
    } catch (error) {
      await cancelLoads();
      throw error;
    }
  }));
  const failed = loads.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  check();
  const generatedSeconds = (performance.now() - loadStarted) / 1000;
  say(`generated in ${generatedSeconds.toFixed(0)} s; vacuum analyze`);
  for (const t of [...LOADED_TABLES, "public.campaigns"]) {
    check();
    await admin.unsafe(`vacuum (analyze) ${t}`);
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const ids = orgs.map((o) => o.id);
  const [shape] = await admin`
    select
      (select count(*)::int from public.messages where org_id = any(${ids}::uuid[])) as messages,
      (select count(*)::int from public.messages where org_id = ${big.id}) as big_messages,
      (select count(*)::int from public.campaign_targets where org_id = ${big.id})
        as big_targets,
      (select count(*)::int from public.metric_rollups where org_id = ${big.id}) as big_rollups,
      (select count(*)::int from public.metric_rollups) as rollups`;
  say(
    `loaded in ${loadSeconds.toFixed(0)} s: ${fmtInt(shape.messages)} messages in ${orgs.length} ` +
      `organizations (${fmtInt(shape.big_messages)} in ${BIG_SLUG}: ${
        fmtInt(shape.big_targets)
      } targets, ${fmtInt(shape.big_rollups)} rollup rows; ${
        fmtInt(shape.rollups)
      } rollup rows in all)`,
  );

  const phases: {
    label: string;
    deltas: number;
    times: Map<string, number[]>;
    plans: Map<string, string[]>;
    answers: string;
  }[] = [];

  // Phase 1: everything folded.
  {
    const [{ n }] = await admin`
      select count(*)::int as n from private.metric_deltas where org_id = ${big.id}`;
    const answers = await checkAnswers(admin, big);
    say(`answers match (${answers}); measuring, ${RUNS} runs each, ${n} deltas pending`);
    const times = await measure(pg, big, check);
    const plans = await explainCalls(big);
    phases.push({ label: "folded", deltas: n, times, plans, answers });
  }
  check();

  // Phase 2: deltas not folded yet; pg_cron's fold waits for the lock meanwhile.
  await locker.unsafe(FOLD_LOCK);
  try {
    const n = await writeDeltas(locker, big);
    const answers = await checkAnswers(admin, big);
    say(`${fmtInt(n)} deltas pending; answers match (${answers}); measuring`);
    const times = await measure(pg, big, check);
    const plans = await explainCalls(big);
    const [{ still }] = await admin`
      select count(*)::int as still from private.metric_deltas where org_id = ${big.id}`;
    if (still !== n) throw new Error(`deltas folded during the phase: ${n} → ${still}`);
    phases.push({ label: "unfolded", deltas: n, times, plans, answers });
    const [{ folded }] = await locker`select private.fold_metrics() as folded`;
    say(`folded ${fmtInt(Number(folded))} deltas`);
  } finally {
    await locker.unsafe(FOLD_UNLOCK).catch(() => {});
  }

  // The table.
  const rows: string[] = [];
  for (const phase of phases) {
    const med = (key: string) => percentile(phase.times.get(key)!, 50);
    for (const c of CASES) {
      const xs = phase.times.get(c.key)!;
      const m = med(c.key);
      const isCall = CALLS.includes(c.key);
      rows.push(
        `| ${c.label} | ${fmtInt(phase.deltas)} | ${fmtMs(m)} | ${fmtMs(percentile(xs, 99))} | ${
          (m / med("one")).toFixed(1)
        } | ${(m / med("sum")).toFixed(1)} | ${isCall ? (m < GOAL_MS ? "yes" : "no") : "—"} |`,
      );
    }
  }
  const notes: string[] = [];
  for (const phase of phases) {
    for (const key of ["sumRls", ...CALLS]) {
      if (key === "sumRls" && phase !== phases[0]) continue;
      const c = CASES.find((c) => c.key === key)!;
      const lines = summarise(phase.plans.get(key) ?? [], c.sql);
      console.log(
        `\nauto_explain, ${phase.label}, ${c.label}:\n\n${
          (phase.plans.get(key) ?? []).join("\n\n")
        }`,
      );
      // The statement that does the work: the slowest one.
      const slowest = lines.sort((a, b) => b.ms - a.ms)[0];
      const name = key === "sumRls"
        ? "raw sum under RLS"
        : `${c.label.split(",")[0]}${key === "dashboard" ? "" : ` ${key}`}`;
      if (slowest) notes.push(`${name}, ${phase.label}: ${slowest.text}`);
    }
  }
  const calls = phases.flatMap((p) => CALLS.map((k) => percentile(p.times.get(k)!, 50)));
  const met = calls.every((m) => m < GOAL_MS);
  table = [
    `An organization with ${
      fmtInt(shape.big_messages)
    } messages over 90 days and ${CAMPAIGNS} campaigns${
      OTHERS > 0
        ? ` (and ${OTHERS} other organization${OTHERS > 1 ? "s" : ""} with as many: ${
          fmtInt(shape.messages)
        } messages in all)`
        : ""
    }, read by a campaign manager under RLS as PostgREST calls an RPC, median and p99 of ${RUNS} interleaved runs each, right after a fold and with deltas not folded yet (${
      new Date().toISOString().slice(0, 10)
    }; load ${loadSeconds.toFixed(0)} s)`,
    "",
    "| call | deltas not folded | median ms | p99 ms | × select 1 | × raw sum (ceiling) | goal met |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows,
    "",
    `Goal: median < ${GOAL_MS} ms: ${met ? "met" : "not met"} (slowest median ${
      fmtMs(Math.max(...calls))
    } ms). Answers matched counts from public.messages and public.campaign_targets in both phases (folded: ${
      phases[0].answers
    }). The ${
      fmtInt(phases[1].deltas)
    } deltas: outbound messages inserted as sent into the biggest campaign and moved to delivered, and replies attributed by the trigger. Plans (auto_explain, ANALYZE, so slower than the medians; each call's slowest statement, the tables it scans with the rows returned): ${
      notes.join("; ")
    }.`,
  ].join("\n");
  console.log(`\n${table}`);
} finally {
  await Promise.all([pg, locker, ...loaders].map((s) => s.end({ timeout: 5 })));
  try {
    if (KEEP) {
      say(`--keep: the bench organizations stay (${SLUGS.join(", ")}); the next run removes them`);
    } else {
      say("cleaning up: removing the bench organizations, everything of theirs and the user");
      const cleanStarted = performance.now();
      await cleanUp(admin);
      for (const t of LOADED_TABLES) await admin.unsafe(`vacuum (analyze) ${t}`);
      say(`cleaned up in ${((performance.now() - cleanStarted) / 1000).toFixed(1)} s`);
    }
  } finally {
    await admin.end({ timeout: 5 });
    // Until here a Ctrl-C only cancels: the clean-up must finish.
    release();
  }
}

if (Deno.args.includes("--write") && table) await writeResults("dashboards", table);
