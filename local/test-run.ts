/**
 * `npm test`: a fresh test stack on its own ports and data folder, the static checks,
 * the committed database types against the migrated schema, pgTAP through pg_prove
 * (what `supabase test db` runs), the Deno tests against the stack, then every process
 * stopped — whatever happened.
 */
import { join } from "node:path";
import { profile, repoRoot } from "./profiles.ts";
import { down, supabaseCli, up } from "./stack.ts";
import { dbUrl } from "./postgres.ts";
import { committedTypes, generateDatabaseTypes, TYPES_FILE, typesDiff } from "./db-types.ts";
import type { Profile } from "./profiles.ts";

interface StepResult {
  name: string;
  passed: number;
  failed: number;
  ok: boolean;
  seconds: number;
}

const say = (line: string) => console.error(`» ${line}`);

/** Runs a command with our output inherited while keeping a copy to count results. */
async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ ok: boolean; output: string }> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: repoRoot,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const tee = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      output += new TextDecoder().decode(chunk);
      await sink.write(chunk);
    }
  };
  const [status] = await Promise.all([
    child.status,
    tee(child.stdout, Deno.stdout),
    tee(child.stderr, Deno.stderr),
  ]);
  return { ok: status.success, output };
}

async function timed(name: string, fn: () => Promise<Omit<StepResult, "name" | "seconds">>) {
  const started = performance.now();
  say(name);
  const result = await fn();
  return { name, ...result, seconds: (performance.now() - started) / 1000 };
}

async function staticChecks(): Promise<Omit<StepResult, "name" | "seconds">> {
  const deno = Deno.execPath();
  const steps = [
    ["fmt", "--check"],
    ["lint"],
    ["check", "supabase/functions", "local", "tests", "bench"],
  ];
  let failed = 0;
  for (const args of steps) if (!(await run(deno, args)).ok) failed++;
  return { passed: steps.length - failed, failed, ok: failed === 0 };
}

async function pgTap(
  socketDir: string,
  port: number,
): Promise<Omit<StepResult, "name" | "seconds">> {
  const files: string[] = [];
  for await (const e of Deno.readDir(join(repoRoot, "supabase", "tests"))) {
    if (e.name.endsWith(".test.sql")) files.push(join("supabase", "tests", e.name));
  }
  files.sort();
  const { ok, output } = await run("pg_prove", [
    "-h",
    socketDir,
    "-p",
    String(port),
    "-U",
    "postgres",
    "-d",
    "postgres",
    "--ext",
    ".sql",
    ...files,
  ]);
  const total = Number(output.match(/Tests=(\d+)/)?.[1] ?? 0);
  const failed = [...output.matchAll(/Failed (\d+)\/\d+ subtests/g)]
    .reduce((n, m) => n + Number(m[1]), 0);
  return { passed: total - failed, failed: ok ? failed : Math.max(failed, 1), ok };
}

/** `supabase db lint` (plpgsql_check) over our schemas: any warning fails. */
async function dbLint(p: Profile): Promise<Omit<StepResult, "name" | "seconds">> {
  try {
    const out = await supabaseCli([
      "db",
      "lint",
      "--db-url",
      `${dbUrl(p)}?sslmode=disable`,
      "--schema",
      "public,private",
      "--fail-on",
      "warning",
    ]);
    console.log(out.trim());
    return { passed: 1, failed: 0, ok: true };
  } catch (error) {
    console.log(error instanceof Error ? error.message : String(error));
    return { passed: 0, failed: 1, ok: false };
  }
}

/**
 * The committed database types are what the migrated schema gives: a migration that
 * changes the schema ships with `npm run gen:types`' output.
 */
async function generatedTypes(p: Profile): Promise<Omit<StepResult, "name" | "seconds">> {
  const committed = await committedTypes();
  let generated: string;
  try {
    generated = await generateDatabaseTypes(dbUrl(p));
  } catch (error) {
    console.log(`could not generate the types: ${error instanceof Error ? error.message : error}`);
    return { passed: 0, failed: 1, ok: false };
  }
  if (committed === generated) {
    console.log(`${TYPES_FILE} matches the database`);
    return { passed: 1, failed: 0, ok: true };
  }
  if (committed === undefined) {
    console.log(`${TYPES_FILE} is missing: run \`npm run gen:types\` (with the dev stack up)`);
  } else {
    console.log(`${TYPES_FILE} differs from the types of the migrated database:`);
    for (const line of await typesDiff(committed, generated)) console.log(`  ${line}`);
    console.log("run `npm run gen:types` (with the dev stack up) and commit the result");
  }
  return { passed: 0, failed: 1, ok: false };
}

async function denoTests(env: Record<string, string>, filters: string[]) {
  const { ok, output } = await run(
    Deno.execPath(),
    ["test", "--allow-all", "--quiet", ...(filters.length ? filters : ["tests/"])],
    env,
  );
  const summary = output.match(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  const passed = Number(summary?.[1] ?? 0);
  const failed = Number(summary?.[2] ?? (ok ? 0 : 1));
  return { passed, failed, ok };
}

export async function runTests(filters: string[]): Promise<number> {
  const p = profile("test");
  const started = performance.now();
  await down(p);
  await Deno.remove(p.dir, { recursive: true }).catch(() => {});
  await Deno.remove(p.serverDir, { recursive: true }).catch(() => {});
  const results: StepResult[] = [];
  // Ctrl-C or SIGTERM: no further step starts (running ones get the signal from the
  // terminal themselves), and the stack is stopped on the way out, as after any run.
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort(new Error("interrupted"));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    results.push(await timed("static checks (deno fmt, lint, check)", staticChecks));
    const stack = await up(p, { detached: true, say, signal: interrupted.signal });
    say(`test stack up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    interrupted.signal.throwIfAborted();
    results.push(await timed("supabase db lint (plpgsql_check)", () => dbLint(p)));
    results.push(await timed("generated types", () => generatedTypes(p)));
    results.push(await timed("pgTAP (pg_prove)", () => pgTap(p.socketDir, p.dbPort)));
    interrupted.signal.throwIfAborted();
    const env = { ...stack.env, LOCAL_PROFILE_DIR: p.dir };
    results.push(await timed("Deno tests", () => denoTests(env, filters)));
  } finally {
    await down(p);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log("");
  for (const r of results) {
    console.log(
      `  ${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(40)} ${r.passed} passed, ${r.failed} failed` +
        `  (${r.seconds.toFixed(1)} s)`,
    );
  }
  console.log(`  total time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`tests: ${passed} passed, ${failed} failed`);
  return results.every((r) => r.ok) ? 0 : 1;
}
