/**
 * `npm run gen:types`: the database's TypeScript types, the same as
 * `supabase gen types typescript --local` writes them, without Docker.
 *
 * The Supabase CLI (2.117.0, pinned in package.json) runs the image
 * `supabase/postgres-meta:v0.99.0` with `PG_META_GENERATE_TYPES=typescript`, the included
 * schemas, and one-to-one relationship detection on. postgres-meta 0.99.0's type generation
 * is `@supabase/postgrest-typegen` 0.2.0 (published with it): `introspect`, then
 * `sortGeneratorMetadata`, then `generateTypescript`, whose output is the same whichever
 * Postgres driver runs the introspection queries. This module makes those three calls with
 * the options the CLI passes, over postgres.js, then formats the result with `deno fmt` so
 * the committed file passes the repository's checks.
 *
 * Tooling only: nothing under supabase/functions may import this module.
 */
import {
  generateTypescript,
  introspect,
  type Queryable,
  sortGeneratorMetadata,
} from "@supabase/postgrest-typegen";
import { join } from "node:path";
import postgres from "postgres";
import { parse as parseToml } from "smol-toml";
import { repoRoot } from "./profiles.ts";

/** The committed output, relative to the repository root. */
export const TYPES_FILE = "supabase/functions/_shared/database.types.ts";

/** What the CLI's `gen types` ran against to produce the output this module reproduces. */
export const POSTGRES_META_VERSION = "0.99.0";

/** The CLI's `gen types` timeouts (`--query-timeout`, default 15 s). */
const TIMEOUT_SECONDS = 15;

/**
 * The schemas the CLI includes without `--schema`: `public`, then `[api] schemas` of
 * supabase/config.toml, without repeats. A listed schema the database lacks is left out
 * of the output, as the CLI does (locally there is no `graphql_public`: no pg_graphql).
 */
export async function defaultSchemas(configFile = join(repoRoot, "supabase", "config.toml")) {
  const config = parseToml(await Deno.readTextFile(configFile)) as {
    api?: { schemas?: unknown };
  };
  const listed = Array.isArray(config.api?.schemas) ? config.api.schemas.map(String) : [];
  return [...new Set(["public", ...listed])];
}

export interface GenerateOptions {
  /** Schemas to include (the CLI's `--schema`); by default those of `defaultSchemas`. */
  schemas?: string[];
}

/** The types of the database at `dbUrl`, formatted as the committed file is. */
export async function generateDatabaseTypes(
  dbUrl: string,
  opts: GenerateOptions = {},
): Promise<string> {
  const schemas = opts.schemas ?? await defaultSchemas();
  const sql = postgres(dbUrl, {
    max: 1,
    connect_timeout: TIMEOUT_SECONDS,
    onnotice: () => {},
    connection: {
      application_name: `gen:types (postgres-meta ${POSTGRES_META_VERSION})`,
      statement_timeout: TIMEOUT_SECONDS * 1000,
    },
  });
  let generated: string;
  try {
    const db: Queryable = { query: async (text) => ({ rows: [...await sql.unsafe(text)] }) };
    const metadata = sortGeneratorMetadata(await introspect(db, { includedSchemas: schemas }));
    // The CLI's environment: one-to-one detection on (no --postgrest-v9-compat), no
    // PG_META_POSTGREST_VERSION, default schema `public`.
    generated = await generateTypescript(metadata, {
      detectOneToOneRelationships: true,
      defaultSchema: "public",
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
  return await denoFmt(generated);
}

/**
 * `deno fmt` with the repository's settings, on text. Repeated until the text no longer
 * changes: on stdin, deno fmt makes a single pass, and this output needs two.
 */
export async function denoFmt(code: string): Promise<string> {
  let text = code;
  for (let pass = 0; pass < 5; pass++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--config", join(repoRoot, "deno.json"), "--ext=ts", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await child.output();
    if (!out.success) {
      throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    const formatted = new TextDecoder().decode(out.stdout);
    if (formatted === text) return text;
    text = formatted;
  }
  throw new Error("deno fmt did not settle on the generated types");
}

/**
 * A unified diff (`diff -u`) of the committed types against freshly generated ones, at
 * most `maxLines` lines; empty when they are the same.
 */
export async function typesDiff(
  committed: string,
  generated: string,
  maxLines = 80,
): Promise<string[]> {
  if (committed === generated) return [];
  const dir = await Deno.makeTempDir({ prefix: "sct-types-" });
  try {
    const a = join(dir, "committed.ts");
    const b = join(dir, "generated.ts");
    await Deno.writeTextFile(a, committed);
    await Deno.writeTextFile(b, generated);
    const labels = [`${TYPES_FILE} (committed)`, "generated from the database"];
    const out = await new Deno.Command("diff", {
      args: ["-u", "--label", labels[0], "--label", labels[1], a, b],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
    if (lines.length <= maxLines) return lines;
    return [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more diff lines`];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads the committed file; undefined when it does not exist. */
export async function committedTypes(): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(join(repoRoot, TYPES_FILE));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes freshly generated types to TYPES_FILE; returns whether the file changed. */
export async function writeDatabaseTypes(dbUrl: string): Promise<boolean> {
  const generated = await generateDatabaseTypes(dbUrl);
  if ((await committedTypes()) === generated) return false;
  await Deno.writeTextFile(join(repoRoot, TYPES_FILE), generated);
  return true;
}
