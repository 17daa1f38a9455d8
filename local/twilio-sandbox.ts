/**
 * A local stand-in for Twilio's Messages API ("the sandbox").
 *
 * Our Edge Functions reach it through their Twilio base-URL setting and run exactly
 * the code they run in production: the sandbox accepts `CreateMessage` with Twilio's
 * authentication, validation and error codes, answers with Twilio's Message resource,
 * and then plays a carrier, posting signed status callbacks (with configurable
 * latency, failures, duplicates and reordering) and, when asked to, the recipients'
 * replies (questions and opt-outs). `/_sandbox/*` lets tests steer it,
 * inspect what was sent and inject incoming messages. Modules are in
 * `twilio-sandbox/`.
 *
 * Run alone: TWILIO_SANDBOX_PORT, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and optional
 * TWILIO_SANDBOX_INBOUND_URL; it logs one JSON line once listening and stops on
 * SIGINT/SIGTERM.
 */
import { defaultConfig, parseConfigPatch } from "./twilio-sandbox/config.ts";
import { handleControl } from "./twilio-sandbox/control.ts";
import { notFound, TwilioApiError, twilioErrorResponse } from "./twilio-sandbox/errors.ts";
import { createState, type Logger, type SandboxState } from "./twilio-sandbox/state.ts";
import { handleTwilioApi } from "./twilio-sandbox/twilio-api.ts";
import { errorMessage } from "./twilio-sandbox/webhook.ts";

export { twilioSignature } from "./twilio-sandbox/signature.ts";
export { countSegments } from "./twilio-sandbox/segments.ts";

export interface SandboxOptions {
  /** 0 picks a free port. */
  port: number;
  /** "AC" + 32 hex: the only account the sandbox knows. */
  accountSid: string;
  authToken: string;
  /** Where `POST /_sandbox/inbound` posts by default: our twilio function's /inbound. */
  inboundUrl?: string;
  /** Receives one object per notable event (failed callbacks, …); default: a JSON line on stderr. */
  log?: (entry: Record<string, unknown>) => void;
}

export interface TwilioSandbox {
  /** Base URL, e.g. http://127.0.0.1:54325; Twilio's paths start below it. */
  url: string;
  /** Stops callbacks and timers, then the server. Safe to call more than once. */
  shutdown(): Promise<void>;
}

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

export function startTwilioSandbox(opts: SandboxOptions): TwilioSandbox {
  const state = createState(
    requireAccountSid(opts.accountSid),
    requireAuthToken(opts.authToken),
    initialConfig(opts.inboundUrl),
    opts.log ?? logToStderr,
  );
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: opts.port, onListen: () => {} },
    (req) => handle(req, state),
  );
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    shutdown: () => stopped ??= stop(server, state),
  };
}

function requireAccountSid(accountSid: string): string {
  if (!ACCOUNT_SID.test(accountSid)) throw new Error("accountSid must be AC followed by 32 hex");
  return accountSid;
}

function requireAuthToken(authToken: string): string {
  if (authToken === "") throw new Error("authToken must not be empty");
  return authToken;
}

/** The defaults, with the inbound URL checked by the same rules as a config change. */
function initialConfig(inboundUrl: string | undefined) {
  if (inboundUrl === undefined) return defaultConfig(null);
  const parsed = parseConfigPatch({ inbound_url: inboundUrl });
  if (!parsed.ok) throw new Error(`inboundUrl ${parsed.issues[0].message}`);
  return defaultConfig(inboundUrl);
}

async function handle(req: Request, state: SandboxState): Promise<Response> {
  const url = new URL(req.url);
  try {
    if (url.pathname.startsWith("/2010-04-01/")) {
      return await handleTwilioApi(req, url.pathname, state);
    }
    if (url.pathname.startsWith("/_sandbox/")) return await handleControl(req, url, state);
    throw notFound(url.pathname);
  } catch (error) {
    if (error instanceof TwilioApiError) return twilioErrorResponse(error);
    state.log({ event: "internal_error", path: url.pathname, error: errorMessage(error) });
    return twilioErrorResponse(new TwilioApiError(500, 20500, "Internal Server Error"));
  }
}

/** Background work first, so no callback starts while the server winds down. */
async function stop(server: Deno.HttpServer, state: SandboxState): Promise<void> {
  state.stopping.abort();
  await state.tasks.close();
  await server.shutdown();
  state.client.close();
}

const logToStderr: Logger = (entry) => {
  console.error(
    JSON.stringify({ time: new Date().toISOString(), source: "twilio-sandbox", ...entry }),
  );
};

function optionsFromEnv(): SandboxOptions {
  const port = Number(Deno.env.get("TWILIO_SANDBOX_PORT") ?? "0");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error("TWILIO_SANDBOX_PORT must be a port number (0 picks a free one)");
  }
  const accountSid = Deno.env.get("TWILIO_ACCOUNT_SID");
  const authToken = Deno.env.get("TWILIO_AUTH_TOKEN");
  if (!accountSid || !authToken) {
    throw new Error("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set");
  }
  const inboundUrl = Deno.env.get("TWILIO_SANDBOX_INBOUND_URL") || undefined;
  return { port, accountSid, authToken, inboundUrl };
}

function main(): void {
  let sandbox: TwilioSandbox;
  try {
    sandbox = startTwilioSandbox(optionsFromEnv());
  } catch (error) {
    logToStderr({ event: "start_failed", error: errorMessage(error) });
    Deno.exit(1);
  }
  console.log(JSON.stringify({ event: "twilio_sandbox_listening", url: sandbox.url }));
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => {
    // Without listeners or a server left, the process ends by itself once shutdown is done.
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    sandbox.shutdown().catch((error) => {
      logToStderr({ event: "shutdown_failed", error: errorMessage(error) });
      Deno.exit(1);
    });
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
}

if (import.meta.main) main();
