/**
 * supabase/functions/_shared/log.ts: JSON lines, redaction of secrets, phone masking,
 * bodies only at debug level, and the request-id middleware.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  createLogger,
  type LogLevel,
  type LogVariables,
  maskPhone,
  requestIdFrom,
  requestLogger,
} from "../supabase/functions/_shared/log.ts";

function capture(level: LogLevel = "info", base: Record<string, unknown> = {}) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = createLogger(base, {
    level,
    write: (line) => {
      raw.push(line);
      lines.push(JSON.parse(line));
    },
  });
  return { logger, lines, raw };
}

Deno.test("log: one JSON object per line with ts, level, msg, base and fields", () => {
  const { logger, lines, raw } = capture("info", { fn: "leads" });
  logger.info("imported", { rows: 3 });
  assert.equal(raw.length, 1);
  assert.ok(!raw[0].includes("\n"));
  const [line] = lines;
  assert.deepEqual(Object.keys(line).slice(0, 3), ["ts", "level", "msg"]);
  assert.equal(line.level, "info");
  assert.equal(line.msg, "imported");
  assert.equal(line.fn, "leads");
  assert.equal(line.rows, 3);
  assert.ok(!Number.isNaN(Date.parse(line.ts as string)));
});

Deno.test("log: lines below the level are dropped", () => {
  const { logger, lines } = capture("warn");
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  assert.deepEqual(lines.map((l) => l.level), ["warn", "error"]);
});

Deno.test("log: fields cannot overwrite ts, level or msg", () => {
  const { logger, lines } = capture();
  logger.info("real", { msg: "fake", level: "error", ts: "then" });
  assert.equal(lines[0].msg, "real");
  assert.equal(lines[0].level, "info");
  assert.notEqual(lines[0].ts, "then");
});

Deno.test("log: child loggers add fields and keep the parent's", () => {
  const { logger, lines } = capture("info", { fn: "twilio" });
  logger.child({ request_id: "r1" }).child({ org_id: "o1" }).info("x");
  assert.equal(lines[0].fn, "twilio");
  assert.equal(lines[0].request_id, "r1");
  assert.equal(lines[0].org_id, "o1");
});

Deno.test("log: secret-looking keys are redacted at any depth", () => {
  const { logger, lines, raw } = capture();
  logger.info("call", {
    access_token: "t1",
    TWILIO_AUTH_TOKEN: "t2",
    clientSecret: "s1",
    password: "p1",
    Authorization: "Bearer abc",
    apikey: "k1",
    api_key: "k2",
    signingKey: "k3",
    nested: { deeper: [{ refresh_token: "t3" }], apiKey: "k4" },
    kept: "visible",
  });
  for (const value of ["t1", "t2", "s1", "p1", "Bearer abc", "k1", "k2", "k3", "t3", "k4"]) {
    assert.ok(!raw[0].includes(`"${value}"`), `${value} must not be logged`);
  }
  assert.equal(lines[0].access_token, "[redacted]");
  assert.equal(lines[0].Authorization, "[redacted]");
  assert.equal(lines[0].signingKey, "[redacted]");
  const nested = lines[0].nested as { deeper: { refresh_token: string }[]; apiKey: string };
  assert.equal(nested.deeper[0].refresh_token, "[redacted]");
  assert.equal(nested.apiKey, "[redacted]");
  assert.equal(lines[0].kept, "visible");
});

Deno.test("log: maskPhone keeps only the last four digits", () => {
  assert.equal(maskPhone("+14155550123"), "***0123");
  assert.equal(maskPhone("+442071838750"), "***8750");
  assert.equal(maskPhone("+12"), "***");
});

Deno.test("log: E.164 numbers are masked wherever a string holds one", () => {
  const { logger, lines, raw } = capture();
  logger.info("sent to +14155550123", {
    to: "+14155550123",
    from: "+442071838750",
    detail: "Key (org_id, phone)=(7, +14155550199) already exists.",
    list: ["+15005550006"],
    not_a_phone: "+123",
    when: "2026-11-26T08:00:00+00:00",
  });
  for (const digits of ["4155550123", "2071838750", "4155550199", "5005550006"]) {
    assert.ok(!raw[0].includes(digits), `${digits} must be masked`);
  }
  assert.equal(lines[0].msg, "sent to ***0123");
  assert.equal(lines[0].to, "***0123");
  assert.equal(lines[0].from, "***8750");
  assert.equal(lines[0].detail, "Key (org_id, phone)=(7, ***0199) already exists.");
  assert.deepEqual(lines[0].list, ["***0006"]);
  assert.equal(lines[0].not_a_phone, "+123");
  assert.equal(lines[0].when, "2026-11-26T08:00:00+00:00");
});

Deno.test("log: message bodies are omitted unless the level is debug", () => {
  const info = capture("info");
  info.logger.info("inbound", { body: "STOP texting me", message: { body: "hi", sid: "SM1" } });
  assert.equal("body" in info.lines[0], false);
  assert.deepEqual(info.lines[0].message, { sid: "SM1" });
  assert.ok(!info.raw[0].includes("STOP"));

  const debug = capture("debug");
  debug.logger.info("inbound", { body: "STOP from +14155550123" });
  assert.equal(debug.lines[0].body, "STOP from ***0123", "kept at debug, still masked");
});

Deno.test("log: the default level and body rule follow LOG_LEVEL", () => {
  const before = Deno.env.get("LOG_LEVEL");
  try {
    Deno.env.set("LOG_LEVEL", "debug");
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({}, { write: (l) => lines.push(JSON.parse(l)) });
    assert.equal(logger.level, "debug");
    logger.debug("d", { body: "hello" });
    assert.equal(lines[0].body, "hello");

    Deno.env.set("LOG_LEVEL", "nonsense");
    assert.equal(createLogger({}, { write: () => {} }).level, "info");
    Deno.env.delete("LOG_LEVEL");
    assert.equal(createLogger({}, { write: () => {} }).level, "info");
  } finally {
    if (before === undefined) Deno.env.delete("LOG_LEVEL");
    else Deno.env.set("LOG_LEVEL", before);
  }
});

Deno.test("log: errors are logged with name, message and stack; cycles do not throw", () => {
  const { logger, lines } = capture();
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const err = Object.assign(new Error("boom at +14155550123"), {
    code: "23505",
    parameters: ["+14155550123", "Jane"],
  });
  logger.error("failed", { error: err, cyclic, big: 10n });
  const logged = lines[0].error as Record<string, unknown>;
  assert.equal(logged.name, "Error");
  assert.equal(logged.message, "boom at ***0123");
  assert.equal(logged.code, "23505");
  assert.equal(typeof logged.stack, "string");
  assert.equal(logged.parameters, undefined, "query parameters stay out of logs");
  assert.equal((lines[0].cyclic as Record<string, unknown>).self, "[circular]");
  assert.equal(lines[0].big, "10");
});

Deno.test("log: requestIdFrom accepts sane tokens only", () => {
  assert.equal(requestIdFrom("abc-DEF_123"), "abc-DEF_123");
  assert.equal(requestIdFrom("a".repeat(64)), "a".repeat(64));
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  for (const bad of [null, undefined, "", "a".repeat(65), "has space", "new\nline", "<script>"]) {
    assert.match(requestIdFrom(bad), uuid, `${JSON.stringify(bad)} is replaced`);
  }
});

function appWithRequestLogger() {
  const { logger, lines } = capture();
  const app = new Hono<{ Variables: LogVariables }>();
  app.use(requestLogger({ logger }));
  app.get("/hello", (c) => {
    c.get("log").info("inside", { to: "+14155550123" });
    return c.json({ requestId: c.get("requestId") });
  });
  app.get("/raw", () => new Response("raw"));
  app.get("/fail", (c) => c.text("down", 503));
  return { app, lines };
}

Deno.test("log: requestLogger echoes a sane x-request-id and logs one line per request", async () => {
  const { app, lines } = appWithRequestLogger();
  const res = await app.request("/hello?x=1", { headers: { "x-request-id": "req_42" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-request-id"), "req_42");
  assert.deepEqual(await res.json(), { requestId: "req_42" });
  assert.equal(lines.length, 2);
  assert.equal(lines[0].msg, "inside");
  assert.equal(lines[0].request_id, "req_42");
  assert.equal(lines[0].to, "***0123");
  const request = lines[1];
  assert.equal(request.msg, "request");
  assert.equal(request.level, "info");
  assert.equal(request.request_id, "req_42");
  assert.equal(request.method, "GET");
  assert.equal(request.path, "/hello");
  assert.equal(request.status, 200);
  assert.equal(typeof request.ms, "number");
});

Deno.test("log: requestLogger replaces an unsafe x-request-id", async () => {
  const { app, lines } = appWithRequestLogger();
  const res = await app.request("/hello", { headers: { "x-request-id": "x".repeat(65) } });
  const id = res.headers.get("x-request-id") ?? "";
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(await res.json(), { requestId: id });
  assert.equal(lines.at(-1)?.request_id, id);

  const none = await app.request("/hello");
  const other = none.headers.get("x-request-id");
  assert.match(other ?? "", /^[0-9a-f-]{36}$/);
  assert.notEqual(other, id);
  await none.body?.cancel();
});

Deno.test("log: requestLogger sets the id on raw Responses and logs 5xx as errors", async () => {
  const { app, lines } = appWithRequestLogger();
  const raw = await app.request("/raw", { headers: { "x-request-id": "r1" } });
  assert.equal(raw.headers.get("x-request-id"), "r1");
  assert.equal(await raw.text(), "raw");
  const failed = await app.request("/fail");
  assert.equal(failed.status, 503);
  await failed.body?.cancel();
  const last = lines.at(-1)!;
  assert.equal(last.level, "error");
  assert.equal(last.status, 503);
});
