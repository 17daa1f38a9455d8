/**
 * Structured logging for Edge Functions: one JSON object per line (`ts`, `level`, `msg`,
 * then fields), which the Supabase log explorer indexes as-is.
 *
 * Nothing secret and no full phone number reaches a log line: fields whose key looks
 * like a credential are replaced by "[redacted]", every E.164 number inside a string is
 * masked to its last four digits, and message bodies (`body` fields) are dropped unless
 * the level is `debug`.
 */
import type { MiddlewareHandler } from "hono";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines carry `fields` in addition to this one's. */
  child(fields: LogFields): Logger;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  /** Lines below this level are not written; default `LOG_LEVEL`, else `info`. */
  level?: LogLevel;
  /** Where lines go; default console.log, console.warn for warn, console.error for error. */
  write?: (line: string, level: LogLevel) => void;
}

/** The Hono context variables `requestLogger()` sets. */
export type LogVariables = { requestId: string; log: Logger };

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /token|secret|password|authorization|apikey|api_key|key$/i;
const E164_ANYWHERE = /\+[1-9]\d{6,14}(?!\d)/g;
const REDACTED = "[redacted]";
const MAX_DEPTH = 8;
const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && Object.hasOwn(LEVELS, value);
}

/** `LOG_LEVEL` if it is set to a known level (and readable), else `info`. */
export function levelFromEnv(): LogLevel {
  try {
    const value = Deno.env.get("LOG_LEVEL")?.toLowerCase();
    return isLogLevel(value) ? value : "info";
  } catch {
    return "info";
  }
}

/** `+14155550123` → `***0123`: enough to tell numbers apart, not enough to dial one. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, "");
  return digits.length >= 4 ? `***${digits.slice(-4)}` : "***";
}

function maskString(value: string): string {
  return value.replace(E164_ANYWHERE, (match) => maskPhone(match));
}

/**
 * Error properties worth logging. Others stay out: postgres.js errors, for one, carry
 * the query's `parameters`, which hold whatever a user sent.
 */
const ERROR_FIELDS = [
  "code",
  "status",
  "severity",
  "detail",
  "hint",
  "schema_name",
  "table_name",
  "column_name",
  "constraint_name",
] as const;

function serializeError(error: Error): LogFields {
  const out: LogFields = { name: error.name, message: error.message };
  const props = error as unknown as Record<string, unknown>;
  for (const key of ERROR_FIELDS) {
    if (props[key] !== undefined) out[key] = props[key];
  }
  if (error.stack) out.stack = error.stack;
  if (error.cause !== undefined) out.cause = error.cause;
  return out;
}

/** A copy of `value` that is safe to log (see the module comment). */
export function sanitize(value: unknown, keepBodies = false): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return maskString(v);
    if (typeof v === "bigint") return v.toString();
    if (v === null || typeof v !== "object") return v;
    if (v instanceof Date) return v.toISOString();
    if (seen.has(v)) return "[circular]";
    if (depth >= MAX_DEPTH) return "[truncated]";
    seen.add(v);
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    const source = v instanceof Error ? serializeError(v) : (v as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(source)) {
      if (key === "body" && !keepBodies) continue;
      out[key] = SECRET_KEY.test(key) ? REDACTED : walk(item, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}

function defaultWrite(line: string, level: LogLevel): void {
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export function createLogger(base: LogFields = {}, options: LoggerOptions = {}): Logger {
  const level = options.level ?? levelFromEnv();
  const write = options.write ?? defaultWrite;
  const keepBodies = level === "debug";

  const emit = (lineLevel: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lineLevel] < LEVELS[level]) return;
    const line: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level: lineLevel,
      msg: maskString(msg),
    };
    const extra = sanitize({ ...base, ...fields }, keepBodies) as Record<string, unknown>;
    for (const [key, value] of Object.entries(extra)) {
      if (!(key in line)) line[key] = value;
    }
    write(JSON.stringify(line), lineLevel);
  };

  return {
    level,
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger({ ...base, ...fields }, { level, write }),
  };
}

let rootLogger: Logger | undefined;

/** The process-wide logger, created on first use (level from `LOG_LEVEL`). */
export function defaultLogger(): Logger {
  rootLogger ??= createLogger();
  return rootLogger;
}

/** The caller's `x-request-id` if it is a sane token, else a fresh UUID. */
export function requestIdFrom(header: string | null | undefined): string {
  return header && REQUEST_ID.test(header) ? header : crypto.randomUUID();
}

/**
 * Gives each request an id (`x-request-id` in and out), a child logger carrying it
 * (`c.get('log')`), and one log line when the response is ready.
 */
export function requestLogger(
  options: { logger?: Logger } = {},
): MiddlewareHandler<{ Variables: LogVariables }> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = requestIdFrom(c.req.header("x-request-id"));
    const log = (options.logger ?? defaultLogger()).child({ request_id: requestId });
    c.set("requestId", requestId);
    c.set("log", log);
    await next();
    c.header("x-request-id", requestId);
    const status = c.res.status;
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (status >= 500) log.error("request", fields);
    else log.info("request", fields);
  };
}
