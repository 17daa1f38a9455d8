/**
 * local/db-types.ts (`npm run gen:types`): the schemas the Supabase CLI would include,
 * the diff `npm test` prints, and the types generated for a scratch schema in a temporary
 * database on the running stack: their text, and what TypeScript makes of them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import {
  defaultSchemas,
  denoFmt,
  generateDatabaseTypes,
  TYPES_FILE,
  typesDiff,
} from "../local/db-types.ts";
import { adminSql, stackEnv } from "./support/stack.ts";

Deno.test("gen:types: public first, then config.toml's [api] schemas, without repeats", async () => {
  assert.deepEqual(await defaultSchemas(), ["public", "graphql_public"]);
  const dir = await Deno.makeTempDir();
  try {
    const config = join(dir, "config.toml");
    await Deno.writeTextFile(config, '[api]\nschemas = ["api", "public", "api"]\n');
    assert.deepEqual(await defaultSchemas(config), ["public", "api"]);
    await Deno.writeTextFile(config, 'project_id = "x"\n');
    assert.deepEqual(await defaultSchemas(config), ["public"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gen:types: the diff names the lines that differ, and is empty when none do", async () => {
  const committed = "export type A = {\n  id: number;\n  name: string;\n};\n";
  assert.deepEqual(await typesDiff(committed, committed), []);
  const diff = await typesDiff(committed, committed.replace("name: string", "name: string | null"));
  assert.ok(diff[0].startsWith(`--- ${TYPES_FILE}`), diff.join("\n"));
  assert.ok(diff.includes("-  name: string;"), diff.join("\n"));
  assert.ok(diff.includes("+  name: string | null;"), diff.join("\n"));
  const long = Array.from({ length: 300 }, (_, i) => `line ${i}`).join("\n");
  const capped = await typesDiff(long, long.replaceAll("line", "row"), 20);
  assert.equal(capped.length, 21);
  assert.match(capped[20], /more diff lines$/);
});

/** Covers what the generator distinguishes: identity, defaults, domains, arrays, enums… */
const SCRATCH_SCHEMA = `
create type public.widget_status as enum ('draft', 'live', 'retired');
create type public.money_amount as (amount numeric, currency text);
create domain public.e164 as text check (value ~ '^[+][1-9][0-9]{1,14}$');
create table public.owners (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  phone public.e164
);
create table public.owner_profiles (
  owner_id uuid primary key references public.owners (id),
  bio text
);
create table public.widgets (
  id bigint generated always as identity primary key,
  owner_id uuid not null references public.owners (id),
  name text not null,
  status public.widget_status not null default 'draft',
  tags text[] not null default '{}',
  meta jsonb,
  created_at timestamptz not null default now()
);
create view public.live_widgets as
  select id, name from public.widgets where status = 'live';
create function public.widget_count(p_status public.widget_status) returns integer
  language sql stable as $$ select count(*)::int from public.widgets where status = p_status $$;
create function public.touch() returns trigger
  language plpgsql as $$ begin return new; end $$;
create schema other;
create table other.things (id serial primary key);
`;

