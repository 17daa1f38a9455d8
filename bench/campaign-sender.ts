/**
 * The sender (issue 5): how fast the claim takes targets, and whether campaign-tick keeps
 * every sending number at its rate, end to end through the Twilio sandbox.
 *
 * 1. Claim throughput. 1,000,000 pending targets of one running campaign (leads and targets
 *    generated in the database as supabase_admin, without triggers: the values are generated
 *    already valid, New York leads) in a scratch organization with 100 sending numbers at
 *    1,000 messages per second and no daily cap, so slots never run out. N = 1,000 targets are
 *    claimed by `private.claim_targets(N, '30 seconds', at)` (as sms_system, as the tick
 *    calls it; `at` is noon in New York today, passed explicitly, so every window rule is
 *    evaluated, and open), against a bare `select … for update skip locked limit N` of pending
 *    targets plus an update of the same rows to claimed (the queue with no rule at all), in
 *    the same run. Each claim runs in a transaction that is rolled back, so every one of them
 *    takes the same first rows of the queue; the two alternate, order flipping, after a
 *    warm-up; medians. Twice: leads without a sticky number (the claim picks one for each;
 *    the lead keeps it once a send is recorded) and leads that already have one. Goal: claim throughput at least
 *    half the bare queue's (bare ms ÷ claim ms ≥ 0.5).
 *
 * 2. End to end. Another scratch organization with 100 numbers at 10 messages per second
 *    (1,000/s in all), leads in a US zone whose window is open now, a campaign started with
 *    `private.change_campaign_status(id, 'start')` (targets materialised as in production),
 *    then POST /functions/v1/campaign-tick on a gateway process of the bench's own
 *    (local/functions-server.ts under local/function-limits.ts, as the stack runs it, with
 *    the run's TICK_BUDGET_MS, TICK_BATCH_SIZE and TICK_CONCURRENCY), one or several ticks at
 *    once. The sandbox's record of each accepted message (its `accepted_at`, to the
 *    millisecond; `date_created` has whole seconds) gives messages per second over the steady
 *    part (the first and last 2 s left out) and, per From number, the most messages reaching
 *    it in any sliding one-second window (and in any calendar second of `date_created`);
 *    each tick's report gives the most requests it started per number in any sliding second
 *    (`busiestSecond`), which the pacing goal is judged on. The sandbox's
 *    status callbacks are held back for 60 s during a run (and dropped after it), so the
 *    measurement is the sender's alone; its other settings are restored at the end. Goals:
 *    ≥ 95% of 1,000/s; no number ever above its 10 per second. Every lead must get exactly
 *    one message. Beside each run: CPU used by the gateway, the sandbox and Postgres, how late
 *    messages reached the sandbox after their slot, and the share of slot time the numbers
 *    sat idle between claims, which says where the time went.
 *
 * Prints markdown tables; `--write` records them in bench/RESULTS.md (between the
 * campaign-sender markers). `--targets N` changes the size of the claim queue (default
 * 1,000,000), `--e2e-seconds S` the length of each end-to-end run (default 25),
 * `--skip-claim` / `--skip-e2e` run one half.
 *
 * Needs the running dev stack (npm run up). Both organizations (slugs bench-sender-*) and
 * everything of theirs are removed at the end, also on error or Ctrl-C, without triggers.
 */
import postgres from "postgres";
import { startGatewayProcess } from "../tests/support/gateway-process.ts";
import { stackEnv } from "../tests/support/stack.ts";
import { openPlace } from "../tests/support/tick-scenario.ts";
import { argValue, holdInterrupts, median, percentile, removeOrganizations } from "./bench-util.ts";
import { devDatabase } from "./dev-database.ts";
import { cpuSeconds, postgresPids } from "./process-cpu.ts";
import { writeResults } from "./results.ts";

const CLAIM_N = 1_000;
const WARMUP = 2;
const ITERATIONS = 9;
const GOAL_CLAIM_RATIO = 0.5;
const GOAL_E2E_SHARE = 0.95;
const NUMBERS = 100;
const E2E_MPS = 10;
const TRIM_MS = 2_000;
const CLAIM_SLUG = "bench-sender-claim";
const E2E_SLUG = "bench-sender-e2e";
/** 60 s (the sandbox's longest latency): no status callback fires during a run. */
const CALLBACK_HOLD_MS = 60_000;

