/**
 * supabase/functions/_shared/errors.ts: every typed error maps to its status and the one
 * JSON shape; unknown errors become a generic 500 whose real cause only reaches the log.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import {
  AppError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  issuePath,
  NotFoundError,
  notFoundHandler,
  onAppError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  toErrorResponse,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../supabase/functions/_shared/errors.ts";
import {
  createLogger,
  type LogVariables,
  requestLogger,
} from "../supabase/functions/_shared/log.ts";

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { path: string; message: string }[];
    request_id: string;
  };
}

/** An app that throws `make()` at GET /boom, with logs captured in `lines`. */
function appThrowing(make: () => unknown) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({}, { level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const app = new Hono<{ Variables: LogVariables }>();
  app.use(requestLogger({ logger }));
  app.get("/boom", () => {
    throw make();
  });
  app.notFound(notFoundHandler);
  app.onError(onAppError);
  return { app, lines };
}

const cases: { make: () => AppError; status: number; code: string }[] = [
  { make: () => new BadRequestError("bad"), status: 400, code: "bad_request" },
  { make: () => new UnauthorizedError("who?"), status: 401, code: "unauthorized" },
  { make: () => new ForbiddenError("no"), status: 403, code: "forbidden" },
  { make: () => new NotFoundError("gone"), status: 404, code: "not_found" },
  { make: () => new ConflictError("taken"), status: 409, code: "conflict" },
  { make: () => new PayloadTooLargeError("big"), status: 413, code: "payload_too_large" },
  {
    make: () => new UnsupportedMediaTypeError("csv only"),
    status: 415,
    code: "unsupported_media_type",
  },
  { make: () => new ValidationError([]), status: 422, code: "validation_failed" },
  { make: () => new TooManyRequestsError(3), status: 429, code: "too_many_requests" },
  { make: () => new ServiceUnavailableError("later"), status: 503, code: "service_unavailable" },
];

for (const { make, status, code } of cases) {
  Deno.test(`errors: ${make().name} → ${status} ${code} in the one shape`, async () => {
    const { app } = appThrowing(make);
    const res = await app.request("/boom", { headers: { "x-request-id": "req-1" } });
    assert.equal(res.status, status);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(res.headers.get("x-request-id"), "req-1");
    const body = (await res.json()) as ErrorBody;
    assert.deepEqual(Object.keys(body), ["error"]);
    assert.equal(body.error.code, code);
    assert.equal(body.error.message, make().message);
    assert.equal(body.error.request_id, "req-1");
    assert.equal("details" in body.error, false, "empty details are left out");
  });
}

Deno.test("errors: subclasses are AppErrors with their own name", () => {
  const err = new ConflictError();
  assert.ok(err instanceof AppError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, "ConflictError");
  assert.equal(err.message, "Conflict");
});

Deno.test("errors: a ZodError becomes 422 with one detail per issue and dotted paths", async () => {
  const schema = z.object({
    name: z.string().min(1),
    rows: z.array(z.object({ phone: z.string().regex(/^\+\d+$/, "must be E.164") })),
  });
  const parsed = schema.safeParse({ name: "", rows: [{ phone: "+1" }, { phone: "555" }] });
  assert.equal(parsed.success, false);
  const { app } = appThrowing(() => new ValidationError(parsed.error!));
  const res = await app.request("/boom");
  assert.equal(res.status, 422);
  const body = (await res.json()) as ErrorBody;
  assert.equal(body.error.code, "validation_failed");
  assert.deepEqual(body.error.details?.map((d) => d.path), ["name", "rows.1.phone"]);
  assert.equal(body.error.details?.[1].message, "must be E.164");
});

Deno.test("errors: issuePath joins with dots and gives '' for the root", () => {
  assert.equal(issuePath(["rows", 3, "phone"]), "rows.3.phone");
  assert.equal(issuePath([]), "");
});

Deno.test("errors: TooManyRequests sets Retry-After in whole seconds", async () => {
  const err = new TooManyRequestsError(2.2);
  assert.equal(err.retryAfterSeconds, 3);
  const res = toErrorResponse(err, "r");
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "3");
  await res.body?.cancel();
  const negative = toErrorResponse(new TooManyRequestsError(-5), "r");
  assert.equal(negative.headers.get("retry-after"), "0");
  await negative.body?.cancel();
});

