/**
 * Structured logging for Edge Functions: one JSON object per line (`ts`, `level`, `msg`,
 * then fields), which the Supabase log explorer indexes as-is.
 *
 * Nothing secret and no full phone number reaches a log line:
 * - fields whose key looks like a credential (token, secret, password, pass, pwd,
 *   credential, dsn, jwt, authorization, api key, signature, cookie, ...) are replaced
 *   by "[redacted]";
 * - fields whose key names a phone party (phone, msisdn, recipient, sender, or the words
 *   from/to, as in Twilio's `From`/`To`) are masked to their last four digits whatever
 *   their format;
 * - in every string (the message, field values and keys, an Error's message, stack and
 *   cause), secrets are scrubbed from the text itself: credentials in URLs
 *   (`postgresql://user:pass@host`), JWTs (`eyJ….eyJ….sig` → `[redacted-jwt]`),
 *   `Bearer <token>`, `name=value` pairs whose name looks like a credential or starts
 *   with `auth` (query strings, form bodies, libpq DSNs such as `password='…'`) and
 *   `"name": "value"` pairs of the same kind inside JSON text;
 * - in every string, phone-like runs (`+14155550123`, `%2B14155550123`, `4155550123`,
 *   `1 (415) 555-0123`, `415.555.0123`) are masked to their last four digits, while
 *   dates, UUIDs, ids such as Twilio SIDs and ordinary numbers are left alone;
 * - a JSON number (or bigint) under any other key is masked when it reads as a phone
 *   number stored without its `+` (see `looksLikePhoneNumber`);
 * - message bodies (`body` fields, Twilio's `Body` too) are dropped unless the level is
 *   `debug`.
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
const SECRET_KEY =
  /token|secret|password|passwd|pwd|credential|dsn|jwt|authorization|apikey|api_key|key$|signature|cookie/i;
/** Secret only as a whole word of a key (`db_pass`, `dbPass`), not inside `passenger`. */
const SECRET_KEY_WORDS = new Set(["pass", "creds"]);
/** Keys whose values are phone numbers, whatever their format. */
const PHONE_KEY = /phone|msisdn|recipient|sender/i;
/** Short words that name a phone party only as a whole word of a key (`To`, `from_number`). */
const PHONE_KEY_WORDS = new Set(["from", "to"]);
const REDACTED = "[redacted]";
/** `scheme://user:password@`: the password may hold `@`, but not `/`, `?`, `#` or spaces. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*):[^\s/?#]*@/gi;
/** A JWT (header `{"…` is always `eyJ` in base64url), not glued to a word before it. */
const JWT = /(?<![A-Za-z0-9])eyJ[\w-]+\.[\w-]+\.[\w-]*/g;
/** `Bearer <token>` (the scheme is case-insensitive); the token ends at a space or quote. */
const BEARER = /\b(Bearer)\s+[^\s"']+/gi;
/**
 * `name=` (or `name%3D`, inside an encoded URL), as in query strings, form bodies and
 * libpq DSNs; the name is a whole run of word characters (`%3Ftoken=` gives `3Ftoken`).
 */
const PARAM_NAME = /(?<![\w.[\]-])([\w.[\]-]+)(?:=|%3D)/gi;
/**
 * The value after a secret `name=`: it ends at `&` (or `%26`) or a space, unless it is
 * quoted (`password='s3 cret'`, with libpq's backslash escapes).
 */
const PARAM_VALUE = /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|(?:[^&\s%]|%(?!26))+/iy;
/** `"name": "value"` inside JSON text, such as a response body quoted in an error. */
const JSON_PAIR = /"([^"\\]+)"(\s*:\s*)"(?:[^"\\]|\\.)*"/g;
/** `auth…=`: `AuthToken`, `auth`, `authorization`, `oauth_signature` as parameter names. */
const AUTH_PARAM = /auth/i;
/** ISO 8601 / SQL dates and times, UUIDs, IPv4 addresses: digit runs that are no phone. */
const DATE_TIME = String.raw`\d{4}-[01]\d-[0-3]\d(?:[T ][0-2]\d:[0-5]\d(?::[0-6]\d(?:[.,]\d+)?)?)?`;
const UUID = String.raw`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`;
const IPV4 = String.raw`\d{1,3}(?:\.\d{1,3}){3}(?!\.?\d)`;
/** Between digit groups: one space, dot or hyphen, or a parenthesis (with one of those). */
const SEPARATOR = String.raw`(?:[ .-]|\)[ .-]?|[ .-]?\()`;
const DIGIT_RUN = String.raw`(?:\+|%2B)?\(?\d+(?:${SEPARATOR}\d+)*`;
/**
 * Dates, UUIDs and IPv4 addresses first, so that a digit run inside one is never taken
 * for a phone number; then the longest run of digit groups, judged whole by `maskRun`.
 */
const PHONE_CANDIDATE = new RegExp(`(${DATE_TIME}|${UUID}|${IPV4})|${DIGIT_RUN}`, "gi");
const ONLY_DATE_TIME = new RegExp(`^${DATE_TIME}(?:Z|[+-]\\d{2}(?::?\\d{2})?)?$`);
const ALPHANUMERIC = /[A-Za-z0-9]/;
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

/**
 * A run of digit groups is a phone number when it holds 10 to 15 digits (7 to 15 after
 * `+`, as E.164 allows), and is not glued to letters or digits (`SM0123456789abc…`).
 * A longer run is judged space-separated piece by piece (two numbers side by side).
 */
function maskRun(run: string, before: string, after: string): string {
  if (ALPHANUMERIC.test(before) || ALPHANUMERIC.test(after)) return run;
  const digits = run.replace(/\D/g, "").length - (/^%2B/i.test(run) ? 1 : 0);
  const min = /^(\+|%2B)/i.test(run) ? 7 : 10;
  if (digits >= min && digits <= 15) return maskPhone(run.replace(/^%2B/i, "+"));
  if (digits > 15 && run.includes(" ")) {
    return run.split(" ").map((piece) => maskRun(piece, "", "")).join(" ");
  }
  return run;
}

/**
 * A JSON number (or bigint) under a key that names no phone party is masked when it
 * reads as a phone number stored without its `+`:
 * - 10 digits forming a NANP number (area code and exchange start with 2–9),
 * - 11 digits: `1` and such a NANP number,
 * - 11 to 15 digits starting with 2–9 (E.164 outside country code 1).
 * E.164 numbers starting with `1` are always 11 digits, so counters, ms latencies, epoch
 * seconds (10 digits starting with 1), epoch milliseconds (13 digits starting with 1,
 * `17…` today), negative and fractional numbers and ids of 16 or more digits stay
 * readable. The cost: a count of 2 billion or more that happens to read as a phone
 * number (a byte size, say) is masked too.
 */
const PHONE_NUMBER_DIGITS = /^(?:1?[2-9]\d{2}[2-9]\d{6}|[2-9]\d{10,14})$/;

function looksLikePhoneNumber(value: number | bigint): boolean {
  if (typeof value === "number" && !Number.isSafeInteger(value)) return false;
  return PHONE_NUMBER_DIGITS.test(String(value));
}

function maskPhones(value: string): string {
  return value.replace(PHONE_CANDIDATE, (match, protectedText, offset: number) => {
    if (protectedText !== undefined) return match;
    return maskRun(match, value[offset - 1] ?? "", value[offset + match.length] ?? "");
  });
}

/** `fromNumber`, `From_Number` → `["from", "number"]`. */
function wordsOf(key: string): string[] {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/);
}

function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) || wordsOf(key).some((word) => SECRET_KEY_WORDS.has(word));
}

