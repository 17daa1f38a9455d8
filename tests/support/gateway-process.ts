/**
 * A functions gateway process of a test's own (local/functions-server.ts, under hosted's
 * limits as the stack starts it), with the stack's environment and the test's overrides:
 * to give a function other settings, or to kill it mid-request by its PID.
 */
import { GATEWAY_DENO_ARGS } from "../../local/function-limits.ts";
import { freePort, stackEnv } from "./stack.ts";

export interface GatewayProcess {
  /** `http://127.0.0.1:<port>`; functions at `${base}/functions/v1/<name>`. */
  base: string;
  pid: number;
  /** Sends `signal` to this process only and waits for it to end. */
  kill(signal: Deno.Signal): Promise<Deno.CommandStatus>;
  /** SIGTERM (a clean shutdown) unless it has ended already. */
  stop(): Promise<void>;
}

export async function startGatewayProcess(
  overrides: Record<string, string> = {},
): Promise<GatewayProcess> {
  const env = stackEnv();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      ...GATEWAY_DENO_ARGS,
      new URL("../../local/functions-server.ts", import.meta.url).pathname,
    ],
    env: {
      ...env,
      ...overrides,
      LOCAL_API_PORT: String(port),
      LOCAL_KEYS_DIR: env.LOCAL_PROFILE_DIR,
    },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let ended: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => ended = s);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${base}/auth/v1/.well-known/jwks.json`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (ended || Date.now() > deadline) {
      if (!ended) child.kill("SIGKILL");
      await status;
      throw new Error(`gateway process did not start (exit ${ended?.code})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const kill = async (signal: Deno.Signal) => {
    try {
      if (!ended) child.kill(signal);
    } catch {
      // it ended meanwhile
    }
    await status;
    return ended!;
  };
  return {
    base,
    pid: child.pid,
    kill,
    async stop() {
      await kill("SIGTERM");
    },
  };
}