const TARGETS = Number(argValue("--targets") ?? 1_000_000);
if (!Number.isInteger(TARGETS) || TARGETS < 20 * CLAIM_N) {
  throw new Error(`--targets must be an integer ≥ ${20 * CLAIM_N}`);
}
const E2E_SECONDS = Number(argValue("--e2e-seconds") ?? 25);
if (!(E2E_SECONDS >= 5 && E2E_SECONDS <= 100)) throw new Error("--e2e-seconds: 5 to 100");
const RUN_CLAIM = !Deno.args.includes("--skip-claim");
const RUN_E2E = !Deno.args.includes("--skip-e2e");

/** The end-to-end configurations: ticks at once (started `staggerMs` apart) and tick env. */
const E2E_RUNS = [
  { ticks: 1, staggerMs: 0, batch: 1000, concurrency: 100, note: "defaults" },
  { ticks: 1, staggerMs: 0, batch: 500, concurrency: 100, note: "" },
  // As pg_cron's ticks overlap: the next one starts while the last one still sends.
  { ticks: 2, staggerMs: 10_000, batch: 1000, concurrency: 100, note: "overlapping" },
] as const;

const say = (line: string) => console.error(`» ${line}`);
const fmtInt = (n: number) => Math.round(n).toLocaleString("en");

// -----------------------------------------------------------------------------
// Connections: supabase_admin over the unix socket (loading, clean-up), postgres over
// TCP (as functions connect) for the measurement.
// -----------------------------------------------------------------------------

const env = stackEnv() as Record<string, string>;
const db = devDatabase();
for (const name of ["CAMPAIGN_TICK_SECRET", "TWILIO_API_BASE"]) {
  if (!env[name]) throw new Error(`.local/env lacks ${name}: restart the dev stack`);
}
const sandboxUrl = env.TWILIO_API_BASE.replace(/\/+$/, "");
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(sandboxUrl)) {
  throw new Error(`TWILIO_API_BASE is not the local sandbox: ${sandboxUrl}`);
}

// -----------------------------------------------------------------------------
// Set-up and clean-up
// -----------------------------------------------------------------------------

async function cleanUp(sql: postgres.Sql): Promise<void> {
  await removeOrganizations(sql, [CLAIM_SLUG, E2E_SLUG]);
}

/** An organization with `NUMBERS` sending numbers at `mps`, a template and a variant. */
async function createOrg(
  sql: postgres.Sql,
  slug: string,
  mps: number,
  area: string,
  exchange: number,
): Promise<{ org: string; template: string; variant: string; numbers: string[] }> {
  return await sql.begin(async (tx) => {
    const [org] = await tx`
      insert into public.organizations (name, slug, campaign_message_interval)
      values (${"Bench " + slug}, ${slug}, interval '0')
      returning id`;
    const numbers = await tx`
      insert into public.phone_numbers (org_id, phone, twilio_sid, messages_per_second)
      select ${org.id}, '+1' || ${area} || ${exchange} || lpad(n::text, 4, '0'),
        'PN' || md5(${slug} || n), ${mps}
      from generate_series(1, ${NUMBERS}) n
      returning id, phone`;
    const [template] = await tx`
      insert into public.templates (org_id, name) values (${org.id}, 'Open house')
      returning id`;
    const [variant] = await tx`
      insert into public.template_variants (org_id, template_id, label, body)
      values (${org.id}, ${template.id}, 'A', 'Hi {{first_name|there}}, open house Saturday!')
      returning id`;
    return {
      org: org.id,
      template: template.id,
      variant: variant.id,
      numbers: numbers.map((n) => n.phone as string),
    };
  });
}

// -----------------------------------------------------------------------------
// 1. Claim throughput
// -----------------------------------------------------------------------------

/**
 * `TARGETS` New York leads (212 numbers, exchanges 200–300 without 211) and one target each
 * of a running campaign, generated set-based without triggers: what the leads trigger and
 * the campaign's start would have written.
 */
