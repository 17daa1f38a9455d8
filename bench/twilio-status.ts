/**
 * Status callbacks: how many signed callbacks per second
 * `POST /functions/v1/twilio/status` takes with 1,000,000 messages in the table, against two
 * ceilings measured in the same run through the same kind of server.
 *
 * Set-up. A scratch organization (slug bench-status) with 10 sending numbers and 1,000,000
 * outbound messages in status `sent`, generated set-based in the database as supabase_admin
 * without triggers; message i has the SID `'SM' || md5('bench-status:' || i)` (see
 * bench/status-callbacks.ts), so the load generator derives the SIDs itself. The table is
 * vacuumed and analysed after loading, and again before a phase whenever its dead rows or
 * changes near autovacuum's thresholds, so autovacuum never starts during a measured window;
 * every phase starts after a CHECKPOINT.
 *
 * Servers, each a Deno process of its own, started by the bench:
 * - the real route: a functions gateway (local/functions-server.ts under
 *   local/function-limits.ts, as the stack runs it, with the stack's environment: log level
 *   info, as hosted) serving supabase/functions/twilio — signature check, zod parameters,
 *   `private.record_message_status` in one round trip (sessions start as sms_system);
 * - the ceilings: bench/status-ceiling-server.ts, a Hono app with the same route on
 *   Deno.serve under the same V8 limits and the same postgres.js settings, that reads the form
 *   body and answers the same empty TwiML doing (a) nothing else, or (b) one indexed
 *   single-row `update public.messages set status_times = status_times where twilio_sid = $1`
 *   in autocommit.
 *
 * Load: bench/load-generator.ts, a separate process on loopback, posting form-encoded
 * callbacks signed with the `twilio` package over the URL the function checks (SUPABASE_URL,
 * or PUBLIC_BASE_URL, + /functions/v1/twilio/status) on keep-alive connections: per message,
 * its final status — mostly `delivered`, 6% `undelivered` with ErrorCode 30003 or 30007 —
 * plus 6% duplicates of a recent callback; each phase takes its messages from a range of a
 * permutation of the whole table no other phase uses (scattered pages, every message moved
 * forward once). Every phase runs a warm-up (`--warmup`, default 3 s) before its measured
 * window (`--seconds`, default 10 s).
 *
 * 1. Closed loop (`--concurrency` connections, default 32, each sending as soon as it is
 *    answered): requests per second and p50/p99 latency of the real route and both
 *    ceilings, `--rounds` rounds (default 2) with the order reversed each round; medians.
 *    Goal: real route ≥ 50% of the one-UPDATE ceiling.
 * 2. Open loop at `--rate` requests per second (default 1,000; latency from when each request
 *    was due, so a slow answer delays nothing it should not): the real route, and the
 *    one-UPDATE ceiling beside it. Goal: p99 < 50 ms.
 *
 * `--breakdown` adds closed-loop rows for the steps between the ceiling and the real route
 * (bench/status-ceiling-server.ts: the UPDATE in a transaction shaped as db.asSystem's;
 * record_message_status in autocommit and in that transaction; the gateway's forward and the
 * function's middleware without any SQL), which say where the function's time goes. Beside
 * each row: the server's and Postgres's CPU per request, and the cores busy (load generator,
 * server, Postgres, whole machine) over the measured window. Every answer must be 200, and at
 * the end the messages' statuses and delivery problems must be exactly what the callbacks
 * said.
 *
 * Prints markdown tables; `--write` records them in bench/RESULTS.md (between the
 * twilio-status markers). `--messages N` changes the table size (default 1,000,000).
 *
 * Needs the running dev stack (npm run up). The organization and everything of its are
 * removed at the end, also on error or Ctrl-C, without triggers.
 */
