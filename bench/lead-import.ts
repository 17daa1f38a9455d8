/**
 * Lead import through the `leads` Edge Function, against the ceiling measured in the same run.
 *
 * A generated list (bench/lead-csv.ts: 100,000 rows, ~10 MB, mixed phone formats, 2% invalid,
 * 3% duplicates) is uploaded to `POST /functions/v1/leads/import/preview` as a campaign manager
 * and committed with `POST /functions/v1/leads/import/execute`, each sent and timed by curl
 * (so this process talks only to Postgres); the gateway process that runs every function
 * (local/functions-server.ts; the dev stack's, from its pids file, or with `--own-gateway` a
 * fresh one the bench starts against the dev database, so that its memory is this run's
 * alone) has its RSS sampled every 50 ms during each request (plus its VmHWM, which catches a
 * peak between samples). `--rows 1000000` makes ten such uploads into the same organization,
 * one after another, to show that time per upload and memory stay flat as the organization
 * grows.
 *
 * The ceiling: the very rows the import stored (read back from `public.leads`, already
 * normalised: E.164 phones, state codes, ZIPs, tag arrays, time zones) loaded again with COPY
 * into the same table in a scratch organization, upload by upload, three ways:
 *   - with the triggers an import's insert meets (rows carry an import id and the transaction
 *     sets `sct.prepared_import_id`, so the per-row preparation and audit step aside, as they
 *     do for execute; consent ledger, foreign keys and indexes as usual): the goal's ceiling;
 *   - with the triggers plain rows meet (per-row preparation and audit, as any other insert);
 *   - without triggers (`session_replication_role = replica`, as supabase_admin): raw COPY,
 *     heap and indexes only.
 * (postgres.js `copy … from stdin` over the unix socket, as postgres unless said otherwise.)
 * Before each variant the rows of the previous one are deleted and the table vacuumed, so
 * each starts from the same table; a CHECKPOINT before each timed step keeps one step from
 * paying for another's dirty pages.
 *
 * Goals (issue 4): preview under 1 s, execute within 2× the COPY ceiling, peak memory of the
 * function process under 150 MB, and flat across the ten uploads of the 1,000,000-row run
 * (uploads 2–10 within 10 MB of each other; the first one warms a fresh process up).
 * The answers are checked against the generator's expectation (a warning line if they differ).
 *
 * Prints markdown tables; `--write` records them in bench/RESULTS.md (100,000 rows between
 * the lead-import markers, larger runs between the lead-import-1m markers). A request that
 * has not answered after `--max-request-s` (900) is cancelled and the run fails; `--analyze`
 * runs ANALYZE on public.leads after each upload (diagnostic: the planner then knows the
 * organization's leads, as after autovacuum).
 *
 * Needs the running dev stack (npm run up) with the leads function loaded. Imports go into a
 * scratch organization (bench-lead-import) where manager@acme.test is campaign manager; it, the
 * ceiling organization, their leads, imports, consent entries and audit rows are removed at
 * the end, also on error or Ctrl-C. Acme is not touched.
 */
import type postgres from "postgres";
import { loadOrCreateKeys, mintUserToken } from "../local/keys.ts";
import { startGatewayProcess } from "../tests/support/gateway-process.ts";
import { seed, stackEnv } from "../tests/support/stack.ts";
import { argValue, holdInterrupts, removeOrganizations } from "./bench-util.ts";
import { devDatabase } from "./dev-database.ts";
import { generateLeadCsv, type LeadCsvExpectation } from "./lead-csv.ts";
import { writeResults } from "./results.ts";

const UPLOAD_ROWS = 100_000;
const SEED = 20_261_126;
const SAMPLE_MS = 50;
const GOAL_PREVIEW_S = 1;
const GOAL_RATIO = 2;
const GOAL_PEAK_MB = 150;
/**
 * Per-upload peaks within this many MB of each other count as flat. The first upload is
 * left out: a fresh process grows while it warms up (compiled code, heap sizing), once.
 */
const FLAT_MB = 10;
const SLUG = "bench-lead-import";
const COPY_SLUG = "bench-lead-import-copy";
const MANAGER_EMAIL = "manager@acme.test";
const MANAGER_ID = seed.users[MANAGER_EMAIL];

