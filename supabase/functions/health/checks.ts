/**
 * The health checks: each bounded by a timeout so health answers fast even when a
 * dependency hangs, each naming itself when it fails, and each cached briefly
 * (`cachedFor`) so a flood of requests cannot hammer the dependency it checks.
 */
import type { Db } from "../_shared/db.ts";

export interface Check {
  ok: boolean;
  latency_ms: number;
  error?: string;
  [detail: string]: unknown;
}

export const CHECK_NAMES = [
  "database",
  "migrations",
  "pg_cron",
  "pg_net",
  "sender",
  "twilio",
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

/** How long the database checks' result is reused: at most one round trip per 2 s. */
export const DATABASE_CACHE_MS = 2_000;
/** How long the Twilio check's result is reused: Twilio's API is metered and remote. */
export const TWILIO_CACHE_MS = 15_000;

export interface HealthReport {
  status: "ok" | "down";
  down: CheckName[];
  checks: Record<CheckName, Check>;
  checked_at: string;
}

export class TimeoutError extends Error {}

/** `fn()`, or `onError(error)` when it throws or rejects. */
async function settled<T>(fn: () => Promise<T>, onError: (error: unknown) => T): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    return onError(error);
  }
}

/**
 * `fn`, computed at most once per `ttlMs`. Callers while a computation is running share
 * it (single-flight); callers within `ttlMs` after it settled get its result. A rejection
 * is cached for the TTL too (so a failing dependency is not retried by every request),
 * and is never thrown to callers: they get `onError(error)` instead.
 */
export function cachedFor<T>(
  fn: () => Promise<T>,
  ttlMs: number,
  onError: (error: unknown) => T,
): () => Promise<T> {
  type Entry = { result: Promise<T>; settledAt?: number };
  let current: Entry | undefined;
  return () => {
    const inFlight = current && current.settledAt === undefined;
    if (current && (inFlight || Date.now() - current.settledAt! < ttlMs)) return current.result;
    const entry: Entry = {
      result: settled(fn, onError).finally(() => {
        entry.settledAt = Date.now();
      }),
    };
    current = entry;
    return entry.result;
  };
}

export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  if (error instanceof TimeoutError) return error.message;
  const code = (error as { code?: string })?.code;
  return code ? `unreachable (${code})` : "unreachable";
}

interface PlatformHealth {
  latest_migration: string | null;
  pg_cron_scheduler: boolean;
  pg_net_worker: boolean;
  pg_net_queue_depth: number;
  pg_net_failures_last_hour: number;
}

/** private.sender_health(): the campaign tick and the work around it. */
interface SenderHealth {
  scheduled: boolean;
  stale: boolean;
  tick_interval_seconds: number;
  last_tick_age_seconds: number | null;
  cron_posts_since_last_tick: number;
  [detail: string]: unknown;
}

type DatabaseCheckName = "database" | "migrations" | "pg_cron" | "pg_net" | "sender";

/**
 * The sender check: down when the scheduled tick has not started for three intervals
 * (pg_cron posted it three times since). An unscheduled tick (no pg_cron job or Vault
 * secrets, as on the test stack) is reported, not judged: nothing says it should run.
 */
function senderCheck(sender: SenderHealth, latency: number): Check {
  return {
    ok: !sender.stale,
    latency_ms: latency,
    ...sender,
    ...(sender.stale
      ? {
        error: sender.last_tick_age_seconds === null
          ? `the campaign tick has not run since it was scheduled (pg_cron posted it ` +
            `${sender.cron_posts_since_last_tick} times)`
          : `the campaign tick last ran ${Math.round(sender.last_tick_age_seconds)} s ago: ` +
            `pg_cron posted it ${sender.cron_posts_since_last_tick} times since (3 intervals ` +
            `of ${sender.tick_interval_seconds} s)`,
      }
      : {}),
  };
}