import type postgres from "postgres";
import { GATEWAY_DENO_ARGS } from "../local/function-limits.ts";
import { startGatewayProcess } from "../tests/support/gateway-process.ts";
import { freePort, stackEnv } from "../tests/support/stack.ts";
import { argValue, holdInterrupts, median, removeOrganizations } from "./bench-util.ts";
import { devDatabase } from "./dev-database.ts";
import type { LoadConfig, LoadResult } from "./load-generator.ts";
import { writeResults } from "./results.ts";
import { SENDING_NUMBERS, sidOf } from "./status-callbacks.ts";

const SLUG = "bench-status";
const GOAL_RATIO = 0.5;
const GOAL_P99_MS = 50;
/**
 * Requests per second a phase has fresh messages for: above what these servers answer here.
 * A ceiling that writes may start its list over (it only repeats a no-op UPDATE); a server
 * running record_message_status may not (a repeat is a duplicate, cheaper), and the run stops.
 */
const UPDATE_CEILING_MAX_RPS = 10_000;
const MAX_RPS = 6_000;

function numberArg(name: string, fallback: number, min: number, max: number): number {
  const value = Number(argValue(name) ?? fallback);
  if (!(value >= min && value <= max)) throw new Error(`${name}: ${min} to ${max}`);
  return value;
}
const MESSAGES = numberArg("--messages", 1_000_000, 200_000, 5_000_000);
const SECONDS = numberArg("--seconds", 10, 3, 60);
const WARMUP = numberArg("--warmup", 3, 1, 30);
const CONCURRENCY = numberArg("--concurrency", 32, 1, 256);
const ROUNDS = numberArg("--rounds", 2, 1, 5);
const RATE = numberArg("--rate", 1_000, 10, 10_000);
const BREAKDOWN = Deno.args.includes("--breakdown");

const say = (line: string) => console.error(`» ${line}`);
const fmtInt = (n: number) => Math.round(n).toLocaleString("en");
const ms = (n: number) => n < 10 ? n.toFixed(2) : n.toFixed(1);

const env = stackEnv() as Record<string, string>;
const db = devDatabase();
const postmasterPid = db.postmasterPid();
const signedUrl = `${
  (env.PUBLIC_BASE_URL || env.SUPABASE_URL).replace(/\/+$/, "")
}/functions/v1/twilio/status`;

// -----------------------------------------------------------------------------
// Set-up and clean-up
// -----------------------------------------------------------------------------

async function load(sql: postgres.Sql): Promise<string> {
  const [org] = await sql`
    insert into public.organizations (name, slug) values ('Bench status callbacks', ${SLUG})
    returning id`;
  await sql`
    insert into public.phone_numbers (org_id, phone, twilio_sid, messages_per_second)
    select ${org.id}, '+1646992' || lpad(n::text, 4, '0'), 'PN' || md5(${SLUG} || n), 10
    from generate_series(0, ${SENDING_NUMBERS - 1}) n`;
  await sql`set session_replication_role = replica`;
  await sql`set synchronous_commit = off`;
  try {
    // What the sender records for a campaign message Twilio has accepted and sent, as
    // bench/status-callbacks.ts derives it from i: number i % 10, recipient 212-200-0000 + i,
    // sent over the last week.
    await sql`
      insert into public.messages (org_id, direction, phone_number_id, from_phone, to_phone,
        body, segments, encoding, twilio_sid, status, created_at, updated_at, sent_at,
        status_times)
      select ${org.id}, 'outbound', n.ids[1 + g.i % ${SENDING_NUMBERS}],
        '+1646992' || lpad((g.i % ${SENDING_NUMBERS})::text, 4, '0'),
        '+1212' || (200 + g.i / 10000)::text || lpad((g.i % 10000)::text, 4, '0'),
        'Hi there, open house Saturday 11-2 at 42 Elm St. Reply STOP to opt out.', 1, 'gsm7',
        'SM' || md5(${SLUG} || ':' || g.i), 'sent', t.at, t.at + interval '1 second',
        t.at + interval '1 second',
        jsonb_build_object('queued', t.at, 'sent', t.at + interval '1 second')
      from generate_series(0, ${MESSAGES - 1}) g (i)
      cross join lateral (select now() - (g.i % 604800) * interval '1 second' as at) t
      cross join (
        select array_agg(id order by phone) as ids from public.phone_numbers
        where org_id = ${org.id}
      ) n`;
  } finally {
    await sql`set session_replication_role = origin`;
    await sql`set synchronous_commit = on`;
  }
  // Hint bits and the visibility map set now, not by the first phase's reads.
  await sql`vacuum (analyze) public.messages`;
  await sql`checkpoint`;

  // The SIDs the load generator derives must be the table's.
  const sample = Array.from({ length: 20 }, () => Math.floor(Math.random() * MESSAGES));
  const [{ n }] = await sql`
    select count(*)::int as n from public.messages
    where org_id = ${org.id} and twilio_sid = any(${sample.map((i) => sidOf(SLUG, i))})
      and status = 'sent'`;
  if (n !== sample.length) throw new Error(`${n} of ${sample.length} sampled SIDs found`);
  return org.id as string;
}