const ROWS = Number(argValue("--rows") ?? UPLOAD_ROWS);
/** A request that has not answered after this long is cancelled, and the run fails. */
const MAX_REQUEST_S = Number(argValue("--max-request-s") ?? 900);
/**
 * ANALYZE public.leads after each upload (diagnostic): the planner then knows how many leads
 * the organization has, as it would once autovacuum has run.
 */
const ANALYZE_BETWEEN = Deno.args.includes("--analyze");
if (!Number.isInteger(ROWS) || ROWS < 1000) throw new Error("--rows must be an integer ≥ 1000");
const UPLOADS = Math.ceil(ROWS / UPLOAD_ROWS);
const rowsOf = (k: number) => Math.min(UPLOAD_ROWS, ROWS - k * UPLOAD_ROWS);

const say = (line: string) => console.error(`» ${line}`);

// -----------------------------------------------------------------------------
// Stack: gateway, function process, connections
// -----------------------------------------------------------------------------

const env = stackEnv();
/** Where the leads function answers: the dev stack's gateway, or our own (--own-gateway). */
let leadsUrl = `${env.SUPABASE_URL}/functions/v1/leads`;
/** The dev database, reached over its unix socket (trust) as `postgres` or as the superuser. */
const db = devDatabase();

/** The PID of the dev stack's gateway, which runs every function, from its pids file. */
function devGatewayPid(): number {
  const file = `${env.LOCAL_PROFILE_DIR}/pids.json`;
  let recorded: { name: string; pid: number; script: string }[];
  try {
    recorded = JSON.parse(Deno.readTextFileSync(file));
  } catch {
    throw new Error(`cannot read ${file}: is the dev stack running (npm run up)?`);
  }
  const entry = recorded.find((s) => s.name === "functions");
  if (!entry) throw new Error(`${file} lists no functions process`);
  let cmdline = "";
  try {
    cmdline = Deno.readTextFileSync(`/proc/${entry.pid}/cmdline`);
  } catch {
    // gone
  }
  if (!cmdline.includes("functions-server.ts")) {
    throw new Error(`process ${entry.pid} is not the functions gateway: restart the dev stack`);
  }
  return entry.pid;
}

// -----------------------------------------------------------------------------
// Memory of the function process
// -----------------------------------------------------------------------------

interface Memory {
  rssKb: number;
  hwmKb: number;
}

function memoryOf(pid: number): Memory {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1]);
  return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
}

interface Measured<T> {
  value: T;
  ms: number;
  /** RSS just before the request, MB. */
  beforeMb: number;
  /** Highest RSS during the request, MB. */
  peakMb: number;
}

/** Runs `work` (a request and its time), sampling the process's RSS every SAMPLE_MS. */
async function measure<T>(
  pid: number,
  work: () => Promise<{ value: T; ms: number }>,
): Promise<Measured<T>> {
  const before = memoryOf(pid);
  let peakKb = before.rssKb;
  const timer = setInterval(() => {
    peakKb = Math.max(peakKb, memoryOf(pid).rssKb);
  }, SAMPLE_MS);
  let value: T;
  let ms: number;
  try {
    ({ value, ms } = await work());
  } finally {
    clearInterval(timer);
  }
  const after = memoryOf(pid);
  peakKb = Math.max(peakKb, after.rssKb);
  // The high-water mark only rises: if it rose, it is this request's exact peak.
  if (after.hwmKb > before.hwmKb) peakKb = Math.max(peakKb, after.hwmKb);
  return { value, ms, beforeMb: before.rssKb / 1024, peakMb: peakKb / 1024 };
}

// -----------------------------------------------------------------------------
// The endpoints
// -----------------------------------------------------------------------------

interface Preview {
  import_id: string;
  row_count: number;
  columns: string[];
  suggested_mapping: Record<string, unknown>;
  issues: unknown[];
}

interface ExecuteAnswer {
  committed: boolean;
  inserted: number;
  updated: number;
  duplicates: number;
  invalid: number;
  suppressed: number;
  errors: unknown[];
}

let tempDir = "";

/**
 * One request to the leads function, sent by curl: the bench process itself only talks to
 * Postgres (postgres.js), and the time is curl's own, from connect to the last byte.
 */
