/**
 * Staged rows check their import once per statement, with the lock a foreign key takes:
 * while an upload is being staged, its import cannot be deleted from under it; once the
 * staging commits, deleting the import deletes the rows. (Single-session rules are in
 * supabase/tests/10_lead_import_staging.test.sql.)
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, seed, stackEnv } from "./support/stack.ts";

Deno.test("an import being staged cannot be deleted until the staging commits", async () => {
  const sql = adminSql();
  const stager = postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  const [imp] = await sql<{ id: string }[]>`
    insert into public.lead_imports (org_id, file_name, columns, row_count)
    values (${seed.acme}, 'lock.csv', '{Phone}', 2) returning id`;
  const staged = () =>
    sql<{ n: number }[]>`select count(*)::integer as n from public.lead_import_rows
      where import_id = ${imp.id}`.then(([row]) => row.n);
  try {
    let refused: unknown;
    await stager.begin(async (tx) => {
      await tx`insert into public.lead_import_rows (org_id, import_id, row_number, cells)
        values (${seed.acme}, ${imp.id}, 2, '["x"]'), (${seed.acme}, ${imp.id}, 3, '["y"]')`;
      // The staging transaction is open: a delete of its import must wait for it.
      refused = await sql.begin(async (other) => {
        await other`set local lock_timeout = '200ms'`;
        await other`delete from public.lead_imports where id = ${imp.id}`;
      }).then(() => undefined, (error) => error);
    });
    assert.ok(refused instanceof postgres.PostgresError, `the delete went through: ${refused}`);
    assert.equal(refused.code, "55P03", refused.message);
    assert.equal(await staged(), 2, "the staged rows committed");

    await sql`delete from public.lead_imports where id = ${imp.id}`;
    assert.equal(await staged(), 0, "deleting the import deleted its staged rows");
  } finally {
    await sql`delete from public.lead_imports where id = ${imp.id}`;
    await stager.end();
    await sql.end();
  }
});