/**
 * Before each phase: a VACUUM of its own when the messages' dead rows or changes near
 * autovacuum's thresholds (20% and 10% of the table), so autovacuum does not start during
 * the phase, and a CHECKPOINT, so every phase starts from the same state rather than some
 * meeting the last phase's checkpoint.
 */
async function settle(sql: postgres.Sql): Promise<void> {
  const [s] = await sql`
    select n_dead_tup::int as dead, n_mod_since_analyze::int as changed
    from pg_stat_user_tables where relid = 'public.messages'::regclass`;
  if (s.dead > MESSAGES * 0.05 || s.changed > MESSAGES * 0.04) {
    say(`vacuuming public.messages (${fmtInt(s.dead)} dead rows)`);
    await sql`vacuum (analyze) public.messages`;
  }
  await sql`checkpoint`;
}

// -----------------------------------------------------------------------------
// Servers and load
// -----------------------------------------------------------------------------

interface Server {
  name: string;
  url: string;
  pid: number;
  /** Most requests per second a phase needs fresh messages for; 0: it writes no row. */
  maxRps: number;
  /** Whether it runs record_message_status (callbacks must be fresh and are checked). */
  records: boolean;
  stop(): Promise<void>;
}

const children = new Set<Deno.ChildProcess>();

async function startCeiling(
  mode: string,
  name: string,
  maxRps: number,
  records: boolean,
): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      ...GATEWAY_DENO_ARGS,
      new URL("status-ceiling-server.ts", import.meta.url).pathname,
      "--mode",
      mode,
    ],
    env: { ...env, PORT: String(port) },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  children.add(child);
  let ended = false;
  const status = child.status.then((s) => {
    ended = true;
    children.delete(child);
    return s;
  });
  const url = `http://127.0.0.1:${port}/functions/v1/twilio/status`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      // Any answer (here a 404) says it listens.
      await (await fetch(`http://127.0.0.1:${port}/`)).body?.cancel();
      break;
    } catch {
      if (ended || Date.now() > deadline) {
        if (!ended) child.kill("SIGKILL");
        throw new Error(`status-ceiling-server --mode ${mode} did not start`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    name,
    url,
    pid: child.pid,
    maxRps,
    records,
    async stop() {
      if (!ended) child.kill("SIGTERM");
      await status;
    },
  };
}

async function startRealRoute(): Promise<Server> {
  const gateway = await startGatewayProcess();
  return {
    name: "twilio/status (the function)",
    url: `${gateway.base}/functions/v1/twilio/status`,
    pid: gateway.pid,
    maxRps: MAX_RPS,
    records: true,
    stop: () => gateway.stop(),
  };
}

/** The next unused range of the permutation (bench/status-callbacks.ts). */
let nextRange = 0;
function takeRange(count: number): number {
  const from = nextRange;
  nextRange += count;
  if (nextRange > MESSAGES) {
    throw new Error(`the phases need more than ${fmtInt(MESSAGES)} messages: use --messages`);
  }
  return from;
}

const kindsSent = { delivered: 0, undelivered: 0, duplicate: 0 };

async function runLoad(
  server: Server,
  mode: "closed" | "open",
  seed: number,
): Promise<LoadResult> {
  // Enough callbacks for the server's maxRps (or the open loop's rate) over the whole
  // phase; a server that writes nothing takes the first range, over and over.
  const writes = server.maxRps > 0;
  const count = Math.ceil(
    (mode === "open" ? RATE * 1.05 : (server.maxRps || MAX_RPS)) * (WARMUP + SECONDS) + 1000,
  );
  const config: LoadConfig = {
    url: server.url,
    callbacks: {
      slug: SLUG,
      total: MESSAGES,
      from: writes ? takeRange(count) : 0,
      count,
      accountSid: env.TWILIO_ACCOUNT_SID,
      authToken: env.TWILIO_AUTH_TOKEN,
      signedUrl,
      seed,
    },
    wrap: !server.records,
    mode,
    concurrency: CONCURRENCY,
    rate: mode === "open" ? RATE : undefined,
    warmupSeconds: WARMUP,
    seconds: SECONDS,
    serverPid: server.pid,
    postmasterPid,
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      new URL("load-generator.ts", import.meta.url).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  children.add(child);
  const timer = setTimeout(() => child.kill("SIGKILL"), (WARMUP + SECONDS + 120) * 1000);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(config)));
    await writer.close();
    const output = await child.output();
    if (!output.success) throw new Error(`the load generator failed (${server.name})`);
    const result = JSON.parse(new TextDecoder().decode(output.stdout)) as LoadResult;
    const other = Object.keys(result.statuses).filter((s) => s !== "200");
    if (other.length > 0 || result.errors > 0) {
      throw new Error(
        `${server.name}: answers ${JSON.stringify(result.statuses)}, ${result.errors} errors`,
      );
    }
    if (server.records) {
      for (const k of Object.keys(kindsSent) as (keyof typeof kindsSent)[]) {
        kindsSent[k] += result.kinds[k];
      }
    }
    return result;
  } finally {
    clearTimeout(timer);
    children.delete(child);
  }
}