Deno.test("errors: Unauthorized carries WWW-Authenticate: Bearer", async () => {
  const res = toErrorResponse(new UnauthorizedError(), "r");
  assert.equal(res.headers.get("www-authenticate"), "Bearer");
  assert.equal(((await res.json()) as ErrorBody).error.message, "Authentication required");
});

Deno.test("errors: an unknown error is a generic 500; the real one only reaches the log", async () => {
  const secret = 'duplicate key value violates unique constraint "leads_pkey" password=hunter2';
  const { app, lines } = appThrowing(() => new Error(secret));
  const res = await app.request("/boom");
  assert.equal(res.status, 500);
  const text = await res.text();
  assert.ok(!text.includes("duplicate"), "no database message to the client");
  assert.ok(!text.includes("hunter2"));
  assert.ok(!text.includes("at "), "no stack to the client");
  const body = JSON.parse(text) as ErrorBody;
  assert.equal(body.error.code, "internal_error");
  assert.equal(body.error.message, "Internal server error");
  const logged = lines.find((l) => l.msg === "unhandled error");
  assert.ok(logged, "the real error is logged");
  // The log keeps the database's words but never the credential in them.
  assert.equal(
    (logged.error as { message: string }).message,
    secret.replace("password=hunter2", "password=[redacted]"),
  );
  assert.equal(logged.request_id, body.error.request_id);
});

Deno.test("errors: non-Error values map to a generic 500 too", async () => {
  for (const value of ["a string", { message: "leak" }, null]) {
    const res = toErrorResponse(value, "r");
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.ok(!text.includes("leak") && !text.includes("a string"));
    assert.equal((JSON.parse(text) as ErrorBody).error.code, "internal_error");
  }
});

Deno.test("errors: an AppError's cause is logged, not sent", async () => {
  const { app, lines } = appThrowing(() =>
    new ServiceUnavailableError("Database unavailable", { cause: new Error("ECONNREFUSED") })
  );
  const res = await app.request("/boom");
  assert.equal(res.status, 503);
  const text = await res.text();
  assert.ok(!text.includes("ECONNREFUSED"));
  assert.ok(JSON.stringify(lines).includes("ECONNREFUSED"));
});

Deno.test("errors: Hono's HTTPExceptions map to the one shape", async () => {
  const { app } = appThrowing(() => new HTTPException(400, { message: "Malformed JSON" }));
  const res = await app.request("/boom");
  assert.equal(res.status, 400);
  const body = (await res.json()) as ErrorBody;
  assert.equal(body.error.code, "bad_request");
  assert.equal(body.error.message, "Malformed JSON");

  const { app: app500 } = appThrowing(() => new HTTPException(500, { message: "db said x" }));
  const res500 = await app500.request("/boom");
  assert.equal(res500.status, 500);
  const body500 = (await res500.json()) as ErrorBody;
  assert.equal(body500.error.code, "internal_error");
  assert.equal(body500.error.message, "Internal server error");
});

Deno.test("errors: unknown routes answer 404 in the one shape", async () => {
  const { app } = appThrowing(() => new Error("unused"));
  const res = await app.request("/nowhere", { method: "POST" });
  assert.equal(res.status, 404);
  const body = (await res.json()) as ErrorBody;
  assert.equal(body.error.code, "not_found");
  assert.equal(body.error.message, "No route for POST /nowhere");
  assert.ok(body.error.request_id);
});

Deno.test("errors: without requestLogger, onAppError still returns a request id", async () => {
  const app = new Hono();
  app.get("/x", () => {
    throw new ForbiddenError("nope");
  });
  app.onError(onAppError);
  const echoed = await app.request("/x", { headers: { "x-request-id": "abc_123" } });
  assert.equal(((await echoed.json()) as ErrorBody).error.request_id, "abc_123");
  const fresh = await app.request("/x", { headers: { "x-request-id": "bad id!" } });
  assert.match(((await fresh.json()) as ErrorBody).error.request_id, /^[0-9a-f-]{36}$/);
});
