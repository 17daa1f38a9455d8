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
  sanitize,
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

Deno.test("log: credential-like keys (pass, pwd, credential, dsn, jwt) are redacted", () => {
  const { logger, lines, raw } = capture();
  logger.info("connect", {
    credentials: { user: "u", secret: "c1" },
    passwd: "c2",
    pwd: "c3",
    dsn: "c4",
    jwt: "c5",
    db_pass: "c6",
    dbPass: "c7",
    sentryDsn: "c8",
    creds: "c9",
    passengers: 2,
    bypass_cache: true,
  });
  for (let i = 1; i <= 9; i++) assert.ok(!raw[0].includes(`c${i}`), `c${i} must not be logged`);
  for (const key of ["credentials", "passwd", "pwd", "dsn", "jwt", "db_pass", "dbPass"]) {
    assert.equal(lines[0][key], "[redacted]", key);
  }
  assert.equal(lines[0].passengers, 2, "`pass` counts as a whole word of the key only");
  assert.equal(lines[0].bypass_cache, true);
});

const JWT_TEXT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl-_x";

Deno.test("log: JWTs and bearer tokens are redacted in every string, errors included", () => {
  const { logger, lines, raw } = capture();
  logger.error(`auth failed for Bearer ${JWT_TEXT}`, {
    header: `Bearer ${JWT_TEXT}`,
    auth_header: `bearer opaque-token-1`,
    note: `token ${JWT_TEXT}, expired`,
    unsigned: "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    error: new Error(`bad jwt ${JWT_TEXT}`, { cause: new Error(`Bearer opaque-token-2`) }),
  });
  assert.ok(!raw[0].includes("eyJ"), "no JWT segment may be logged");
  assert.ok(!raw[0].includes("opaque-token"), "no bearer token may be logged");
  assert.equal(lines[0].msg, "auth failed for Bearer [redacted]");
  assert.equal(lines[0].header, "Bearer [redacted]");
  assert.equal(lines[0].auth_header, "bearer [redacted]");
  assert.equal(lines[0].note, "token [redacted-jwt], expired");
  assert.equal(lines[0].unsigned, "[redacted-jwt]");
  const logged = lines[0].error as { message: string; stack: string; cause: { message: string } };
  assert.equal(logged.message, "bad jwt [redacted-jwt]");
  assert.ok(logged.stack.includes("bad jwt [redacted-jwt]"));
  assert.equal(logged.cause.message, "Bearer [redacted]");
});

Deno.test("log: secret name=value pairs are redacted in query strings, forms and DSNs", () => {
  const cases: [string, string][] = [
    ["host=db password=s3cret user=x", "host=db password=[redacted] user=x"],
    ["host=db password='s3 \\'cret' port=5432", "host=db password=[redacted] port=5432"],
    ["PGPASSWORD=s3cret psql", "PGPASSWORD=[redacted] psql"],
    ["GET /cb?AuthToken=abc123&x=1", "GET /cb?AuthToken=[redacted]&x=1"],
    ["/v1?api_key=k-123&apikey=k-456", "/v1?api_key=[redacted]&apikey=[redacted]"],
    ["Body=hi&token=t-1&From=%2B14155550123", "Body=hi&token=[redacted]&From=***0123"],
    [
      "grant_type=refresh_token&refresh_token=t-2",
      "grant_type=refresh_token&refresh_token=[redacted]",
    ],
    [
      "client_secret=s-1&auth=a-1&Signature=g-1",
      "client_secret=[redacted]&auth=[redacted]&Signature=[redacted]",
    ],
    [
      "user=x pass=p-1 pwd=p-2 passwd=p-3",
      "user=x pass=[redacted] pwd=[redacted] passwd=[redacted]",
    ],
    ["next=/cb?token=t-3&ok=1", "next=/cb?token=[redacted]&ok=1"],
    ["next=%2Fcb%3Ftoken%3Dt-4%26ok%3D1", "next=%2Fcb%3Ftoken%3D[redacted]%26ok%3D1"],
  ];
  for (const [input, expected] of cases) assert.equal(sanitize(input), expected, input);

  const { logger, lines, raw } = capture();
  logger.warn("db down: host=db password=s3cret user=x", {
    body_sent: "From=%2B14155550123&AuthToken=abc123",
    error: new Error("connect failed: host=db password=s3cret"),
  });
  assert.ok(!raw[0].includes("s3cret") && !raw[0].includes("abc123"), raw[0]);
  assert.equal(lines[0].msg, "db down: host=db password=[redacted] user=x");
  assert.equal(lines[0].body_sent, "From=***0123&AuthToken=[redacted]");
});

Deno.test("log: secret pairs inside JSON text are redacted", () => {
  const text = 'token endpoint said {"access_token": "at-1", "expires_in": 3600, "scope": "sms"}';
  assert.equal(
    sanitize(text),
    'token endpoint said {"access_token": "[redacted]", "expires_in": 3600, "scope": "sms"}',
  );
});