interface Row {
  server: Server;
  results: LoadResult[];
}

function summary(rows: Row): { rps: number; p50: number; p99: number; cpu: LoadResult["cpu"] } {
  const r = rows.results;
  const m = (f: (x: LoadResult) => number) => median(r.map(f));
  return {
    rps: m((x) => x.rps),
    p50: m((x) => x.p50),
    p99: m((x) => x.p99),
    cpu: {
      generator: m((x) => x.cpu.generator),
      server: m((x) => x.cpu.server),
      postgres: m((x) => x.cpu.postgres),
      machine: m((x) => x.cpu.machine),
    },
  };
}

/** CPU per request (µs) of the server and of Postgres, and cores busy over the window. */
const cpuCells = (c: LoadResult["cpu"], rps: number) =>
  `${fmtInt(c.server / rps * 1e6)} / ${fmtInt(c.postgres / rps * 1e6)} | ${
    c.generator.toFixed(2)
  } / ${c.server.toFixed(2)} / ${c.postgres.toFixed(2)} / ${c.machine.toFixed(2)}`;

// -----------------------------------------------------------------------------
// Run
// -----------------------------------------------------------------------------

const admin = db.connect("supabase_admin", "bench-twilio-status");
const { check, release } = holdInterrupts(() =>
  say("interrupted: stopping after this phase, then cleaning up")
);