async function loadClaimQueue(
  sql: postgres.Sql,
  fixture: { org: string; template: string; variant: string },
): Promise<string> {
  await sql`set session_replication_role = replica`;
  await sql`set synchronous_commit = off`;
  let campaign: postgres.Row;
  try {
    await sql`
      insert into public.leads (org_id, phone, first_name, state, zip, time_zone, zip_time_zone,
        phone_time_zone, tags, status)
      select ${fixture.org},
        '+1212' || (200 + g.i / 10000 + (g.i / 10000 >= 11)::int)::text
          || lpad((g.i % 10000)::text, 4, '0'),
        'Lead ' || g.i, 'NY', '10001', 'America/New_York', 'America/New_York',
        'America/New_York', '{bench}', 'new'
      from generate_series(0, ${TARGETS - 1}) g (i)`;
    [campaign] = await sql`
      insert into public.campaigns (org_id, name, template_id, audience, send_window_start,
        send_window_end, status, started_at)
      values (${fixture.org}, 'Bench claim', ${fixture.template}, '{"tags": ["bench"]}',
        '00:00', '23:59:59', 'running', now())
      returning id`;
    await sql`
      insert into public.campaign_targets (org_id, campaign_id, lead_id, phone,
        template_variant_id)
      select l.org_id, ${campaign.id}, l.id, l.phone, ${fixture.variant}
      from public.leads l
      where l.org_id = ${fixture.org}
      order by l.created_at, l.id`;
  } finally {
    await sql`set session_replication_role = origin`;
    await sql`set synchronous_commit = on`;
  }
  await sql`analyze public.leads`;
  await sql`analyze public.campaign_targets`;
  return campaign.id as string;
}

/**
 * The claim as the tick runs it (as sms_system), then, in the same transaction, the render
 * of what it claimed (timed on its own); rolled back. Ms and rows of each.
 */
async function timedClaim(
  sql: postgres.Sql,
  org: string,
  campaign: string,
  at: Date,
): Promise<{ ms: number; rows: number; renderMs: number; rendered: number }> {
  let result = { ms: 0, rows: 0, renderMs: 0, rendered: 0 };
  await sql.begin(async (tx) => {
    await tx`select set_config('role', 'sms_system', true)`;
    const started = performance.now();
    const [row] = await tx`
      select count(*)::int as n from private.claim_targets(${CLAIM_N}, interval '30 seconds',
        ${at})`;
    const ms = performance.now() - started;
    await tx`reset role`;
    const [claims] = await tx`
      select array_agg(id order by id) as ids, array_agg(claim_token order by id) as tokens
      from public.campaign_targets
      where org_id = ${org} and campaign_id = ${campaign} and status = 'claimed'`;
    await tx`select set_config('role', 'sms_system', true)`;
    const renderStarted = performance.now();
    const [render] = await tx`
      select count(*)::int as n from private.render_claims(${claims.ids}::bigint[],
        ${claims.tokens}::uuid[])`;
    result = { ms, rows: row.n, renderMs: performance.now() - renderStarted, rendered: render.n };
    throw new Rollback();
  }).catch(ignoreRollback);
  return result;
}

/** The queue with no rule: the first N pending rows, locked and marked claimed; rolled back. */
async function timedBare(
  sql: postgres.Sql,
  org: string,
  campaign: string,
  at: Date,
): Promise<{ ms: number; rows: number }> {
  let result = { ms: 0, rows: 0 };
  await sql.begin(async (tx) => {
    const started = performance.now();
    const [row] = await tx`
      with taken as (
        select t.id from public.campaign_targets t
        where t.org_id = ${org} and t.campaign_id = ${campaign} and t.status = 'pending'
          and t.not_before <= ${at}
        order by t.not_before, t.id
        limit ${CLAIM_N}
        for update skip locked
      ),
      claimed as (
        update public.campaign_targets t
        set status = 'claimed', claim_token = gen_random_uuid(), claimed_at = ${at},
          lease_expires_at = ${at}::timestamptz + interval '30 seconds',
          attempts = t.attempts + 1
        from taken
        where t.id = taken.id
        returning t.id
      )
      select count(*)::int as n from claimed`;
    result = { ms: performance.now() - started, rows: row.n };
    throw new Rollback();
  }).catch(ignoreRollback);
  return result;
}

class Rollback extends Error {}
function ignoreRollback(error: unknown): void {
  if (!(error instanceof Rollback)) throw error;
}

interface ClaimCase {
  name: string;
  claimMs: number;
  bareMs: number;
  renderMs: number;
}

