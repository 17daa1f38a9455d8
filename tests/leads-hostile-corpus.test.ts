/**
 * Hostile uploads (tests/support/hostile-csv.ts: encodings, delimiters, injections, broken
 * quoting, enormous cells, binary files and bombs renamed as CSV) through the leads import,
 * preview then execute, as a campaign manager: never a 5xx; every refusal is a 4xx in the
 * one error shape that says what is wrong; a refused step leaves nothing behind (nothing
 * staged by a refused preview, no lead from a refused execute); an executed import stores
 * exactly the leads it says it inserted; binary files are always refused. The outcome of
 * each file is printed, by category.
 */
import assert from "node:assert/strict";
import { hostileCorpus } from "./support/hostile-csv.ts";
import { type Answer, call, json, type Scratch, withScratchOrg } from "./support/leads-http.ts";

interface Counts {
  imports: number;
  rows: number;
  errors: number;
  leads: number;
}

async function counts({ org, sql }: Scratch): Promise<Counts> {
  const [row] = await sql<Counts[]>`
    select
      (select count(*) from public.lead_imports where org_id = ${org})::int as imports,
      (select count(*) from public.lead_import_rows where org_id = ${org})::int as rows,
      (select count(*) from public.lead_import_errors where org_id = ${org})::int as errors,
      (select count(*) from public.leads where org_id = ${org})::int as leads`;
  return { ...row };
}

/** A refusal: a 4xx in the one error shape, with a message that says something. */
function assertRefusal(answer: Answer, what: string): string {
  assert.ok(
    answer.status >= 400 && answer.status < 500,
    `${what}: ${answer.status} ${answer.text}`,
  );
  const { error } = json<{ error: { code: string; message: string; request_id: string } }>(answer);
  assert.ok(error.code && error.request_id, `${what}: the error shape`);
  assert.ok(error.message.length >= 10, `${what}: a refusal that explains itself`);
  return `${answer.status} ${error.code}`;
}

Deno.test("hostile uploads: no 5xx, every refusal explains itself, nothing half done", async () => {
  const corpus = await hostileCorpus();
  assert.ok(corpus.length >= 60, `${corpus.length} files`);
  const outcomes: string[] = [];
  for (const file of corpus) {
    // Each in an organization of its own: what one file imports never makes another's rows
    // duplicates.
    await withScratchOrg(async (s) => {
      const what = `${file.category}: ${file.name}`;
      const before = await counts(s);
      const query = new URLSearchParams({ org_id: s.org, file_name: file.fileName });
      const staged = await call(`/import/preview?${query}`, {
        method: "POST",
        body: file.bytes,
        headers: { "content-type": "text/csv" },
      });
      assert.ok(staged.status < 500, `${what}: preview ${staged.status} ${staged.text}`);
      if (staged.status !== 201) {
        const refusal = assertRefusal(staged, `${what} (preview)`);
        assert.deepEqual(await counts(s), before, `${what}: a refused preview stages nothing`);
        outcomes.push(`${what} → preview ${refusal}`);
        return;
      }
      assert.notEqual(file.category, "binary", `${what}: a binary file is never staged`);
      const { import_id } = json<{ import_id: string }>(staged);
      const done = await call("/import/execute", {
        method: "POST",
        body: JSON.stringify({ import_id }),
        headers: { "content-type": "application/json" },
      });
      assert.ok(done.status < 500, `${what}: execute ${done.status} ${done.text}`);
      const after = await counts(s);
      if (done.status !== 200) {
        const refusal = assertRefusal(done, `${what} (execute)`);
        assert.equal(after.leads, before.leads, `${what}: a refused execute imports nothing`);
        outcomes.push(`${what} → preview 201, execute ${refusal}`);
        return;
      }
      const result = json<{ inserted: number; invalid: number; rows: number }>(done);
      assert.equal(after.leads - before.leads, result.inserted, `${what}: as many leads as said`);
      outcomes.push(
        `${what} → imported ${result.inserted} of ${result.rows} rows, ${result.invalid} invalid`,
      );
    });
  }
  console.log(`\n${outcomes.length} hostile uploads:\n  ${outcomes.join("\n  ")}`);
});