/** Database reachability, then what the database knows about the platform around it. */
export async function databaseChecks(
  db: Db,
  requiredVersion: string,
  timeoutMs: number,
): Promise<Pick<HealthReport["checks"], DatabaseCheckName>> {
  const started = performance.now();
  let row: { report: PlatformHealth; sender: SenderHealth };
  try {
    row = await withTimeout(
      db.asSystem(async (tx) => {
        // A hung query must not hold the connection after the timeout answered for it.
        await tx`select set_config('statement_timeout', ${String(timeoutMs)}, true)`;
        const [facts] = await tx<{ report: PlatformHealth; sender: SenderHealth }[]>`
          select private.platform_health() as report, private.sender_health() as sender`;
        return facts;
      }),
      timeoutMs,
      "database",
    );
  } catch (error) {
    const latency = Math.round(performance.now() - started);
    const unknown = { ok: false, latency_ms: latency, error: "database unreachable" };
    return {
      database: { ok: false, latency_ms: latency, error: describe(error) },
      migrations: unknown,
      pg_cron: unknown,
      pg_net: unknown,
      sender: unknown,
    };
  }
  const latency = Math.round(performance.now() - started);
  const facts = row.report;
  const applied = facts.latest_migration;
  const migrated = applied !== null && applied >= requiredVersion;
  return {
    database: { ok: true, latency_ms: latency },
    migrations: {
      ok: migrated,
      latency_ms: latency,
      applied,
      required: requiredVersion,
      ...(migrated
        ? {}
        : { error: `schema ${applied ?? "none"} is older than ${requiredVersion}` }),
    },
    pg_cron: {
      ok: facts.pg_cron_scheduler,
      latency_ms: latency,
      ...(facts.pg_cron_scheduler ? {} : { error: "pg_cron scheduler is not running" }),
    },
    pg_net: {
      ok: facts.pg_net_worker,
      latency_ms: latency,
      queue_depth: Number(facts.pg_net_queue_depth),
      failures_last_hour: Number(facts.pg_net_failures_last_hour),
      ...(facts.pg_net_worker ? {} : { error: "pg_net worker is not running" }),
    },
    sender: senderCheck(row.sender, latency),
  };
}

/**
 * Fetches the Account resource: proves Twilio answers and the credentials work.
 * Uncached: wrap it in `cachedFor` so a busy monitor does not hammer Twilio's API.
 */
export function createTwilioCheck(
  apiBase: string,
  credentials: () => Promise<{ accountSid: string; authToken: string }>,
  timeoutMs: number,
): () => Promise<Check> {
  return async () => {
    const started = performance.now();
    try {
      const { accountSid, authToken } = await credentials();
      const url = `${apiBase.replace(/\/$/, "")}/2010-04-01/Accounts/${accountSid}.json`;
      const authorization = `Basic ${btoa(`${accountSid}:${authToken}`)}`;
      const res = await fetch(url, {
        headers: { authorization },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      const latency = Math.round(performance.now() - started);
      return res.ok
        ? { ok: true, latency_ms: latency }
        : { ok: false, latency_ms: latency, error: `Twilio answered ${res.status}` };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      const missing = error instanceof Error && /credentials are not set/.test(error.message);
      return {
        ok: false,
        latency_ms: Math.round(performance.now() - started),
        error: timedOut
          ? `Twilio timed out after ${timeoutMs} ms`
          : missing
          ? "Twilio credentials are not set in Vault"
          : "Twilio unreachable",
      };
    }
  };
}

/** What a check reports when it failed unexpectedly (a bug, not a dependency outage). */
export function checkFailed(): Check {
  return { ok: false, latency_ms: 0, error: "check failed" };
}

export async function healthReport(
  db: () => ReturnType<typeof databaseChecks>,
  twilio: () => Promise<Check>,
): Promise<HealthReport> {
  const [dbChecks, twilioCheck] = await Promise.all([db(), twilio()]);
  const checks = { ...dbChecks, twilio: twilioCheck };
  const down = (Object.keys(checks) as CheckName[]).filter((name) => !checks[name].ok);
  return {
    status: down.length === 0 ? "ok" : "down",
    down,
    checks,
    checked_at: new Date().toISOString(),
  };
}