/** Claim and bare queue alternating, the order flipping each round; medians. */
async function measureClaims(
  sql: postgres.Sql,
  org: string,
  campaign: string,
  at: Date,
  name: string,
): Promise<ClaimCase> {
  const times = { claim: [] as number[], bare: [] as number[], render: [] as number[] };
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    check();
    const order = i % 2 ? ["bare", "claim"] as const : ["claim", "bare"] as const;
    for (const kind of order) {
      if (kind === "claim") {
        const { ms, rows, renderMs, rendered } = await timedClaim(sql, org, campaign, at);
        if (rows !== CLAIM_N || rendered !== CLAIM_N) {
          throw new Error(
            `the claim took ${rows} targets and rendered ${rendered}, not ${CLAIM_N}`,
          );
        }
        if (i >= WARMUP) times.claim.push(ms), times.render.push(renderMs);
      } else {
        const { ms, rows } = await timedBare(sql, org, campaign, at);
        if (rows !== CLAIM_N) {
          throw new Error(`bare took ${rows} targets, not ${CLAIM_N} (${name})`);
        }
        if (i >= WARMUP) times.bare.push(ms);
      }
    }
  }
  return {
    name,
    claimMs: median(times.claim),
    bareMs: median(times.bare),
    renderMs: median(times.render),
  };
}

async function claimBench(admin: postgres.Sql, pg: postgres.Sql): Promise<string> {
  const fixture = await createOrg(admin, CLAIM_SLUG, 1000, "212", 990);
  say(`loading ${fmtInt(TARGETS)} leads and pending targets into ${CLAIM_SLUG}`);
  const loadStarted = performance.now();
  const campaign = await loadClaimQueue(admin, fixture);
  const loadS = (performance.now() - loadStarted) / 1000;
  say(`loaded in ${loadS.toFixed(0)} s`);
  check();

  // Noon in New York today: every window (federal, state, the campaign's 00:00–23:59:59)
  // open at the claim and at the end of its lease.
  const [{ at, open }] = await admin`
    with t as (
      select (date_trunc('day', now() at time zone 'America/New_York') + interval '12 hours')
        at time zone 'America/New_York' as at
    )
    select t.at, private.send_window_open(private.lead_time_zones('America/New_York',
        '+12122000000'), 'NY', '00:00', '23:59:59', '{1,2,3,4,5,6,7}', t.at)
      and private.send_window_open(private.lead_time_zones('America/New_York',
        '+12122000000'), 'NY', '00:00', '23:59:59', '{1,2,3,4,5,6,7}',
        t.at + interval '30 seconds') as open
    from t`;
  if (!open) throw new Error(`the New York window is not open at ${at.toISOString()}`);

  const cases: ClaimCase[] = [];
  say("claims: leads without a sticky number");
  cases.push(
    await measureClaims(pg, fixture.org, campaign, at, "new leads (a number picked for each)"),
  );

  // The same first rows again, their leads now with the number the claim gives them.
  const sticky = await admin.begin(async (tx) => {
    await tx`select set_config('role', 'sms_system', true)`;
    const rows = await tx`
      select lead_id, phone_number_id from private.claim_targets(${CLAIM_N * 5},
        interval '30 seconds', ${at})`;
    throw Object.assign(new Rollback(), { rows });
  }).catch((error) => {
    if (error instanceof Rollback) return (error as Rollback & { rows: postgres.Row[] }).rows;
    throw error;
  });
  await admin.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`
      update public.leads l set phone_number_id = s.number
      from unnest(${sticky.map((r) => r.lead_id)}::uuid[],
        ${sticky.map((r) => r.phone_number_id)}::uuid[]) s (lead, number)
      where l.org_id = ${fixture.org} and l.id = s.lead`;
  });
  await admin`vacuum analyze public.leads`;
  say(`claims: leads with a sticky number (${fmtInt(sticky.length)} leads given one)`);
  cases.push(await measureClaims(pg, fixture.org, campaign, at, "leads with a sticky number"));

  // The queue must be untouched (every claim was rolled back).
  const [{ pending }] = await admin`
    select count(*)::int as pending from public.campaign_targets
    where org_id = ${fixture.org} and status = 'pending'`;
  if (pending !== TARGETS) throw new Error(`${pending} targets pending, not ${TARGETS}`);

  const rows = cases.map((c) => {
    const ratio = c.bareMs / c.claimMs;
    return `| ${c.name} | ${c.claimMs.toFixed(1)} | ${c.bareMs.toFixed(1)} | ${
      fmtInt(CLAIM_N / c.claimMs * 1000)
    } | ${fmtInt(CLAIM_N / c.bareMs * 1000)} | ${ratio.toFixed(2)} | ${
      ratio >= GOAL_CLAIM_RATIO ? "yes" : "no"
    } | ${c.renderMs.toFixed(1)} | ${(c.bareMs / (c.claimMs + c.renderMs)).toFixed(2)} |`;
  });
  const costOfSticky = cases[0].claimMs - cases[1].claimMs;
  return [
    `Claims of ${fmtInt(CLAIM_N)} targets from ${
      fmtInt(TARGETS)
    } pending (one running campaign, ${NUMBERS} numbers at 1,000/s, New York leads, \`at\` = noon in New York): \`private.claim_targets\` as sms_system against a bare \`for update skip locked\` + update to claimed, each rolled back, median of ${ITERATIONS} interleaved runs each; then, in the claim's transaction, \`private.render_claims\` of what it claimed, timed on its own (${
      new Date().toISOString().slice(0, 10)
    }; load ${loadS.toFixed(0)} s)`,
    "",
    "| leads | claim ms | bare ms | claim targets/s | bare targets/s | claim ÷ bare throughput | goal met | render ms | claim + render ÷ bare |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ...rows,
    "",
    `Goal: claim throughput ≥ ${GOAL_CLAIM_RATIO} × the bare queue's. Picking a number for ${
      fmtInt(CLAIM_N)
    } leads without one costs ${
      costOfSticky.toFixed(1)
    } ms of the claim. The render (the text of each claim, which the tick calls right after the claim in the same transaction; the text is kept on the target with its outcome) is not a sending rule and is shown on its own: the last column is the bare queue against claim and render together.`,
  ].join("\n");
}