/** Runs `fn` with the URL of a new database holding SCRATCH_SCHEMA; drops it after. */
async function withScratchDatabase(fn: (url: string) => Promise<void>): Promise<void> {
  const name = `sct_types_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = adminSql();
  const url = new URL(stackEnv().SUPABASE_DB_URL);
  url.pathname = `/${name}`;
  try {
    await admin.unsafe(`create database ${name}`);
    const scratch = postgres(url.href, { max: 1, onnotice: () => {} });
    try {
      await scratch.unsafe(SCRATCH_SCHEMA);
    } finally {
      await scratch.end();
    }
    await fn(url.href);
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

/** `deno check` of `usage` beside `types` saved as database.types.ts; the compiler's output. */
async function typeCheck(types: string, usage: string): Promise<{ ok: boolean; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sct-types-check-" });
  try {
    await Deno.writeTextFile(join(dir, "database.types.ts"), types);
    await Deno.writeTextFile(join(dir, "usage.ts"), usage);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--no-config", "--quiet", join(dir, "usage.ts")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { ok: out.success, output: decode(out.stdout) + decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("gen:types: a scratch schema's Row/Insert/Update, views, functions and enums", async () => {
  await withScratchDatabase(async (url) => {
    const types = await generateDatabaseTypes(url, { schemas: ["public"] });
    assert.equal(await denoFmt(types), types, "already formatted as deno fmt wants");

    const has = (snippet: string) => assert.ok(types.includes(snippet), `missing:\n${snippet}`);
    // Rows: not null → required, domain over text → string, enum → the Enums entry.
    has(
      `      widgets: {
        Row: {
          created_at: string;
          id: number;
          meta: Json | null;
          name: string;
          owner_id: string;
          status: Database["public"]["Enums"]["widget_status"];
          tags: string[];
        };`,
    );
    // Insert: defaults optional, identity "generated always" never; Update: all optional.
    has(
      `        Insert: {
          created_at?: string;
          id?: never;
          meta?: Json | null;
          name: string;
          owner_id: string;
          status?: Database["public"]["Enums"]["widget_status"];
          tags?: string[];
        };`,
    );
    has(`        Update: {
          created_at?: string;
          id?: never;
          meta?: Json | null;
          name?: string;`);
    has(`          phone: string | null;`);
    // A primary key that is also the foreign key: one-to-one, as the CLI detects it.
    has(`            foreignKeyName: "owner_profiles_owner_id_fkey";
            columns: ["owner_id"];
            isOneToOne: true;`);
    has(`    Views: {
      live_widgets: {
        Row: {
          id: number | null;
          name: string | null;
        };`);
    has(`      widget_count: {
        Args: { p_status: Database["public"]["Enums"]["widget_status"] };
        Returns: number;
      };`);
    has(`      widget_status: "draft" | "live" | "retired";`);
    has(`      money_amount: {
        amount: number | null;
        currency: string | null;
      };`);
    has(`      widget_status: ["draft", "live", "retired"],`);
    assert.ok(!types.includes("touch"), "trigger functions are not callable: left out");
    assert.ok(!types.includes("things"), "schemas not asked for are left out");

    const withOther = await generateDatabaseTypes(url, { schemas: ["public", "other"] });
    assert.ok(withOther.includes("\n  other: {\n    Tables: {\n      things: {"), withOther);

    // And TypeScript reads them as meant: the helpers the CLI's output exports work.
    const usage = `
import type { Enums, Tables, TablesInsert, TablesUpdate } from "./database.types.ts";
const row: Tables<"widgets"> = {
  id: 1, owner_id: "o", name: "w", status: "live", tags: [], meta: { a: [1] }, created_at: "t",
};
const insert: TablesInsert<"widgets"> = { owner_id: "o", name: "w" };
const update: TablesUpdate<"widgets"> = { status: "retired" };
const view: Tables<"live_widgets"> = { id: null, name: null };
const status: Enums<"widget_status"> = "draft";
// @ts-expect-error: not a value of the enum
const wrong: Enums<"widget_status"> = "archived";
// @ts-expect-error: an identity column generated always cannot be inserted
const identity: TablesInsert<"widgets"> = { id: 1, owner_id: "o", name: "w" };
// @ts-expect-error: name is required on insert
const missing: TablesInsert<"widgets"> = { owner_id: "o" };
export { identity, insert, missing, row, status, update, view, wrong };
`;
    const good = await typeCheck(types, usage);
    assert.ok(good.ok, good.output);
    // The check can fail: an enum value the schema lacks is a type error.
    const bad = await typeCheck(types, usage.replace(`= "draft"`, `= "published"`));
    assert.ok(!bad.ok, "an unknown enum value must not type-check");
    assert.match(bad.output, /"published"/);
  });
});
