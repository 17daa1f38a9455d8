/**
 * The ceilings of bench/twilio-status.ts: a Hono app on Deno.serve answering
 * `POST /functions/v1/twilio/status` as the real function does (the form body read, an empty
 * TwiML `<Response/>` answered), run as a process of its own under the same V8 limits as the
 * functions gateway, with postgres.js set up as the functions' `createDb` sets it up (4
 * connections, prepared statements) over SUPABASE_DB_URL. `--mode`:
 *
 * - `noop`: nothing else: what Deno, Hono and HTTP cost.
 * - `update`: one indexed single-row `UPDATE public.messages … WHERE twilio_sid = $1`
 *   (autocommit: one round trip) for the MessageSid of the body: what a webhook that writes
 *   one row costs at the least.
 *
 * Steps between the ceiling and the real route, for `--breakdown` (each adds one thing):
 *
 * - `tx-update`: the same UPDATE in a transaction shaped as `db.asSystem`'s (BEGIN, the
 *   set_config of role and claims, the UPDATE, COMMIT: four round trips; the role stays
 *   postgres, since sms_system may only call functions).
 * - `fn`: `private.record_message_status(…)` in autocommit (one round trip), no middleware.
 * - `tx-fn`: the same inside `db.asSystem` (how the function first called it), no middleware.
 * - `middleware`: the function's middleware (request log, signature check, zod parameters)
 *   behind the gateway's forward (path rewritten, a new Request), and no database work.
 *
 * Listens on 127.0.0.1:$PORT. Stop it with SIGTERM.
 */
import { Hono } from "hono";
import postgres from "postgres";
import { createDb } from "../supabase/functions/_shared/db.ts";
import { notFoundHandler, onAppError } from "../supabase/functions/_shared/errors.ts";
import { type LogVariables, requestLogger } from "../supabase/functions/_shared/log.ts";
import { statusParams } from "../supabase/functions/twilio/params.ts";
import {
  type SignedVariables,
  verifyTwilioSignature,
} from "../supabase/functions/twilio/signature.ts";
import { twiml } from "../supabase/functions/twilio/twiml.ts";

const CEILING_MODES = ["noop", "update", "tx-update", "fn", "tx-fn", "middleware"] as const;
type CeilingMode = (typeof CEILING_MODES)[number];

const mode = Deno.args[Deno.args.indexOf("--mode") + 1] as CeilingMode;
if (!CEILING_MODES.includes(mode)) throw new Error(`--mode: one of ${CEILING_MODES.join(", ")}`);
const port = Number(Deno.env.get("PORT"));
const dbUrl = Deno.env.get("SUPABASE_DB_URL");
if (!port || !dbUrl) throw new Error("PORT and SUPABASE_DB_URL are required");

const db = createDb({ url: dbUrl, max: 4 });
const sql = db.sql;
const answer = twiml(null);
const xml = () => new Response(answer, { headers: { "content-type": "text/xml; charset=utf-8" } });
const sidOf = (raw: string) => new URLSearchParams(raw).get("MessageSid") ?? "";

/** The one-row write of the `update` ceiling. */
const touch = (q: postgres.Sql | postgres.TransactionSql, sid: string) =>
  q`update public.messages set status_times = status_times where twilio_sid = ${sid}`;

/** The function's call, with the parameters it passes. */
const recordStatus = (
  q: postgres.Sql | postgres.TransactionSql,
  p: Record<string, string>,
) =>
  q`select private.record_message_status(${p.MessageSid}, ${p.MessageStatus},
      ${p.ErrorCode ?? null}::integer, ${p.ErrorMessage ?? null}) as outcome`;

/** The ceilings: the route at its public path, as a function of its own would serve it. */
function ceilingApp(): Hono {
  const app = new Hono().basePath("/functions/v1/twilio");
  app.post("/status", async (c) => {
    const raw = await c.req.text();
    switch (mode) {
      case "noop":
        break;
      case "update":
        await touch(sql, sidOf(raw));
        break;
      case "tx-update":
        await sql.begin(async (tx) => {
          await tx`
            select set_config('role', 'postgres', true),
                   set_config('request.jwt.claims', '', true)`;
          await touch(tx, sidOf(raw));
        });
        break;
      case "fn":
        await recordStatus(sql, Object.fromEntries(new URLSearchParams(raw)));
        break;
      case "tx-fn":
        await db.asSystem((tx) => recordStatus(tx, Object.fromEntries(new URLSearchParams(raw))));
        break;
    }
    return xml();
  });
  return app;
}

/**
 * `middleware`: the function's app without its database call, behind the gateway's forward
 * (local/functions-server.ts: the path without /functions/v1, a new Request), since the
 * signature check reads the URL the function sees.
 */
function middlewareHandler(): (req: Request) => Response | Promise<Response> {
  const env = Deno.env.toObject();
  const app = new Hono<{ Variables: LogVariables & SignedVariables }>().basePath("/twilio");
  app.use(requestLogger());
  app.use(verifyTwilioSignature(env.TWILIO_AUTH_TOKEN, env.PUBLIC_BASE_URL ?? env.SUPABASE_URL));
  app.post("/status", (c) => {
    const parsed = statusParams.safeParse(c.get("params"));
    if (!parsed.success) throw new Error("invalid parameters");
    return xml();
  });
  app.notFound(notFoundHandler);
  app.onError(onAppError);
  return (req) => {
    const url = new URL(req.url);
    const match = url.pathname.match(/^\/functions\/v1\/(twilio)(\/.*)?$/);
    if (!match) return new Response("not found", { status: 404 });
    const inner = new URL(`/${match[1]}${match[2] ?? ""}${url.search}`, url);
    return app.fetch(
      new Request(inner, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        redirect: "manual",
      }),
    );
  };
}

const server = Deno.serve(
  { hostname: "127.0.0.1", port, onListen() {} },
  mode === "middleware" ? middlewareHandler() : ceilingApp().fetch,
);
const stop = () => {
  server.shutdown().then(() => db.end()).finally(() => Deno.exit(0));
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