// -----------------------------------------------------------------------------
// 2. End to end through the sandbox
// -----------------------------------------------------------------------------

function sandboxPid(): number {
  const recorded: { name: string; pid: number }[] = JSON.parse(
    Deno.readTextFileSync(`${env.LOCAL_PROFILE_DIR}/pids.json`),
  );
  const entry = recorded.find((s) => s.name === "twilio");
  if (!entry) throw new Error("the dev stack's pids.json lists no twilio sandbox");
  return entry.pid;
}

async function sandbox(path: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(`${sandboxUrl}/_sandbox/${path}`, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

const configureSandbox = (patch: Record<string, unknown>) =>
  sandbox("config", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(patch),
  });

interface SandboxMessage {
  from: string;
  to: string;
  date_created: string;
  accepted_at: string;
}

interface TickAnswer {
  claimed: number;
  sent: number;
  failed: Record<string, number>;
  unknown: number;
  released: number;
  pausedNumbers: string[];
  accountStopped: string | null;
  busiestSecond: { from: string; starts: number } | null;
}

interface E2eResult {
  label: string;
  sent: number;
  steadyRate: number;
  overallRate: number;
  /** Requests one number started in one second, at most (the ticks' own count). */
  maxStarted: number;
  maxSliding: number;
  maxCalendar: number;
  duplicates: number;
  missing: number;
  lateP50: number;
  lateP99: number;
  idleShare: number;
  cpu: { gateway: number; sandbox: number; postgres: number };
  ticks: TickAnswer[];
}

/** Most timestamps in any window [t, t + 1000 ms) of a sorted list, and where it starts. */
function maxInSlidingSecond(sorted: number[]): { count: number; from: number } {
  let best = { count: 0, from: 0 };
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j] - sorted[i] >= 1000) i++;
    if (j - i + 1 > best.count) best = { count: j - i + 1, from: i };
  }
  return best;
}

