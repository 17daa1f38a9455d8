/**
 * The local stand-in for pg_net's background worker. On hosted, pg_net runs inside
 * Postgres and sends what `net.http_post` queued once the queuing transaction has
 * committed; here a small process does the same: it takes committed rows from
 * `net.http_request_queue` (so an aborted transaction sends nothing), performs the
 * requests concurrently with their timeouts, and records each outcome in
 * `net._http_response`, deleting responses older than pg_net's default TTL (6 hours).
 * Like pg_net, delivery is at most once: a request is removed from the queue when taken.
 */
import postgres from "postgres";

/** application_name the health check looks for, as it looks for pg_net's worker on hosted. */
export const WORKER_APPLICATION_NAME = "pg_net worker";
const BATCH_SIZE = 200;
const IDLE_POLL_MS = 100;
const RESPONSE_TTL = "6 hours";

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Uint8Array<ArrayBuffer> | null;
  timeout_milliseconds: number;
}

interface Outcome {
  id: string;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

async function perform(req: QueuedRequest): Promise<Outcome> {
  const empty = { id: req.id, status_code: null, content_type: null, headers: null, content: null };
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers ?? {},
      body: req.method === "GET" || req.body === null ? undefined : req.body,
      signal: AbortSignal.timeout(req.timeout_milliseconds),
    });
    const content = await res.text();
    return {
      id: req.id,
      status_code: res.status,
      content_type: res.headers.get("content-type"),
      headers: Object.fromEntries(res.headers),
      content,
      timed_out: false,
      error_msg: null,
    };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    const message = timedOut
      ? `Timeout of ${req.timeout_milliseconds} ms reached`
      : (error instanceof Error ? error.message : String(error));
    return { ...empty, timed_out: timedOut, error_msg: message };
  }
}

export interface WorkerOptions {
  /**
   * Connection as `postgres`, as hosted runs pg_net's worker: never the superuser, since
   * any role may attach triggers to pg_net's tables.
   */
  dbUrl: string;
}

export function startWorker(opts: WorkerOptions): { stop(): Promise<void> } {
  const sql = postgres(opts.dbUrl, {
    max: 2,
    onnotice: () => {},
    connection: { application_name: WORKER_APPLICATION_NAME },
  });
  let running = true;
  let lastPurge = 0;

  const takeBatch = () =>
    sql<QueuedRequest[]>`
      delete from net.http_request_queue q
      where q.id in (
        select id from net.http_request_queue order by id limit ${BATCH_SIZE} for update skip locked
      )
      returning q.id::text as id, q.method::text as method, q.url, q.headers, q.body,
        q.timeout_milliseconds`;

  const record = async (outcomes: Outcome[]) => {
    if (outcomes.length === 0) return;
    await sql`
      insert into net._http_response
        (id, status_code, content_type, headers, content, timed_out, error_msg)
      select x.id::bigint, x.status_code, x.content_type, x.headers, x.content, x.timed_out,
        x.error_msg
      from jsonb_to_recordset(${sql.json(outcomes as unknown as postgres.JSONValue)}) as x(
        id text, status_code int, content_type text, headers jsonb, content text,
        timed_out boolean, error_msg text)`;
  };

  const loop = async () => {
    // One connection stays open so health checks can see the worker in pg_stat_activity.
    await sql`select 1`;
    while (running) {
      try {
        const batch = await takeBatch();
        if (batch.length > 0) await record(await Promise.all(batch.map(perform)));
        if (Date.now() - lastPurge > 60_000) {
          await sql`delete from net._http_response where created < now() - ${RESPONSE_TTL}::interval`;
          lastPurge = Date.now();
        }
        if (batch.length < BATCH_SIZE) await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
      } catch (error) {
        if (!running) break;
        console.error(JSON.stringify({
          ts: new Date().toISOString(),
          service: "pg_net",
          level: "error",
          msg: "worker iteration failed",
          error: error instanceof Error ? error.message : String(error),
        }));
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const done = loop();
  return {
    async stop() {
      running = false;
      await done;
      await sql.end({ timeout: 5 });
    },
  };
}

if (import.meta.main) {
  const dbUrl = Deno.env.get("SUPABASE_DB_URL");
  if (!dbUrl) throw new Error("SUPABASE_DB_URL is required");
  const worker = startWorker({ dbUrl });
  console.log(JSON.stringify({ ts: new Date().toISOString(), service: "pg_net", msg: "started" }));
  const stop = () => worker.stop().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
