/**
 * Child processes of the local stack (functions gateway, Twilio sandbox, pg_net
 * worker): started with the stack's environment, recorded by PID, stopped by PID.
 */
import { join } from "node:path";
import type { Profile } from "./profiles.ts";

export interface ServiceSpec {
  name: string;
  script: string;
  env: Record<string, string>;
  /** Deno arguments before the script (V8 flags). */
  denoArgs?: readonly string[];
}

/** Where a foreground service's output goes (default: our stdout and stderr). */
export interface ServiceOutput {
  stdout: LineSink;
  stderr: LineSink;
}

/** Receives whole lines. */
export interface LineSink {
  writeSync(p: Uint8Array): number;
}

export interface RunningService {
  name: string;
  pid: number;
  script: string;
  status: Promise<Deno.CommandStatus>;
}

const localDir = new URL(".", import.meta.url);

/**
 * Starts one service. `detached` (npm run up) puts it in its own session with its
 * output in the profile's log folder, so it outlives the command that started it;
 * otherwise (npm start, npm test) its lines are prefixed with its name on our output (or
 * on `output`: npm start prints them above its live view).
 */
export function spawnService(
  p: Profile,
  spec: ServiceSpec,
  detached: boolean,
  output: ServiceOutput = { stdout: Deno.stdout, stderr: Deno.stderr },
): RunningService {
  const script = new URL(spec.script, localDir).pathname;
  const denoArgs = ["run", "--allow-all", "--quiet", ...(spec.denoArgs ?? []), script];
  const env = { ...spec.env, NO_COLOR: "1" };
  if (detached) {
    // The shell redirects output to the log file and execs, so the PID we record is the
    // service's own and nothing ties it to this short-lived process.
    const logFile = join(p.logDir, `${spec.name}.log`);
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        'log="$1"; shift; exec setsid "$@" >>"$log" 2>&1',
        "sh",
        logFile,
        Deno.execPath(),
        ...denoArgs,
      ],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    return { name: spec.name, pid: child.pid, script, status: child.status };
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  void prefixLines(child.stdout, spec.name, output.stdout);
  void prefixLines(child.stderr, spec.name, output.stderr);
  return { name: spec.name, pid: child.pid, script, status: child.status };
}

async function prefixLines(
  stream: ReadableStream<Uint8Array>,
  name: string,
  sink: LineSink,
): Promise<void> {
  const encoder = new TextEncoder();
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) sink.writeSync(encoder.encode(`[${name}] ${line}\n`));
  }
  if (pending) sink.writeSync(encoder.encode(`[${name}] ${pending}\n`));
}

/** True when `pid` is alive and still runs `script` (a PID may have been reused). */
export async function isOurProcess(pid: number, script: string): Promise<boolean> {
  try {
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    return cmdline.split("\0").includes(script);
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
export async function stopProcess(pid: number, script: string, graceMs = 5000): Promise<void> {
  if (!(await isOurProcess(pid, script))) return;
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isOurProcess(pid, script))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