async function e2eRun(
  admin: postgres.Sql,
  fixture: { org: string; template: string; numbers: string[] },
  place: { zip: string; area: string; state: string },
  run: (typeof E2E_RUNS)[number],
  index: number,
): Promise<E2eResult> {
  const label = `${run.ticks} tick${run.ticks > 1 ? `s (${run.staggerMs} ms apart)` : ""}, batch ${
    fmtInt(run.batch)
  }, concurrency ${run.concurrency}${run.note ? ` (${run.note})` : ""}`;
  const leads = E2E_SECONDS * NUMBERS * E2E_MPS;
  const tag = `run${index}`;
  // Distinct numbers per run: exchanges 400 + 20 × run onwards (10 at most, none N11),
  // subscribers 0000–9999 in each.
  await admin`
    insert into public.leads (org_id, phone, first_name, state, zip, tags)
    select ${fixture.org},
      '+1' || ${place.area} || (400 + ${index} * 20 + g.i / 10000)::text
        || lpad((g.i % 10000)::text, 4, '0'),
      'Lead ' || g.i, ${place.state}, ${place.zip}, array[${tag}]
    from generate_series(0, ${leads - 1}) g (i)`;
  const [campaign] = await admin`
    insert into public.campaigns (org_id, name, template_id, audience, send_window_start,
      send_window_end)
    values (${fixture.org}, ${"Bench " + tag}, ${fixture.template},
      ${admin.json({ tags: [tag] })}, '00:00', '23:59:59')
    returning id`;
  await admin`analyze public.leads`;
  await admin`select private.change_campaign_status(${campaign.id}, 'start')`;
  await admin`analyze public.campaign_targets`;

  const budgetMs = (2 * E2E_SECONDS + 10) * 1000;
  const gateway = await startGatewayProcess({
    LOG_LEVEL: "warn",
    TICK_BUDGET_MS: String(budgetMs),
    TICK_BATCH_SIZE: String(run.batch),
    TICK_CONCURRENCY: String(run.concurrency),
  });
  const sbPid = sandboxPid();
  let ticks: TickAnswer[];
  let cpu: E2eResult["cpu"];
  try {
    await sandbox("messages", { method: "DELETE" });
    // A first call warms the function up (module load, connections) and claims nothing
    // of ours yet: the campaign is paused for it.
    await admin`select private.change_campaign_status(${campaign.id}, 'pause')`;
    await tick(gateway.base);
    await admin`select private.change_campaign_status(${campaign.id}, 'resume')`;
    // After the warm-up: the gateway's connections are backends by now.
    const pgPids = postgresPids(db.postmasterPid());
    const before = {
      gateway: cpuSeconds([gateway.pid]),
      sandbox: cpuSeconds([sbPid]),
      postgres: cpuSeconds(pgPids),
    };
    const started = performance.now();
    ticks = await Promise.all(
      Array.from({ length: run.ticks }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * run.staggerMs));
        return await tick(gateway.base);
      }),
    );
    const wallS = (performance.now() - started) / 1000;
    cpu = {
      gateway: (cpuSeconds([gateway.pid]) - before.gateway) / wallS,
      sandbox: (cpuSeconds([sbPid]) - before.sandbox) / wallS,
      postgres: (cpuSeconds(pgPids) - before.postgres) / wallS,
    };
  } finally {
    await gateway.stop();
    // What the budget left unsent must not go out in the next run.
    await admin`
      select private.change_campaign_status(${campaign.id}, 'cancel', 'benchmark run over')
      from public.campaigns where id = ${campaign.id} and status in ('running', 'paused')`;
  }

  const { messages } = await sandbox("messages") as { messages: SandboxMessage[] };
  await sandbox("messages", { method: "DELETE" });
  const ours = new Set(fixture.numbers);
  const sent = messages.filter((m) => ours.has(m.from));
  const perTo = new Map<string, number>();
  for (const m of sent) perTo.set(m.to, (perTo.get(m.to) ?? 0) + 1);
  const duplicates = [...perTo.values()].filter((n) => n > 1).length;

  const times = sent.map((m) => Date.parse(m.accepted_at)).sort((a, b) => a - b);
  const first = times[0];
  const last = times.at(-1)!;
  const steady = times.filter((t) => t >= first + TRIM_MS && t <= last - TRIM_MS);
  const steadyRate = steady.length / ((last - first - 2 * TRIM_MS) / 1000);
  const overallRate = times.length / ((last - first) / 1000);

  const byFrom = new Map<string, { accepted: number[]; created: string[] }>();
  for (const m of sent) {
    const entry = byFrom.get(m.from) ?? { accepted: [], created: [] };
    entry.accepted.push(Date.parse(m.accepted_at));
    entry.created.push(m.date_created);
    byFrom.set(m.from, entry);
  }
  let maxSliding = 0;
  let maxCalendar = 0;
  let worst = { from: "", at: 0 };
  for (const [from, { accepted, created }] of byFrom) {
    accepted.sort((a, b) => a - b);
    const window = maxInSlidingSecond(accepted);
    if (window.count > maxSliding) worst = { from, at: accepted[window.from] };
    maxSliding = Math.max(maxSliding, window.count);
    const perSecond = new Map<string, number>();
    for (const c of created) perSecond.set(c, (perSecond.get(c) ?? 0) + 1);
    maxCalendar = Math.max(maxCalendar, ...perSecond.values());
  }

  // How late each message reached the sandbox after its slot, and the numbers' idle time:
  // gaps between consecutive slots of a number beyond its spacing.
  const targets = await admin`
    select t.not_before, t.claimed_at, t.phone_number_id, t.status, m.twilio_sid
    from public.campaign_targets t
    left join public.messages m on m.org_id = t.org_id and m.campaign_target_id = t.id
    where t.org_id = ${fixture.org} and t.campaign_id = ${campaign.id}`;
  const missing = targets.filter((t) => t.status !== "sent").length;
  const sandboxBySid = new Map(
    (messages as (SandboxMessage & { sid: string })[]).map((m) => [m.sid, m]),
  );
  const late: number[] = [];
  const slotsByNumber = new Map<string, number[]>();
  for (const t of targets) {
    if (t.status !== "sent") continue;
    const m = sandboxBySid.get(t.twilio_sid);
    if (m) late.push(Date.parse(m.accepted_at) - t.not_before.getTime());
    const slots = slotsByNumber.get(t.phone_number_id) ?? [];
    slots.push(t.not_before.getTime());
    slotsByNumber.set(t.phone_number_id, slots);
  }
  // The busiest second of the busiest number: each message's slot, arrival and claim.
  const bySid = new Map(targets.map((t) => [t.twilio_sid as string, t]));
  const busiest = sent
    .filter((m) => {
      const at = Date.parse(m.accepted_at);
      return m.from === worst.from && at >= worst.at && at < worst.at + 1000;
    })
    .map((m) => {
      const t = bySid.get((m as SandboxMessage & { sid: string }).sid);
      return `slot ${t?.not_before.toISOString().slice(17, 23)} arrived ${
        m.accepted_at.slice(17, 23)
      } (claim ${t?.claimed_at.toISOString().slice(17, 23)})`;
    });
  say(`  busiest second of ${worst.from}: ${busiest.join("; ")}`);
  const spacing = 1000 / E2E_MPS;
  let idle = 0;
  let span = 0;
  for (const slots of slotsByNumber.values()) {
    slots.sort((a, b) => a - b);
    span += slots.at(-1)! - slots[0] + spacing;
    for (let i = 1; i < slots.length; i++) idle += Math.max(0, slots[i] - slots[i - 1] - spacing);
  }

  return {
    label,
    sent: sent.length,
    steadyRate,
    overallRate,
    maxStarted: Math.max(0, ...ticks.map((t) => t.busiestSecond?.starts ?? 0)),
    maxSliding,
    maxCalendar,
    duplicates,
    missing,
    lateP50: percentile(late, 50),
    lateP99: percentile(late, 99),
    idleShare: span > 0 ? idle / span : 0,
    cpu,
    ticks,
  };
}

