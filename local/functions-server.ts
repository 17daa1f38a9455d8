/**
 * The local Edge Functions gateway: one Deno server serving every function at
 * `/functions/v1/<name>/…`, the hosted URL shape, and the JWKS of the local signing
 * key at `/auth/v1/.well-known/jwks.json`.
 *
 * Each function's own `index.ts` runs unchanged: it calls `Deno.serve(handler)` as it
 * does on hosted, and this server captures that handler instead of letting it bind a
 * port. As on hosted, the function sees the path without `/functions/v1`, and the
 * gateway checks the JWT first when the function's `verify_jwt` (config.toml, default
 * true) says so.
 */
import { parse as parseToml } from "smol-toml";
import { jwks, loadOrCreateKeys } from "./keys.ts";
import { createVerifier } from "../supabase/functions/_shared/auth.ts";

type Handler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

interface LoadedFunction {
  name: string;
  verifyJwt: boolean;
  handler?: Handler;
  bootError?: string;
  coldStartMs: number;
}

const defaultFunctionsDir = new URL("../supabase/functions/", import.meta.url);

/** Names of deployable functions: folders with an index.ts, `_shared` excluded. */
async function discoverFunctions(functionsDir: URL): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(functionsDir)) {
    if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    try {
      await Deno.stat(new URL(`${entry.name}/index.ts`, functionsDir));
      names.push(entry.name);
    } catch {
      // a folder without an entry point is not a function
    }
  }
  return names.sort();
}

/** `[functions.<name>] verify_jwt` from supabase/config.toml; hosted defaults to true. */
async function verifyJwtSettings(configFile: URL): Promise<Map<string, boolean>> {
  const text = await Deno.readTextFile(configFile);
  const config = parseToml(text) as { functions?: Record<string, { verify_jwt?: boolean }> };
  const settings = new Map<string, boolean>();
  for (const [name, fn] of Object.entries(config.functions ?? {})) {
    settings.set(name, fn.verify_jwt ?? true);
  }
  return settings;
}

/** Handlers by module URL: a module runs once per process, however many gateways start. */
const capturedHandlers = new Map<string, Handler>();

/**
 * Imports a function module with `Deno.serve` swapped for a recorder, so the module's
 * own start-up code runs exactly as it would in the hosted runtime.
 */
async function loadFunction(
  functionsDir: URL,
  name: string,
  verifyJwt: boolean,
): Promise<LoadedFunction> {
  const realServe = Deno.serve;
  let captured: Handler | undefined;
  const recorder = (...args: unknown[]) => {
    const last = args.at(-1) as Handler | { handler?: Handler };
    captured = typeof last === "function" ? last : last.handler;
    const finished = Promise.resolve();
    return {
      finished,
      addr: { transport: "tcp", hostname: "127.0.0.1", port: 0 },
      shutdown: () => finished,
      ref() {},
      unref() {},
      [Symbol.asyncDispose]: () => finished,
    };
  };
  const started = performance.now();
  const moduleUrl = new URL(`${name}/index.ts`, functionsDir).href;
  Object.defineProperty(Deno, "serve", { value: recorder, configurable: true, writable: true });
  try {
    await import(moduleUrl);
    captured ??= capturedHandlers.get(moduleUrl);
    if (!captured) throw new Error("index.ts did not call Deno.serve");
    capturedHandlers.set(moduleUrl, captured);
    return { name, verifyJwt, handler: captured, coldStartMs: performance.now() - started };
  } catch (error) {
    const bootError = error instanceof Error ? error.message : String(error);
    return { name, verifyJwt, bootError, coldStartMs: performance.now() - started };
  } finally {
    Object.defineProperty(Deno, "serve", { value: realServe, configurable: true, writable: true });
  }
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

export interface GatewayOptions {
  port: number;
  /** Folder of the local signing keys (local/keys.ts). */
  keysDir: string;
  legacyJwtSecret?: string;
  /** Folder of the functions (default supabase/functions/); tests point it at fixtures. */
  functionsDir?: URL;
}

export async function startGateway(opts: GatewayOptions): Promise<Deno.HttpServer> {
  const keys = await loadOrCreateKeys(opts.keysDir);
  const publicJwks = jwks(keys);
  const functionsDir = opts.functionsDir ?? defaultFunctionsDir;
  const settings = await verifyJwtSettings(new URL("../config.toml", functionsDir));
  const functions = new Map<string, LoadedFunction>();
  for (const name of await discoverFunctions(functionsDir)) {
    const loaded = await loadFunction(functionsDir, name, settings.get(name) ?? true);
    functions.set(name, loaded);
    log({
      msg: loaded.bootError ? "function boot failed" : "function loaded",
      function: name,
      cold_start_ms: Math.round(loaded.coldStartMs),
      verify_jwt: loaded.verifyJwt,
      ...(loaded.bootError ? { error: loaded.bootError } : {}),
    });
  }
  const verify = createVerifier({
    jwksUrl: new URL(`http://127.0.0.1:${opts.port}/auth/v1/.well-known/jwks.json`),
    legacyJwtSecret: opts.legacyJwtSecret,
  });

  const route = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/auth/v1/.well-known/jwks.json") return json(200, publicJwks);
    const match = url.pathname.match(/^\/functions\/v1\/([A-Za-z0-9_-]+)(\/.*)?$/);
    if (!match) return json(404, { code: "NOT_FOUND", message: "Requested path not found" });
    const fn = functions.get(match[1]);
    if (!fn) return json(404, { code: "NOT_FOUND", message: "Requested function was not found" });
    if (!fn.handler) {
      return json(503, {
        code: "BOOT_ERROR",
        message: "Function failed to start (please check logs)",
      });
    }
    if (fn.verifyJwt) {
      const header = req.headers.get("authorization") ?? "";
      const token = header.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (!token) return json(401, { code: 401, message: "Missing authorization header" });
      try {
        await verify(token);
      } catch {
        return json(401, { code: 401, message: "Invalid JWT" });
      }
    }
    const inner = new URL(`/${fn.name}${match[2] ?? ""}${url.search}`, url);
    const forwarded = new Request(inner, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: "manual",
    });
    return await fn.handler(forwarded, info);
  };

  return Deno.serve({ hostname: "127.0.0.1", port: opts.port, onListen() {} }, route);
}

function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ ts: new Date().toISOString(), service: "functions", ...fields }));
}

if (import.meta.main) {
  const port = Number(Deno.env.get("LOCAL_API_PORT"));
  const keysDir = Deno.env.get("LOCAL_KEYS_DIR");
  if (!port || !keysDir) throw new Error("LOCAL_API_PORT and LOCAL_KEYS_DIR are required");
  const server = await startGateway({
    port,
    keysDir,
    legacyJwtSecret: Deno.env.get("LEGACY_JWT_SECRET"),
  });
  log({ msg: "listening", url: `http://127.0.0.1:${port}` });
  const stop = () => server.shutdown().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