const servers: Server[] = [];
let output = "";
try {
  await db.assertReachable(admin);
  await removeOrganizations(admin, [SLUG]);
  say(`loading ${fmtInt(MESSAGES)} sent messages into ${SLUG}`);
  const loadStarted = performance.now();
  const org = await load(admin);
  const loadS = (performance.now() - loadStarted) / 1000;
  say(`loaded in ${loadS.toFixed(0)} s`);
  check();

  const noop = await startCeiling("noop", "no work (ceiling)", 0, false);
  servers.push(noop);
  const update = await startCeiling(
    "update",
    "one UPDATE (ceiling)",
    UPDATE_CEILING_MAX_RPS,
    false,
  );
  servers.push(update);
  const steps: Server[] = [];
  if (BREAKDOWN) {
    for (
      const [mode, name, maxRps, records] of [
        ["tx-update", "step: the UPDATE in BEGIN / set_config / UPDATE / COMMIT", MAX_RPS, false],
        ["fn", "step: record_message_status, autocommit", MAX_RPS, true],
        ["tx-fn", "step: record_message_status in that transaction", MAX_RPS, true],
        ["middleware", "step: gateway forward + the function's middleware, no SQL", 0, false],
      ] as const
    ) {
      const s = await startCeiling(mode, name, maxRps, records);
      servers.push(s);
      steps.push(s);
    }
  }
  const real = await startRealRoute();
  servers.push(real);

  // 1. Closed loop: rounds, the order reversed each round.
  const closed: Row[] = [noop, update, ...steps, real].map((server) => ({ server, results: [] }));
  let seed = 1;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...closed].reverse() : closed;
    for (const row of order) {
      check();
      await settle(admin);
      say(`closed loop, round ${round + 1}: ${row.server.name}`);
      const result = await runLoad(row.server, "closed", seed++);
      say(
        `  ${fmtInt(result.rps)}/s, p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms; CPU ${
          cpuCells(result.cpu, result.rps)
        }`,
      );
      row.results.push(result);
    }
  }

  // 2. Open loop at RATE: the real route, then the one-UPDATE ceiling.
  const open: { server: Server; result: LoadResult }[] = [];
  for (const server of [real, update]) {
    check();
    await settle(admin);
    say(`open loop at ${fmtInt(RATE)}/s: ${server.name}`);
    const result = await runLoad(server, "open", seed++);
    say(
      `  ${fmtInt(result.rps)}/s, p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms, max ${
        ms(result.max)
      } ms`,
    );
    open.push({ server, result });
  }

  // Every callback did what it says: statuses moved forward, delivery problems recorded.
  const counts = Object.fromEntries(
    (await admin`
      select status::text, count(*)::int as n from public.messages
      where org_id = ${org} group by status`).map((r) => [r.status, r.n]),
  );
  const [{ problems }] = await admin`
    select count(*)::int as problems from public.delivery_problems where org_id = ${org}`;
  const expected = {
    delivered: kindsSent.delivered,
    undelivered: kindsSent.undelivered,
    problems: kindsSent.undelivered,
  };
  const got = {
    delivered: counts.delivered ?? 0,
    undelivered: counts.undelivered ?? 0,
    problems,
  };
  if (JSON.stringify(expected) !== JSON.stringify(got)) {
    throw new Error(
      `the callbacks' effects: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`,
    );
  }
  say(`checked: ${JSON.stringify(got)}, ${fmtInt(kindsSent.duplicate)} duplicates answered`);

  // Tables.
  const ceilingRow = closed[1];
  const realRow = closed.at(-1)!;
  const ceiling = summary(ceilingRow).rps;
  const date = new Date().toISOString().slice(0, 10);
  const closedRows = closed.map((row) => {
    const s = summary(row);
    return `| ${row.server.name} | ${fmtInt(s.rps)} | ${ms(s.p50)} | ${ms(s.p99)} | ${
      (s.rps / ceiling).toFixed(2)
    } | ${cpuCells(s.cpu, s.rps)} |`;
  });
  const ratio = summary(realRow).rps / ceiling;
  const perRound = realRow.results.map((r, i) => (r.rps / ceilingRow.results[i].rps).toFixed(2));
  const openRows = open.map(({ server, result: r }) =>
    `| ${server.name} | ${fmtInt(RATE)} | ${fmtInt(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${
      ms(r.max)
    } | ${server === real ? (r.p99 < GOAL_P99_MS ? "yes" : "no") : "—"} | ${
      cpuCells(r.cpu, r.rps)
    } |`
  );
  const realOpen = open[0].result;
  const wrapped = closed.filter((row) =>
    row.server.maxRps > 0 && row.results.some((r) => r.wrapped)
  )
    .map((row) => row.server.name);
  const cpuHeader =
    "CPU µs per request: server / Postgres | cores busy: generator / server / Postgres / machine";
  output = [
    `Signed status callbacks to POST /functions/v1/twilio/status with ${
      fmtInt(MESSAGES)
    } messages in the table (6% undelivered with 30003/30007, 6% duplicates), from a load generator process on loopback; closed loop with ${CONCURRENCY} keep-alive connections, ${SECONDS} s measured after ${WARMUP} s of warm-up, median of ${ROUNDS} round${
      ROUNDS > 1 ? "s" : ""
    } (${date}; load ${loadS.toFixed(0)} s)`,
    "",
    `| server | requests/s | p50 ms | p99 ms | × one-UPDATE ceiling | ${cpuHeader} |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...closedRows,
    "",
    `Goal: the function ≥ ${GOAL_RATIO} × the one-UPDATE ceiling: ${
      ratio >= GOAL_RATIO ? "met" : "not met"
    } (${ratio.toFixed(2)}; by round: ${perRound.join(", ")}).${
      wrapped.length > 0
        ? ` More requests than fresh messages (the list started over, repeating rows already touched) for: ${
          wrapped.join(", ")
        }.`
        : ""
    }${
      BREAKDOWN
        ? " Steps (bench/status-ceiling-server.ts), each a process of its own like the ceilings: the ceiling's UPDATE in a transaction shaped as `db.asSystem`'s (four round trips); `private.record_message_status` in autocommit (one round trip, as the function calls it), and in that transaction (as it did through `db.asSystem`); the gateway's forward and the function's middleware (request log, signature check, zod) without any SQL."
        : ""
    }`,
    "",
    `Open loop: a request due every ${
      (1000 / RATE).toFixed(1)
    } ms whatever the answers, latency from when it was due, ${SECONDS} s measured after ${WARMUP} s of warm-up`,
    "",
    `| server | rate due /s | answered /s | p50 ms | p99 ms | max ms | p99 < 50 ms | ${cpuHeader} |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ...openRows,
    "",
    `Goal: p99 < ${GOAL_P99_MS} ms at ${fmtInt(RATE)} requests/s: ${
      realOpen.p99 < GOAL_P99_MS && realOpen.rps >= 0.98 * RATE ? "met" : "not met"
    } (p99 ${ms(realOpen.p99)} ms, ${
      fmtInt(realOpen.rps)
    } answered per second). Every answer was 200; the messages' statuses and delivery problems afterwards matched the callbacks (${
      fmtInt(got.delivered)
    } delivered, ${fmtInt(got.undelivered)} undelivered, ${
      fmtInt(kindsSent.duplicate)
    } duplicates changing nothing). CPU: per request, the server's and Postgres's CPU time over the measured window ÷ the requests answered; cores busy, of the machine's ${navigator.hardwareConcurrency} ("machine" counts every process on it, other work included).`,
  ].join("\n");
  console.log(`\n${output}`);
} finally {
  for (const s of servers) await s.stop().catch(() => {});
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // ended
    }
  }
  say("cleaning up: removing the bench organization and everything of its");
  try {
    await removeOrganizations(admin, [SLUG]);
    await admin`vacuum analyze public.messages`;
  } finally {
    await admin.end({ timeout: 5 });
    release();
  }
}

if (Deno.args.includes("--write") && output) await writeResults("twilio-status", output);