async function tick(url: string): Promise<TickAnswer> {
  const response = await fetch(`${url}/functions/v1/campaign-tick`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.CAMPAIGN_TICK_SECRET}` },
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`campaign-tick answered ${response.status}: ${text}`);
  }
  return JSON.parse(text);
}

async function e2eBench(admin: postgres.Sql): Promise<string> {
  const minutes = Math.ceil(E2E_RUNS.length * (E2E_SECONDS + 30) / 60) + 2;
  const place = await openPlace(admin, minutes);
  if (!place) {
    say("end to end: no US zone has its window open for the next minutes; skipped");
    return "End to end: skipped (no US zone had its window open for the whole run).";
  }
  const fixture = await createOrg(admin, E2E_SLUG, E2E_MPS, place.area, 991);
  const savedConfig = await sandbox("config") as Record<string, unknown>;
  const restore: Record<string, unknown> = {};
  for (
    const key of [
      "latency_ms",
      "max_mps_per_from",
      "rate_limit_429",
      "server_error_rate",
      "response_delay_ms",
    ]
  ) restore[key] = savedConfig[key];
  const results: E2eResult[] = [];
  try {
    await configureSandbox({
      latency_ms: { min: CALLBACK_HOLD_MS, max: CALLBACK_HOLD_MS },
      max_mps_per_from: null,
      rate_limit_429: 0,
      server_error_rate: 0,
      response_delay_ms: 0,
    });
    for (const [i, run] of E2E_RUNS.entries()) {
      check();
      say(`end to end: ${run.ticks} tick(s), batch ${run.batch} (${place.state} leads)`);
      const result = await e2eRun(admin, fixture, place, run, i);
      say(
        `  ${fmtInt(result.sent)} sent, ${
          fmtInt(result.steadyRate)
        }/s steady, max ${result.maxStarted} started / ${result.maxSliding} arrived per number in 1 s; ticks: ${
          JSON.stringify(result.ticks)
        }`,
      );
      results.push(result);
    }
  } finally {
    await sandbox("messages", { method: "DELETE" }).catch(() => {});
    await configureSandbox(restore).catch((error) =>
      say(`could not restore the sandbox's config: ${error}`)
    );
  }

  const target = NUMBERS * E2E_MPS;
  const rows = results.map((r) =>
    `| ${r.label} | ${fmtInt(r.sent)} | ${fmtInt(r.steadyRate)} | ${
      (100 * r.steadyRate / target).toFixed(1)
    }% | ${r.steadyRate >= GOAL_E2E_SHARE * target ? "yes" : "no"} | ${r.maxStarted} | ${
      r.maxStarted <= E2E_MPS ? "yes" : "no"
    } | ${r.maxSliding} | ${r.maxCalendar} | ${r.duplicates} / ${r.missing} | ${
      r.lateP50.toFixed(0)
    } / ${r.lateP99.toFixed(0)} | ${(100 * r.idleShare).toFixed(1)}% | ${
      (100 * r.cpu.gateway).toFixed(0)
    } / ${(100 * r.cpu.sandbox).toFixed(0)} / ${(100 * r.cpu.postgres).toFixed(0)} |`
  );
  return [
    `End to end: ${
      fmtInt(E2E_SECONDS * target)
    } leads (${place.state}) per run, ${NUMBERS} numbers at ${E2E_MPS}/s (${
      fmtInt(target)
    }/s in all), POST /functions/v1/campaign-tick on a gateway of the bench's own, measured by the sandbox's accepted_at (${
      new Date().toISOString().slice(0, 10)
    })`,
    "",
    "| ticks | sent | steady msgs/s | of 1,000/s | goal met | max per number started in 1 s | ≤ 10/s | max per number reaching the sandbox in 1 s (sliding) | in a calendar second | duplicated / not sent | late after slot p50 / p99 ms | numbers idle | CPU % gateway / sandbox / Postgres |",
    "| --- | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `Goals: ≥ ${GOAL_E2E_SHARE * 100}% of ${
      fmtInt(target)
    }/s over the steady part (first and last ${
      TRIM_MS / 1000
    } s left out); no number above ${E2E_MPS} messages in any second: the requests each tick started per number in any sliding second (its report's busiestSecond; overlapping ticks share one sequence of slots per number, spaced for the rate with the start's tolerance). When they reach the sandbox is the loopback's and the sandbox's queueing on top, shown beside: a request delayed more than the slots' 15 ms transit allowance lets the next ones' arrivals bunch up. Numbers idle: the share of each number's slot time with no slot given out (gaps between its consecutive slots beyond 1/${E2E_MPS} s). CPU: per cent of one core over the run (the machine has ${navigator.hardwareConcurrency}).`,
  ].join("\n");
}

