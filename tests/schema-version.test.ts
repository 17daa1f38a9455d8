import assert from "node:assert/strict";
import { REQUIRED_SCHEMA_VERSION } from "../supabase/functions/_shared/schema-version.ts";

Deno.test("the functions require exactly the newest migration", async () => {
  const versions: string[] = [];
  for await (const entry of Deno.readDir(new URL("../supabase/migrations/", import.meta.url))) {
    const match = entry.name.match(/^(\d{14})_[a-z0-9_]+\.sql$/);
    assert.ok(match, `migration file ${entry.name} must be named <14-digit timestamp>_<name>.sql`);
    versions.push(match[1]);
  }
  versions.sort();
  assert.equal(REQUIRED_SCHEMA_VERSION, versions.at(-1));
});