async function call<T>(
  path: string,
  body: { contentType: string; data: Uint8Array },
  expected: number,
): Promise<{ value: T; ms: number }> {
  const keys = await loadOrCreateKeys(env.LOCAL_PROFILE_DIR);
  const token = await mintUserToken(keys, { id: MANAGER_ID, email: MANAGER_EMAIL }, {
    issuer: `${env.SUPABASE_URL}/auth/v1`,
  });
  const bodyFile = `${tempDir}/body`;
  const headerFile = `${tempDir}/headers`;
  const answerFile = `${tempDir}/answer`;
  await Deno.writeFile(bodyFile, body.data);
  await Deno.writeTextFile(
    headerFile,
    `authorization: Bearer ${token}\ncontent-type: ${body.contentType}\nexpect:\n`,
    { mode: 0o600 },
  );
  const out = await new Deno.Command("curl", {
    args: [
      "--silent",
      "--show-error",
      "--request",
      "POST",
      "--header",
      `@${headerFile}`,
      "--data-binary",
      `@${bodyFile}`,
      "--output",
      answerFile,
      "--write-out",
      "%{http_code} %{time_total}",
      "--max-time",
      String(MAX_REQUEST_S),
      `${leadsUrl}${path}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code === 28) {
    // The function goes on without its client: stop its statement, or the clean-up waits.
    const cancelled = await admin`
      select pg_cancel_backend(pid) from pg_stat_activity
      where application_name = 'edge-function' and state = 'active'
        and query ~ '_lead_import[(]'`;
    throw new Error(
      `POST ${path} did not answer within ${MAX_REQUEST_S} s (--max-request-s); ` +
        `cancelled ${cancelled.length} import statement(s) of the functions`,
    );
  }
  const [status, seconds] = new TextDecoder().decode(out.stdout).trim().split(" ");
  if (!out.success) {
    throw new Error(`curl ${path}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const text = await Deno.readTextFile(answerFile);
  if (Number(status) !== expected) {
    throw new Error(`POST ${path}: ${status} ${text.slice(0, 500)}`);
  }
  return { value: JSON.parse(text) as T, ms: Number(seconds) * 1000 };
}

// -----------------------------------------------------------------------------
// Set-up and clean-up
// -----------------------------------------------------------------------------

/**
 * Removes the bench organizations and everything of theirs (also of a run that was killed),
 * without triggers: no cascades to wait for, no audit rows about deleting bench data.
 */
async function cleanUp(sql: postgres.Sql): Promise<void> {
  await removeOrganizations(sql, [SLUG, COPY_SLUG]);
}

interface Fixture {
  org: string;
  copyOrg: string;
  /** An import of the ceiling organization, which its COPYed rows carry. */
  copyImport: string;
}

/** The scratch organizations, as postgres through the normal triggers. */
async function createFixture(sql: postgres.Sql): Promise<Fixture> {
  return await sql.begin(async (tx) => {
    const [org] = await tx`
      insert into public.organizations (name, slug) values ('Bench Lead Import', ${SLUG})
      returning id`;
    const [copyOrg] = await tx`
      insert into public.organizations (name, slug) values ('Bench Lead Import COPY', ${COPY_SLUG})
      returning id`;
    await tx`
      insert into public.memberships (org_id, user_id, role)
      values (${org.id}, ${MANAGER_ID}, 'campaign_manager')`;
    const [copyImport] = await tx`
      insert into public.lead_imports (org_id, file_name, status, completed_at)
      values (${copyOrg.id}, 'copy-ceiling.csv', 'completed', now())
      returning id`;
    return { org: org.id, copyOrg: copyOrg.id, copyImport: copyImport.id };
  });
}

// -----------------------------------------------------------------------------
// The ceiling: the stored rows again, by COPY
// -----------------------------------------------------------------------------

/** What an import stores besides org_id, import_id and the defaults (id, timestamps). */
const STORED_COLUMNS = [
  "phone",
  "first_name",
  "last_name",
  "email",
  "address",
  "city",
  "state",
  "zip",
  "time_zone",
  "zip_time_zone",
  "phone_time_zone",
  "tags",
  "custom_fields",
  "status",
  "suppressed",
  "consent_source",
  "consent_captured_at",
  "consent_evidence",
  "created_by",
].join(", ");

const uuidText = (s: string) => {
  if (!/^[0-9a-f-]{36}$/.test(s)) throw new Error(`not a uuid: ${s}`);
  return s;
};

/**
 * An import's stored leads in COPY text format, in the order they were inserted. On a
 * connection of its own, closed afterwards: with postgres.js on Deno, a connection that has
 * run a `copy … to stdout` stream now and then never sees the answer to a later query (it
 * stalls, idle in transaction, until killed), so none is reused after one.
 */
async function readBack(org: string, importId: string): Promise<string> {
  const sql = db.connect("postgres");
  try {
    return await copyOut(sql, org, importId);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function copyOut(sql: postgres.Sql, org: string, importId: string): Promise<string> {
  const readable = await sql.unsafe(`
    copy (
      select ${STORED_COLUMNS} from public.leads
      where org_id = '${uuidText(org)}' and import_id = '${uuidText(importId)}'
      order by ctid
    ) to stdout`).readable();
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of readable) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** COPY text rows with org_id and import_id (null: `\N`) put in front. */
function withKeys(rows: string, org: string, importId: string | null): Uint8Array {
  const prefix = `${org}\t${importId ?? "\\N"}\t`;
  const lines = rows.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return new TextEncoder().encode(lines.map((l) => prefix + l).join("\n") + "\n");
}

type CopyVariant = "import" | "plain" | "raw";

const COPY_LABELS: Record<CopyVariant, string> = {
  import: "COPY, the triggers an import's insert meets (ceiling)",
  plain: "COPY, the triggers plain rows meet (per-row prepare + audit)",
  raw: "COPY, no triggers (replica, supabase_admin)",
};

/**
 * One COPY of `data` into public.leads in a transaction of its own; ms including commit.
 * `backendPid` is the connection's server process: a COPY that has not finished after
 * MAX_REQUEST_S is cancelled there (postgres.js never finishes a `copy … from stdin` stream
 * the server failed, so the caller must stop waiting and close the connection).
 */
async function copyIn(
  sql: postgres.Sql,
  backendPid: number,
  variant: CopyVariant,
  data: Uint8Array,
  importId: string,
): Promise<number> {
  const started = performance.now();
  const done = sql.begin(async (tx) => {
    if (variant === "raw") await tx`set local session_replication_role = replica`;
    if (variant === "import") {
      await tx`select set_config('sct.prepared_import_id', ${importId}, true)`;
    }
    const writable = await tx.unsafe(
      `copy public.leads (org_id, import_id, ${STORED_COLUMNS}) from stdin`,
    ).writable();
    await new Promise<void>((resolve, reject) => {
      writable.on("error", reject);
      writable.on("finish", resolve);
      // In slices, as a client streams a file.
      const slice = 1 << 20;
      for (let at = 0; at < data.length; at += slice) {
        writable.write(data.subarray(at, Math.min(at + slice, data.length)));
      }
      writable.end();
    });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), MAX_REQUEST_S * 1000);
  });
  try {
    if (await Promise.race([done, timedOut]) === "timeout") {
      done.catch(() => {});
      const killer = db.connect("supabase_admin");
      try {
        await killer`select pg_cancel_backend(${backendPid})`;
      } finally {
        await killer.end({ timeout: 5 });
      }
      throw new Error(`${COPY_LABELS[variant]}: no end after ${MAX_REQUEST_S} s; cancelled`);
    }
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - started;
}

/**
 * Brings public.leads to the same state before each timed phase: dead rows vacuumed, indexes
 * rebuilt (bulk loads and deletes of random uuids leave them bloated, and a bloated
 * (org_id, id) index makes the planner check foreign keys through another index), statistics
 * fresh. The table holds only the seeded leads at these points, so this takes milliseconds.
 */
async function settle(admin: postgres.Sql): Promise<void> {
  await admin`vacuum public.leads`;
  await admin`reindex table public.leads`;
  await admin`analyze public.leads`;
}

/** Deletes the ceiling organization's leads (and what they wrote), then settles the table. */
async function resetCopyOrg(admin: postgres.Sql, copyOrg: string): Promise<void> {
  await admin.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`delete from public.leads where org_id = ${copyOrg}`;
    await tx`delete from public.consent_events where org_id = ${copyOrg}`;
    await tx`delete from public.audit_log where org_id = ${copyOrg}`;
  });
  await settle(admin);
}

// -----------------------------------------------------------------------------
// Run
// -----------------------------------------------------------------------------

interface UploadResult {
  rows: number;
  bytes: number;
  preview: Measured<Preview>;
  execute: Measured<ExecuteAnswer>;
  expected: LeadCsvExpectation;
  importId: string;
  stored: number;
}

// A gateway of our own (as the stack runs it, against the dev database): a fresh process,
// so its memory is this run's alone and no other client's.
const ownGateway = Deno.args.includes("--own-gateway") ? await startGatewayProcess() : undefined;
if (ownGateway) leadsUrl = `${ownGateway.base}/functions/v1/leads`;
const pid = ownGateway?.pid ?? devGatewayPid();
const gatewayNote = ownGateway
  ? "a gateway process of the bench's own (fresh, against the dev database)"
  : "the dev stack's gateway process";
const admin = db.connect("supabase_admin");
const pg = db.connect("postgres");

const { check, release } = holdInterrupts(() =>
  say("interrupted: stopping after this step, then cleaning up")
);

let output = "";
try {
  await db.assertReachable(admin);
  tempDir = await Deno.makeTempDir({ prefix: "bench-lead-import-" });
  {
    const probe = await new Deno.Command("curl", {
      args: [
        "--silent",
        "--output",
        "/dev/null",
        "--write-out",
        "%{http_code}",
        "--request",
        "POST",
      ]
        .concat(`${leadsUrl}/import/preview`),
      stdout: "piped",
    }).output();
    const status = Number(new TextDecoder().decode(probe.stdout));
    if (!probe.success || status === 404 || status === 503) {
      throw new Error(
        `the gateway has no working leads function (${status}): restart the dev stack ` +
          "(npm run down && npm run up) after changing functions",
      );
    }
  }
  await cleanUp(admin);
  await settle(admin);
  const fx = await createFixture(pg);
  const [{ pid: pgPid }] = await pg`select pg_backend_pid() as pid`;
  const [{ pid: adminPid }] = await admin`select pg_backend_pid() as pid`;
  say(
    `${ROWS.toLocaleString("en")} rows in ${UPLOADS} upload(s); function process ${pid} (RSS ${
      (memoryOf(pid).rssKb / 1024).toFixed(0)
    } MB)`,
  );

  // 1. The import, upload by upload.
  const uploads: UploadResult[] = [];
  const readBacks: string[] = [];
  for (let k = 0; k < UPLOADS; k++) {
    check();
    const gen = generateLeadCsv(rowsOf(k), SEED + k, { rowOffset: k * UPLOAD_ROWS });
    const body = new TextEncoder().encode(gen.csv);
    await admin`checkpoint`;
    const preview = await measure(pid, () =>
      call<Preview>(
        `/import/preview?org_id=${fx.org}&file_name=bench-${k + 1}.csv`,
        { contentType: "text/csv", data: body },
        201,
      ));
    if (k === 0) say(`suggested mapping: ${JSON.stringify(preview.value.suggested_mapping)}`);
    check();
    await admin`checkpoint`;
    const execute = await measure(pid, () =>
      call<ExecuteAnswer>("/import/execute", {
        contentType: "application/json",
        data: new TextEncoder().encode(JSON.stringify({
          import_id: preview.value.import_id,
          mapping: preview.value.suggested_mapping,
          on_duplicate: "skip",
        })),
      }, 200));
    const [{ stored }] = await pg`
      select count(*)::int as stored from public.leads
      where org_id = ${fx.org} and import_id = ${preview.value.import_id}`;
    uploads.push({
      rows: gen.expected.rows,
      bytes: body.byteLength,
      preview,
      execute,
      expected: gen.expected,
      importId: preview.value.import_id,
      stored,
    });
    readBacks.push(await readBack(fx.org, preview.value.import_id));
    if (ANALYZE_BETWEEN) await admin`analyze public.leads`;
    const a = execute.value;
    say(
      `upload ${k + 1}/${UPLOADS}: preview ${(preview.ms / 1000).toFixed(2)} s (peak ${
        preview.peakMb.toFixed(0)
      } MB), execute ${(execute.ms / 1000).toFixed(2)} s (peak ${
        execute.peakMb.toFixed(0)
      } MB): inserted ${a.inserted}, duplicates ${a.duplicates}, invalid ${a.invalid}`,
    );
  }

  // 2. The ceiling: the same rows, by COPY, each variant from the same table state.
  await admin.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`delete from public.leads where org_id = ${fx.org}`;
  });
  await settle(admin);
  const copyMs: Record<CopyVariant, number[]> = { import: [], plain: [], raw: [] };
  for (const variant of ["import", "raw", "plain"] as const) {
    for (let k = 0; k < UPLOADS; k++) {
      check();
      const data = withKeys(readBacks[k], fx.copyOrg, variant === "plain" ? null : fx.copyImport);
      await admin`checkpoint`;
      const ms = variant === "raw"
        ? await copyIn(admin, adminPid, variant, data, fx.copyImport)
        : await copyIn(pg, pgPid, variant, data, fx.copyImport);
      copyMs[variant].push(ms);
    }
    say(`${COPY_LABELS[variant]}: ${(sum(copyMs[variant]) / 1000).toFixed(2)} s`);
    await resetCopyOrg(admin, fx.copyOrg);
  }

  output = report(uploads, copyMs);
  console.log(`\n${output}`);
} finally {
  await pg.end({ timeout: 5 });
  say("cleaning up: removing the bench organizations, their leads and imports");
  try {
    await cleanUp(admin);
    await admin`vacuum analyze public.leads`;
    await admin`vacuum analyze public.lead_import_rows`;
  } finally {
    await admin.end({ timeout: 5 });
    if (tempDir) await Deno.remove(tempDir, { recursive: true });
    await ownGateway?.stop();
    release();
  }
}