function isPhoneKey(key: string): boolean {
  if (PHONE_KEY.test(key)) return true;
  return wordsOf(key).some((word) => PHONE_KEY_WORDS.has(word));
}

/**
 * `name=value` pairs with a secret value redacted. Other values are scanned in turn, so
 * `next=/cb?token=…` loses its token too.
 */
function redactParams(text: string): string {
  const names = new RegExp(PARAM_NAME);
  const value = new RegExp(PARAM_VALUE);
  let out = "";
  let copied = 0;
  for (let m = names.exec(text); m; m = names.exec(text)) {
    if (!isSecretKey(m[1]) && !AUTH_PARAM.test(m[1])) continue;
    value.lastIndex = names.lastIndex;
    if (!value.test(text)) continue;
    out += text.slice(copied, names.lastIndex) + REDACTED;
    copied = names.lastIndex = value.lastIndex;
  }
  return out + text.slice(copied);
}

/**
 * A string with secrets redacted (URL credentials, JWTs, bearer tokens, secret
 * `name=value` and JSON pairs) and phone numbers masked.
 */
function scrub(value: string): string {
  const redacted = redactParams(
    value
      .replace(URL_CREDENTIALS, `$1:${REDACTED}@`)
      .replace(BEARER, `$1 ${REDACTED}`)
      .replace(JWT, "[redacted-jwt]"),
  ).replace(
    JSON_PAIR,
    (match, name: string, colon: string) =>
      isSecretKey(name) ? `"${name}"${colon}"${REDACTED}"` : match,
  );
  return maskPhones(redacted);
}

/** A value under a phone key: masked whatever its format, except "" and timestamps. */
function maskPhoneValue(value: string | number | bigint): string {
  const text = String(value);
  return text === "" || ONLY_DATE_TIME.test(text) ? text : maskPhone(text);
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

/** Header and form-parameter collections log as plain objects, so their keys are judged. */
function entriesOf(v: Headers | URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of v) {
    const prior = out[key];
    out[key] = prior === undefined ? value : [prior, value].flat();
  }
  return out;
}

/** A copy of `value` that is safe to log (see the module comment). */
export function sanitize(value: unknown, keepBodies = false): unknown {
  const seen = new WeakSet<object>();
  // `phone`: the value sits under a phone key, so every leaf is masked whatever its format.
  const walk = (v: unknown, depth: number, phone: boolean): unknown => {
    if (typeof v === "string") return phone ? maskPhoneValue(v) : scrub(v);
    if (typeof v === "number" || typeof v === "bigint") {
      if (phone || looksLikePhoneNumber(v)) return maskPhoneValue(v);
      return typeof v === "bigint" ? v.toString() : v;
    }
    if (v === null || typeof v !== "object") return v;
    if (v instanceof Date) return v.toISOString();
    if (seen.has(v)) return "[circular]";
    if (depth >= MAX_DEPTH) return "[truncated]";
    seen.add(v);
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1, phone));
    const source = v instanceof Error
      ? serializeError(v)
      : v instanceof Headers || v instanceof URLSearchParams
      ? entriesOf(v)
      : (v as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(source)) {
      if (!keepBodies && key.toLowerCase() === "body") continue;
      out[scrub(key)] = isSecretKey(key)
        ? REDACTED
        : walk(item, depth + 1, phone || isPhoneKey(key));
    }
    return out;
  };
  return walk(value, 0, false);
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
      msg: scrub(msg),
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
 * (`c.get('log')`), and one log line when the response is ready: at `successLevel` (default
 * info) below 400, warn for other 4xx, error for 5xx.
 */
export function requestLogger(
  options: { logger?: Logger; successLevel?: "debug" | "info" } = {},
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
    else if (status >= 400) log.warn("request", fields);
    else if (options.successLevel === "debug") log.debug("request", fields);
    else log.info("request", fields);
  };
}