Deno.test("log: numbers that read as phone numbers are masked under any key", () => {
  const { logger, lines, raw } = capture();
  logger.info("stored", {
    contact: 14155550123,
    national: 4155550123,
    uk: 447911123456,
    list: [12025550188],
    big: 14155550177n,
  });
  for (const digits of ["5550123", "7911123456", "5550188", "5550177"]) {
    assert.ok(!raw[0].includes(digits), `${digits} must be masked`);
  }
  assert.equal(lines[0].contact, "***0123");
  assert.equal(lines[0].national, "***0123");
  assert.equal(lines[0].uk, "***3456");
  assert.deepEqual(lines[0].list, ["***0188"]);
  assert.equal(lines[0].big, "***0177");
});

Deno.test("log: counters, latencies, epoch timestamps and long ids stay readable numbers", () => {
  const kept = {
    count: 42,
    ms: 1234,
    latency: 1234.5,
    at_ms: 1764143933123, // epoch milliseconds: 13 digits starting with 1
    at_s: 1764143933, // epoch seconds: 10 digits starting with 1, no NANP area code
    ten_billion: 10000000000, // 11 digits, `1` + area code 000
    not_nanp: 2011550123, // exchange 155 starts with 1
    short: 999999999, // below 1e9
    negative: -4155550123,
    sixteen: 4155550123456789,
    ids: [1234567890, 987654321012345678n],
  };
  const { logger, lines } = capture();
  logger.info("metrics", kept);
  const { ids: _ids, ...numbers } = kept;
  for (const [key, value] of Object.entries(numbers)) assert.equal(lines[0][key], value, key);
  assert.deepEqual(lines[0].ids, [1234567890, "987654321012345678"]);
});

Deno.test("log: ordinary text is not mistaken for a secret", () => {
  const kept = [
    "SM0123456789abcdef0123456789abcdef",
    "a0000000-0000-4000-8000-000000000001",
    "2026-11-26T07:18:53.123Z",
    "latency 1234 ms",
    "status=delivered",
    "callback status=delivered&MessageSid=SM0123456789abcdef0123456789abcdef&ErrorCode=30003",
    "page=2&per_page=50&sort=created_at",
    "token expired, please sign in again",
    "monkey.eyJfoo is not a token",
    "heyJohn.smith.example",
    "sha256=ab12 base64 YWJj== a==b",
  ];
  for (const text of kept) assert.equal(sanitize(text), text, text);
  const { logger, lines } = capture();
  logger.info("delivered at 2026-11-26T07:18:53.123Z", { query: kept[5], latency: kept[3] });
  assert.equal(lines[0].msg, "delivered at 2026-11-26T07:18:53.123Z");
  assert.equal(lines[0].query, kept[5]);
  assert.equal(lines[0].latency, kept[3]);
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
    short: "+123",
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
  assert.equal(lines[0].short, "+123");
  assert.equal(lines[0].when, "2026-11-26T08:00:00+00:00");
});

Deno.test("log: values under phone-party keys are masked whatever their format", () => {
  const { lines, logger, raw } = capture();
  logger.info("inbound", {
    From: "4155550123",
    To: "(415) 555-0199",
    msisdn: "447911123456",
    recipient: { number: "4155550100" },
    senderNumber: 14155550111,
    phone_numbers: ["415-555-0122", "whatsapp:4155550133"],
    ForwardedFrom: "0044 20 7183 8750",
    to: "",
    from: "2026-11-01",
    history: "kept",
    total: 4155550144,
  });
  for (const digits of ["5550123", "5550199", "7911123456", "5550100", "5550111", "5550122"]) {
    assert.ok(!raw[0].includes(digits), `${digits} must be masked`);
  }
  const line = lines[0];
  assert.equal(line.From, "***0123");
  assert.equal(line.To, "***0199");
  assert.equal(line.msisdn, "***3456");
  assert.deepEqual(line.recipient, { number: "***0100" });
  assert.equal(line.senderNumber, "***0111");
  assert.deepEqual(line.phone_numbers, ["***0122", "***0133"]);
  assert.equal(line.ForwardedFrom, "***8750");
  assert.equal(line.to, "", "an empty value stays empty");
  assert.equal(line.from, "2026-11-01", "a date under `from` is not a phone number");
  assert.equal(line.history, "kept", "`to` counts as a whole word of the key only");
  assert.equal(line.total, "***0144", "a phone-shaped number is masked under any key");
});

