/**
 * Typed errors and the one place they become HTTP responses.
 *
 * Every failure a client sees has one JSON shape:
 * `{ "error": { "code", "message", "details"?, "request_id" } }`. Handlers throw an
 * `AppError` subclass; `onAppError` (Hono's `app.onError`) maps it. Anything else is a
 * bug or an outage: the client gets a generic 500 and the log gets the real error.
 */
import type { Context, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import { defaultLogger, type Logger, requestIdFrom } from "./log.ts";

/** One problem with one input field; `path` is dotted (`rows.3.phone`), "" for the root. */
export interface FieldError {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  details?: FieldError[];
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
  /** The underlying error, for the log only. */
  cause?: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: FieldError[];
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export class BadRequestError extends AppError {
  constructor(message = "Bad request", options?: AppErrorOptions) {
    super(400, "bad_request", message, options);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "Authentication required", options: AppErrorOptions = {}) {
    super(401, "unauthorized", message, {
      ...options,
      headers: { "WWW-Authenticate": "Bearer", ...options.headers },
    });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = "Forbidden", options?: AppErrorOptions) {
    super(403, "forbidden", message, options);
  }
}

export class NotFoundError extends AppError {
  constructor(message = "Not found", options?: AppErrorOptions) {
    super(404, "not_found", message, options);
  }
}

export class ConflictError extends AppError {
  constructor(message = "Conflict", options?: AppErrorOptions) {
    super(409, "conflict", message, options);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = "Payload too large", options?: AppErrorOptions) {
    super(413, "payload_too_large", message, options);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message = "Unsupported media type", options?: AppErrorOptions) {
    super(415, "unsupported_media_type", message, options);
  }
}

/** Dotted path of a zod issue: `["rows", 3, "phone"]` → `rows.3.phone`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((part) => String(part)).join(".");
}

export class ValidationError extends AppError {
  /** From a ZodError (one detail per issue) or from details built by hand. */
  constructor(
    source: z.ZodError | FieldError[],
    message = "Validation failed",
    options: Omit<AppErrorOptions, "details"> = {},
  ) {
    const details = Array.isArray(source)
      ? source
      : source.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));
    super(422, "validation_failed", message, { ...options, details });
  }
}

export class TooManyRequestsError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(
    retryAfterSeconds: number,
    message = "Too many requests",
    options: AppErrorOptions = {},
  ) {
    const seconds = Math.max(0, Math.ceil(retryAfterSeconds));
    super(429, "too_many_requests", message, {
      ...options,
      headers: { ...options.headers, "Retry-After": String(seconds) },
    });
    this.retryAfterSeconds = seconds;
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = "Service unavailable", options?: AppErrorOptions) {
    super(503, "service_unavailable", message, options);
  }
}

const INTERNAL_MESSAGE = "Internal server error";

/** Codes for Hono's own HTTPExceptions (malformed JSON, body limits, …). */
const HTTP_EXCEPTION_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "validation_failed",
  429: "too_many_requests",
  503: "service_unavailable",
};

function fromHttpException(err: HTTPException): AppError {
  const status = err.status;
  if (status >= 500) {
    const code = HTTP_EXCEPTION_CODES[status] ?? "internal_error";
    return new AppError(status, code, status === 503 ? "Service unavailable" : INTERNAL_MESSAGE);
  }
  const code = HTTP_EXCEPTION_CODES[status] ?? "bad_request";
  return new AppError(status, code, err.message || "Request failed");
}

// Database refusals: the database keeps the rules and says why (naming the field); its
// SQLSTATE says which status a client should see. Other database errors stay 500s.
interface PgErrorLike {
  code?: unknown;
  message?: unknown;
  column_name?: unknown;
}

function isPgError(error: unknown): error is PgErrorLike & { code: string; message: string } {
  return typeof error === "object" && error !== null &&
    typeof (error as PgErrorLike).code === "string" &&
    /^[0-9A-Z]{5}$/.test((error as PgErrorLike).code as string) &&
    typeof (error as PgErrorLike).message === "string" &&
    (error as { name?: unknown }).name === "PostgresError";
}

/** The AppError a Postgres refusal stands for, or the error itself. */
function fromPgError(error: unknown): unknown {
  if (error instanceof AppError || !isPgError(error)) return error;
  const { code, message } = error;
  const options = { cause: error };
  if (code === "PT404") return new NotFoundError(message, options);
  if (code === "42501") return new ForbiddenError(message, options);
  if (code === "55000" || code === "PT409" || code === "23505") {
    return new ConflictError(message, options);
  }
  if (code.startsWith("22") || code === "23514" || code === "23502" || code === "23503") {
    const field = typeof error.column_name === "string" ? error.column_name : "body";
    return new ValidationError([{ path: field, message }], message, options);
  }
  if (code === "P0001") return new BadRequestError(message, options);
  return error;
}

/** The AppError a client may see for `err`, or undefined for an unexpected error. */
function asAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) return fromHttpException(err);
  const fromDb = fromPgError(err);
  if (fromDb instanceof AppError) return fromDb;
  return undefined;
}

/**
 * The one mapping from an error to the response a client sees. Unknown errors become
 * a generic 500: their message may hold SQL, a stack or a secret, so the caller logs it.
 */
export function toErrorResponse(err: unknown, requestId: string): Response {
  const app = asAppError(err) ?? new AppError(500, "internal_error", INTERNAL_MESSAGE);
  const body = {
    error: {
      code: app.code,
      message: app.message,
      ...(app.details && app.details.length > 0 ? { details: app.details } : {}),
      request_id: requestId,
    },
  };
  return Response.json(body, {
    status: app.status,
    headers: { ...app.headers, "x-request-id": requestId },
  });
}

function requestContext(c: Context): { requestId: string; log: Logger } {
  const requestId: unknown = c.get("requestId");
  const log: unknown = c.get("log");
  return {
    requestId: typeof requestId === "string"
      ? requestId
      : requestIdFrom(c.req.header("x-request-id")),
    log: typeof log === "object" && log !== null ? (log as Logger) : defaultLogger(),
  };
}

/**
 * `app.onError(onAppError)`: maps the error and logs what the client is not told.
 * Middleware may call it directly to answer with an error without throwing.
 */
export function onAppError(err: unknown, c: Context): Response {
  const { requestId, log } = requestContext(c);
  const known = asAppError(err);
  if (!known) {
    log.error("unhandled error", { error: err });
  } else if (known.status >= 500) {
    log.error("request failed", { code: known.code, error: err });
  } else {
    log.debug("request refused", { code: known.code, status: known.status });
  }
  return toErrorResponse(err, requestId);
}

/** `app.notFound(notFoundHandler)`: unknown routes answer in the one error shape. */
export const notFoundHandler: NotFoundHandler = (c) =>
  onAppError(new NotFoundError(`No route for ${c.req.method} ${c.req.path}`), c);
