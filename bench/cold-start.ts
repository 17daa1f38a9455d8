/**
 * Cold start of each Edge Function: time from process spawn to the first answer, as
 * a ratio to a baseline measured in the same run (a function with no imports at all),
 * because these machines are noisy. Prints a markdown table; `--write` also records it
 * in bench/RESULTS.md (between its cold-start markers). Needs a running stack for the
 * functions' environment (npm run up).
 */
import { stackEnv } from "../tests/support/stack.ts";
import { writeResults } from "./results.ts";

const RUNS = 7;
const root = new URL("../", import.meta.url);

interface Target {
  name: string;
  entry: string;
  path: string;
}

async function discover(): Promise<Target[]> {
  const targets: Target[] = [{
    name: "baseline (no imports)",
    entry: "tests/fixtures/supabase/functions/open/index.ts",
    path: "/open",
  }];
  for await (const e of Deno.readDir(new URL("supabase/functions/", root))) {
    // A function folder without its index.ts yet (modules landing first) has nothing to serve.
    const hasEntry = e.isDirectory &&
      await Deno.stat(new URL(`supabase/functions/${e.name}/index.ts`, root)).then(
        () => true,
        () => false,
      );
    if (hasEntry && !e.name.startsWith("_")) {
      targets.push({
        name: e.name,
        entry: `supabase/functions/${e.name}/index.ts`,
        path: `/${e.name}`,
      });
    }
  }
  return targets;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function coldStartMs(target: Target, env: Record<string, string>): Promise<number> {
  const port = freePort();
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", target.entry],
    cwd: root.pathname,
    // Deno.serve in the function binds here, as the hosted runtime decides its address.
    env: { ...env, DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}` },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}${target.path}`);
        await res.body?.cancel();
        return performance.now() - started;
      } catch {
        if (performance.now() - started > 30_000) throw new Error(`${target.name} never answered`);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const env = { ...stackEnv() } as Record<string, string>;
const targets = await discover();
const results = new Map<string, number[]>();
// Interleave runs so drift in machine load hits every target alike.
for (let run = 0; run < RUNS; run++) {
  for (const t of targets) {
    const ms = await coldStartMs(t, env);
    results.set(t.name, [...(results.get(t.name) ?? []), ms]);
  }
}
const baseline = median(results.get(targets[0].name)!);
const rows = targets.map((t) => {
  const m = median(results.get(t.name)!);
  return `| ${t.name} | ${m.toFixed(0)} | ${(m / baseline).toFixed(2)} |`;
});
const table = [
  `Cold start to first answer, median of ${RUNS} interleaved runs (${
    new Date().toISOString().slice(0, 10)
  })`,
  "",
  "| function | ms | × baseline |",
  "| --- | ---: | ---: |",
  ...rows,
].join("\n");
console.log(table);

if (Deno.args.includes("--write")) {
  await writeResults("cold-start", table);
}