// -----------------------------------------------------------------------------
// Run
// -----------------------------------------------------------------------------

const admin = db.connect("supabase_admin", "bench-campaign-sender");
const pg = postgres(env.SUPABASE_DB_URL, {
  max: 1,
  onnotice: () => {},
  connection: { application_name: "bench-campaign-sender" },
});
const { check, release } = holdInterrupts(() =>
  say("interrupted: stopping after this step, then cleaning up")
);

const sections: string[] = [];
try {
  await db.assertReachable(admin);
  await cleanUp(admin);
  if (RUN_CLAIM) {
    sections.push(await claimBench(admin, pg));
    console.log(`\n${sections.at(-1)}`);
    // The claim queue's campaign would compete with the end-to-end one: gone first.
    say("removing the claim queue");
    await cleanUp(admin);
    await admin`vacuum analyze public.leads`;
    await admin`vacuum analyze public.campaign_targets`;
    // The deletes' dirty pages written now, not during the first end-to-end run.
    await admin`checkpoint`;
  }
  check();
  if (RUN_E2E) {
    sections.push(await e2eBench(admin));
    console.log(`\n${sections.at(-1)}`);
  }
} finally {
  await pg.end({ timeout: 5 });
  say("cleaning up: removing the bench organizations and everything of theirs");
  try {
    await cleanUp(admin);
    await admin`vacuum analyze public.leads`;
    await admin`vacuum analyze public.campaign_targets`;
  } finally {
    await admin.end({ timeout: 5 });
    release();
  }
}

if (Deno.args.includes("--write") && sections.length === 2) {
  await writeResults("campaign-sender", sections.join("\n\n"));
}