Deno.test("log: phone numbers in any common format are masked inside strings", () => {
  const cases: [string, string][] = [
    ['From: "4155550123"', 'From: "***0123"'],
    ["Body=hi&From=%2B14155550123&To=%2b14155550199", "Body=hi&From=***0123&To=***0199"],
    ["call 1 (415) 555-0123 now", "call ***0123 now"],
    ["call (415) 555-0123.", "call ***0123."],
    ["fax 415.555.0123", "fax ***0123"],
    ["tel 415-555-0123", "tel ***0123"],
    ["uk +44 20 7183 8750", "uk ***8750"],
    ["fr +33 1 23 45 67 89", "fr ***6789"],
    ["whatsapp:+14155550123", "whatsapp:***0123"],
    ["both 4155550123 4155550199", "both ***0123 ***0199"],
    ["lead_4155550123", "lead_***0123"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(sanitize(input), expected, input);
  }
});

Deno.test("log: timestamps, UUIDs, SIDs, addresses and small numbers are not masked", () => {
  const kept = [
    "2026-11-26T07:18:53.123Z",
    "2026-11-26T08:00:00+00:00",
    "at 2026-11-26 07:18:53.123456+00 in pg",
    "a0000000-0000-4000-8000-000000000001",
    "abcdefab-cdef-abcd-abcd-456789012345",
    "12345678-1234-4123-8123-123456789012",
    "latency 1234 ms",
    "SM0123456789abcdef0123456789abcdef",
    "AC0123456789abcdef0123456789abcdef",
    "connect ECONNREFUSED 192.168.100.200:5432",
    "rows 1 2 3, page 10 of 12",
    "snowflake 1234567890123456789",
    "+123",
  ];
  for (const text of kept) assert.equal(sanitize(text), text, text);
  const { logger, lines } = capture();
  logger.info("at 2026-11-26T07:18:53.123Z", { id: kept[3], ms: 1234, sid: kept[7] });
  assert.equal(lines[0].msg, "at 2026-11-26T07:18:53.123Z");
  assert.equal(lines[0].id, kept[3]);
  assert.equal(lines[0].ms, 1234);
  assert.equal(lines[0].sid, kept[7]);
});

Deno.test("log: credentials in URLs are redacted in every string, errors included", () => {
  const url = "postgresql://postgres:s3cret@db.example.test:5432/postgres";
  const { logger, lines, raw } = capture();
  const err = new Error(`could not connect to ${url}`);
  logger.error(`connecting to ${url}`, {
    db: url,
    list: ["redis://:p@ss@cache:6379/0"],
    error: err,
    cause: new Error("wrapped", { cause: new Error(`at ${url}`) }),
    kept: "http://localhost:3000/users?email=a@b.test",
  });
  assert.ok(!raw[0].includes("s3cret"), "the password must not be logged");
  assert.ok(!raw[0].includes("p@ss"), "a password holding @ must not be logged");
  const safe = "postgresql://postgres:[redacted]@db.example.test:5432/postgres";
  assert.equal(lines[0].msg, `connecting to ${safe}`);
  assert.equal(lines[0].db, safe);
  assert.deepEqual(lines[0].list, ["redis://:[redacted]@cache:6379/0"]);
  const logged = lines[0].error as { message: string; stack: string };
  assert.equal(logged.message, `could not connect to ${safe}`);
  assert.ok(logged.stack.includes(safe));
  assert.equal(lines[0].kept, "http://localhost:3000/users?email=a@b.test");
});

Deno.test("log: signatures and cookies are redacted, in Headers and form params too", () => {
  const { logger, lines, raw } = capture();
  const headers = new Headers({
    "x-twilio-signature": "sig-value-1",
    cookie: "sb=cookie-value",
    "content-type": "application/x-www-form-urlencoded",
  });
  logger.info("webhook", {
    headers,
    plain: { "X-Twilio-Signature": "sig-value-2", "set-cookie": "a=cookie-value-2" },
    signature: "sig-value-3",
    form: new URLSearchParams("From=%2B14155550123&Body=hi"),
  });
  for (const value of ["sig-value", "cookie-value", "5550123"]) {
    assert.ok(!raw[0].includes(value), `${value} must not be logged`);
  }
  assert.deepEqual(lines[0].headers, {
    "content-type": "application/x-www-form-urlencoded",
    cookie: "[redacted]",
    "x-twilio-signature": "[redacted]",
  });
  assert.deepEqual(lines[0].plain, {
    "X-Twilio-Signature": "[redacted]",
    "set-cookie": "[redacted]",
  });
  assert.equal(lines[0].signature, "[redacted]");
  assert.deepEqual(lines[0].form, { From: "***0123" }, "Twilio's Body is dropped at info");
});

Deno.test("log: phone numbers used as keys are masked", () => {
  assert.deepEqual(sanitize({ "+14155550123": 2 }), { "***0123": 2 });
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

Deno.test("log: requestLogger at successLevel debug logs answers below 400 only at debug; 4xx warn, 5xx error", async () => {
  for (const level of ["info", "debug"] as const) {
    const { logger, lines } = capture(level);
    const app = new Hono<{ Variables: LogVariables }>();
    app.use(requestLogger({ logger, successLevel: "debug" }));
    app.get("/ok", (c) => c.text("ok"));
    app.get("/bad", (c) => c.text("bad", 422));
    app.get("/down", (c) => c.text("down", 503));
    for (const path of ["/ok", "/bad", "/down"]) await (await app.request(path)).body?.cancel();
    const seen = lines.map((l) => `${l.status} ${l.level}`);
    assert.deepEqual(
      seen,
      level === "debug" ? ["200 debug", "422 warn", "503 error"] : ["422 warn", "503 error"],
      `at ${level}`,
    );
  }
});
