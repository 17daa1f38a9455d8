/**
 * The health checks: each bounded by a timeout so health answers fast even when a
 * dependency hangs, and each naming itself when it fails.
 */
import type { Db } from "../_shared/db.ts";

export interface Check {
  ok: boolean;
  latency_ms: number;
  error?: string;
  [detail: string]: unknown;
}

export type CheckName = "database" | "migrations" | "pg_cron" | "pg_net" | "twilio";

export interface HealthReport {
  status: "ok" | "down";
  down: CheckName[];
  checks: Record<CheckName, Check>;
  checked_at: string;
}

export class TimeoutError extends Error {}

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

/** Database reachability, then what the database knows about the platform around it. */
export async function databaseChecks(
  db: Db,
  requiredVersion: string,
  timeoutMs: number,
): Promise<Pick<HealthReport["checks"], "database" | "migrations" | "pg_cron" | "pg_net">> {
  const started = performance.now();
  let facts: PlatformHealth;
  try {
    facts = await withTimeout(
      db.asSystem(async (tx) => {
        // A hung query must not hold the connection after the timeout answered for it.
        await tx`select set_config('statement_timeout', ${String(timeoutMs)}, true)`;
        const [row] = await tx<{ report: PlatformHealth }[]>`
          select private.platform_health() as report`;
        return row.report;
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
    };
  }
  const latency = Math.round(performance.now() - started);
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
  };
}

export interface TwilioTarget {
  apiBase: string;
  accountSid: string;
  authToken: string;
}

/**
 * Fetches the Account resource: proves Twilio answers and the credentials work.
 * Results are cached briefly so a busy monitor does not hammer Twilio's API.
 */
export function createTwilioCheck(
  target: TwilioTarget,
  timeoutMs: number,
  cacheMs = 15_000,
): () => Promise<Check> {
  let cached: { at: number; check: Check } | undefined;
  const url = `${target.apiBase.replace(/\/$/, "")}/2010-04-01/Accounts/${target.accountSid}.json`;
  const authorization = `Basic ${btoa(`${target.accountSid}:${target.authToken}`)}`;
  return async () => {
    if (cached && Date.now() - cached.at < cacheMs) return cached.check;
    const started = performance.now();
    let check: Check;
    try {
      const res = await fetch(url, {
        headers: { authorization },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      const latency = Math.round(performance.now() - started);
      check = res.ok
        ? { ok: true, latency_ms: latency }
        : { ok: false, latency_ms: latency, error: `Twilio answered ${res.status}` };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      check = {
        ok: false,
        latency_ms: Math.round(performance.now() - started),
        error: timedOut ? `Twilio timed out after ${timeoutMs} ms` : "Twilio unreachable",
      };
    }
    cached = { at: Date.now(), check };
    return check;
  };
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