if (Deno.args.includes("--write") && output) {
  await writeResults(ROWS > UPLOAD_ROWS ? "lead-import-1m" : "lead-import", output);
}

// -----------------------------------------------------------------------------
// Report
// -----------------------------------------------------------------------------

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function report(uploads: UploadResult[], copyMs: Record<CopyVariant, number[]>): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const mb = (x: number) => x.toFixed(0);
  const n = (x: number) => Math.round(x).toLocaleString("en");
  const yes = (ok: boolean) => (ok ? "met" : "**not met**");

  const uploadRows = uploads.map((u, k) => {
    const ratio = u.execute.ms / copyMs.import[k];
    return `| ${k + 1} | ${n(u.rows)} | ${(u.bytes / 1e6).toFixed(1)} | ${s(u.preview.ms)} | ${
      s(u.execute.ms)
    } | ${n(u.rows / (u.execute.ms / 1000))} | ${s(copyMs.import[k])} | ${ratio.toFixed(2)} | ${
      mb(u.preview.beforeMb)
    } | ${mb(u.preview.peakMb)} | ${mb(u.execute.peakMb)} |`;
  });
  const totalRows = sum(uploads.map((u) => u.rows));
  const totalPreview = sum(uploads.map((u) => u.preview.ms));
  const totalExecute = sum(uploads.map((u) => u.execute.ms));
  const inserted = sum(uploads.map((u) => u.execute.value.inserted));
  const peaks = uploads.flatMap((u) => [u.preview.peakMb, u.execute.peakMb]);
  const maxPeak = Math.max(...peaks);
  const uploadPeaks = uploads.map((u) => Math.max(u.preview.peakMb, u.execute.peakMb));
  if (uploads.length > 1) {
    uploadRows.push(
      `| all | ${n(totalRows)} | ${(sum(uploads.map((u) => u.bytes)) / 1e6).toFixed(1)} | ${
        s(totalPreview)
      } | ${s(totalExecute)} | ${n(totalRows / (totalExecute / 1000))} | ${
        s(sum(copyMs.import))
      } | ${(totalExecute / sum(copyMs.import)).toFixed(2)} | ${
        mb(uploads[0].preview.beforeMb)
      } | ${mb(Math.max(...uploads.map((u) => u.preview.peakMb)))} | ${
        mb(Math.max(...uploads.map((u) => u.execute.peakMb)))
      } |`,
    );
  }

  const ceilingRows = [
    `| execute (HTTP, the import) | ${s(totalExecute)} | ${
      n(inserted / (totalExecute / 1000))
    } | 1.00 |`,
    ...(["import", "plain", "raw"] as const).map((v) => {
      const t = sum(copyMs[v]);
      return `| ${COPY_LABELS[v]} | ${s(t)} | ${n(inserted / (t / 1000))} | ${
        (totalExecute / t).toFixed(2)
      } |`;
    }),
  ];

  const maxPreview = Math.max(...uploads.map((u) => u.preview.ms)) / 1000;
  const ratio = totalExecute / sum(copyMs.import);
  const goals = [
    `preview < ${GOAL_PREVIEW_S} s: ${yes(maxPreview < GOAL_PREVIEW_S)} (slowest ${
      maxPreview.toFixed(2)
    } s)`,
    `execute ≤ ${GOAL_RATIO}× the COPY ceiling: ${yes(ratio <= GOAL_RATIO)} (${ratio.toFixed(2)}×)`,
    `peak RSS < ${GOAL_PEAK_MB} MB: ${yes(maxPeak < GOAL_PEAK_MB)} (${mb(maxPeak)} MB)`,
  ];
  if (uploads.length > 1) {
    const warm = uploadPeaks.slice(1);
    const spread = Math.max(...warm) - Math.min(...warm);
    goals.push(
      `flat memory over uploads 2–${uploads.length} (within ${FLAT_MB} MB): ${
        yes(spread <= FLAT_MB)
      } (peaks ${mb(Math.min(...warm))}–${mb(Math.max(...warm))} MB; upload 1, the fresh ` +
        `process warming up: ${mb(uploadPeaks[0])} MB)`,
    );
  }

  const warnings: string[] = [];
  uploads.forEach((u, k) => {
    const a = u.execute.value;
    const e = u.expected;
    if (
      a.inserted !== e.inserted || a.duplicates !== e.duplicates || a.invalid !== e.invalid ||
      u.stored !== e.inserted || a.updated !== 0 || a.suppressed !== 0
    ) {
      warnings.push(
        `**Warning**, upload ${
          k + 1
        }: the import answered inserted ${a.inserted} (stored ${u.stored}), duplicates ${a.duplicates}, invalid ${a.invalid}, updated ${a.updated}, suppressed ${a.suppressed}; the generator expected inserted ${e.inserted}, duplicates ${e.duplicates}, invalid ${e.invalid}.`,
      );
    }
  });
  const expected = {
    inserted: sum(uploads.map((u) => u.expected.inserted)),
    duplicates: sum(uploads.map((u) => u.expected.duplicates)),
    invalid: sum(uploads.map((u) => u.expected.invalid)),
  };
  const verified = warnings.length === 0
    ? `Answers match the generator: ${n(expected.inserted)} inserted, ${
      n(expected.duplicates)
    } duplicates, ${n(expected.invalid)} invalid.`
    : warnings.join("\n");

  return [
    `${n(totalRows)} generated rows in ${
      uploads.length > 1 ? `${uploads.length} uploads` : "one upload"
    } of ${n(UPLOAD_ROWS)} into one organization, each previewed then executed (times by curl${
      ANALYZE_BETWEEN ? "; ANALYZE public.leads after each upload (--analyze)" : ""
    }); memory: RSS of ${gatewayNote}, sampled every ${SAMPLE_MS} ms; COPY ceiling: the same stored rows by COPY with the triggers an import's insert meets (${
      new Date().toISOString().slice(0, 10)
    })`,
    "",
    "| upload | rows | MB | preview s | execute s | execute rows/s | COPY ceiling s | × ceiling | RSS before MB | peak preview MB | peak execute MB |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...uploadRows,
    "",
    `The same ${n(inserted)} stored leads loaded again:`,
    "",
    "| load | s | leads/s | execute ÷ this |",
    "| --- | ---: | ---: | ---: |",
    ...ceilingRows,
    "",
    `Goals: ${goals.join("; ")}. ${verified}`,
  ].join("\n");
}
