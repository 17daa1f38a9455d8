/**
 * The lead export through the local gateway: the CSV's columns, the filters the table
 * offers (status, tags, state, import), formula neutralisation (and that an export
 * re-imports unchanged), refused filters, and who may export.
 *
 * Each test uses a scratch organization of its own (created and deleted here as
 * postgres), with leads written as postgres, so the export holds exactly those leads.
 */
import assert from "node:assert/strict";
// @ts-types="@types/papaparse"
import Papa from "papaparse";
import {
  type Answer,
  assertError,
  call,
  MANAGER as EXPORTER,
  type Scratch,
  type User,
  withScratchOrg,
} from "./support/leads-http.ts";

// -----------------------------------------------------------------------------
// The stack, users and scratch organizations
// -----------------------------------------------------------------------------

interface LeadValues {
  phone: string;
  first_name?: string;
  last_name?: string;
  email?: string;
  city?: string;
  state?: string;
  zip?: string;
  status?: string;
  tags?: string[];
  notes?: string;
  custom_fields?: Record<string, string>;
  consent_source?: string;
}

/** Writes a lead as postgres (the lead triggers normalise it as for any writer). */
async function insertLead(s: Scratch, lead: LeadValues): Promise<string> {
  const [{ id }] = await s.sql<{ id: string }[]>`
    insert into public.leads (org_id, phone, first_name, last_name, email, city, state, zip,
      status, tags, notes, custom_fields, consent_source)
    values (${s.org}, ${lead.phone}, ${lead.first_name ?? null}, ${lead.last_name ?? null},
      ${lead.email ?? null}, ${lead.city ?? null}, ${lead.state ?? null}, ${lead.zip ?? null},
      ${lead.status ?? "new"}, ${lead.tags ?? []}, ${lead.notes ?? null},
      ${s.sql.json(lead.custom_fields ?? {})}, ${lead.consent_source ?? null})
    returning id`;
  return id;
}

// -----------------------------------------------------------------------------
// HTTP
// -----------------------------------------------------------------------------

function exportCsv(query: Record<string, string>, user: User | null = EXPORTER): Promise<Answer> {
  return call(`/export?${new URLSearchParams(query)}`, { user });
}

const EXPORT_COLUMNS = [
  "id",
  "phone",
  "first_name",
  "last_name",
  "email",
  "address",
  "city",
  "state",
  "zip",
  "time_zone",
  "tags",
  "status",
  "suppressed",
  "notes",
  "custom_fields",
  "consent_source",
  "consent_captured_at",
  "import_id",
  "created_at",
  "updated_at",
];

/** The export's records as objects by column, after checking the header row. */
function records(answer: Answer): Record<string, string>[] {
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.headers.get("content-type"), "text/csv; charset=utf-8");
  const parsed = Papa.parse<string[]>(answer.text, { skipEmptyLines: true });
  assert.deepEqual(parsed.errors, []);
  const [header, ...rows] = parsed.data;
  assert.deepEqual(header, EXPORT_COLUMNS);
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]])));
}

/** The phone numbers of an export, without the `'` that neutralises their `+`. */
async function exportedPhones(query: Record<string, string>): Promise<string[]> {
  return records(await exportCsv(query)).map((r) => r.phone.replace(/^'/, "")).sort();
}

// -----------------------------------------------------------------------------
// The CSV
// -----------------------------------------------------------------------------

Deno.test("export: a CSV of the organization's leads, every column, as a download", async () => {
  await withScratchOrg(async (s) => {
    const id = await insertLead(s, {
      phone: "+14152500001",
      first_name: "Renée",
      last_name: "O'Brien, Jr.",
      email: "renee@example.com",
      city: "Oakland",
      state: "CA",
      zip: "94607",
      status: "contacted",
      tags: ["vip", "west"],
      notes: 'said "call me"\nafter 5',
      custom_fields: { company: "Acme" },
      consent_source: "web form",
    });
    const answer = await exportCsv({ org_id: s.org });
    assert.equal(
      answer.headers.get("content-disposition"),
      'attachment; filename="leads.csv"',
    );
    assert.match(answer.text, new RegExp(`^${EXPORT_COLUMNS.join(",")}\r\n`));
    const [lead, ...others] = records(answer);
    assert.deepEqual(others, [], "only the organization's own lead");
    assert.equal(lead.id, id);
    assert.equal(lead.phone, "'+14152500001");
    assert.equal(lead.first_name, "Renée");
    assert.equal(lead.last_name, "O'Brien, Jr.");
    assert.equal(lead.email, "renee@example.com");
    assert.equal(lead.state, "CA");
    assert.equal(lead.zip, "94607");
    assert.equal(lead.time_zone, "America/Los_Angeles");
    assert.equal(lead.tags, "vip; west");
    assert.equal(lead.status, "contacted");
    assert.equal(lead.suppressed, "false");
    assert.equal(lead.notes, 'said "call me"\nafter 5');
    assert.deepEqual(JSON.parse(lead.custom_fields), { company: "Acme" });
    assert.equal(lead.consent_source, "web form");
    assert.equal(lead.import_id, "");
    assert.match(lead.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    // No leads: the header alone.
    await s.sql`delete from public.leads where org_id = ${s.org}`;
    assert.equal((await exportCsv({ org_id: s.org })).text, `${EXPORT_COLUMNS.join(",")}\r\n`);
  });
});

Deno.test("export: filters by status, tags, state and import, alone and together", async () => {
  await withScratchOrg(async (s) => {
    await insertLead(s, {
      phone: "+14152510001",
      status: "new",
      tags: ["vip", "west"],
      state: "CA",
    });
    await insertLead(s, { phone: "+14152510002", status: "contacted", tags: ["vip"], state: "OR" });
    await insertLead(s, {
      phone: "+14152510003",
      status: "converted",
      tags: ["west"],
      state: "CA",
    });
    await insertLead(s, { phone: "+14152510004", status: "new" });
    // Two leads from an import.
    const preview = await call(`/import/preview?org_id=${s.org}`, {
      method: "POST",
      body: "Phone,State,Tags\n4152510005,WA,west\n4152510006,CA,\n",
      headers: { "content-type": "text/csv" },
    });
    assert.equal(preview.status, 201, preview.text);
    const importId = (JSON.parse(preview.text) as { import_id: string }).import_id;
    const executed = await call("/import/execute", {
      method: "POST",
      body: JSON.stringify({ import_id: importId }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(executed.status, 200, executed.text);

    const org_id = s.org;
    const p = (n: number) => `+1415251000${n}`;
    assert.deepEqual(await exportedPhones({ org_id }), [1, 2, 3, 4, 5, 6].map(p));
    assert.deepEqual(await exportedPhones({ org_id, status: "new" }), [1, 4, 5, 6].map(p));
    assert.deepEqual(
      await exportedPhones({ org_id, status: "contacted,converted" }),
      [2, 3].map(p),
    );
    assert.deepEqual(await exportedPhones({ org_id, status: "replied" }), []);
    assert.deepEqual(await exportedPhones({ org_id, tags: "vip" }), [1, 2].map(p));
    // Every tag listed, in any case.
    assert.deepEqual(await exportedPhones({ org_id, tags: "VIP, west" }), [1].map(p));
    assert.deepEqual(await exportedPhones({ org_id, state: "ca" }), [1, 3, 6].map(p));
    assert.deepEqual(await exportedPhones({ org_id, state: "CA,WA" }), [1, 3, 5, 6].map(p));
    assert.deepEqual(await exportedPhones({ org_id, import_id: importId }), [5, 6].map(p));
    assert.deepEqual(
      await exportedPhones({ org_id, status: "new", state: "CA", tags: "west" }),
      [1].map(p),
    );
    assert.deepEqual(
      await exportedPhones({ org_id, import_id: importId, tags: "west" }),
      [5].map(p),
    );
    assert.deepEqual(await exportedPhones({ org_id, import_id: crypto.randomUUID() }), []);
    // The import's leads carry its id.
    const imported = records(await exportCsv({ org_id, import_id: importId }));
    assert.ok(imported.every((r) => r.import_id === importId));
  });
});

// -----------------------------------------------------------------------------
// Formula injection
// -----------------------------------------------------------------------------

const FORMULAS: LeadValues[] = [
  {
    phone: "+14152520001",
    first_name: '=HYPERLINK("http://x.test","click")',
    city: "+cmd|' /C calc'!A0",
    notes: "-2+3",
    tags: ["=evil"],
  },
  { phone: "+14152520002", first_name: "@SUM(A1:A2)", city: "\tTabbed", notes: "\rCarriage" },
  { phone: "+14152520003", first_name: "Plain", city: "Oakland", notes: "a = b + c - d @ e" },
];

Deno.test("export: cells that start with = + - @ tab or CR are neutralised with '", async () => {
  await withScratchOrg(async (s) => {
    for (const lead of FORMULAS) await insertLead(s, lead);
    const rows = records(await exportCsv({ org_id: s.org }));
    const byPhone = new Map(rows.map((r) => [r.phone, r]));
    const evil = byPhone.get("'+14152520001");
    const at = byPhone.get("'+14152520002");
    const plain = byPhone.get("'+14152520003");
    assert.ok(evil && at && plain, JSON.stringify(rows.map((r) => r.phone)));
    assert.equal(evil.first_name, '\'=HYPERLINK("http://x.test","click")');
    assert.equal(evil.city, "'+cmd|' /C calc'!A0");
    assert.equal(evil.notes, "'-2+3");
    assert.equal(evil.tags, "'=evil");
    assert.equal(at.first_name, "'@SUM(A1:A2)");
    assert.equal(at.city, "'\tTabbed");
    assert.equal(at.notes, "'\rCarriage");
    // Only the first character matters.
    assert.equal(plain.first_name, "Plain");
    assert.equal(plain.notes, "a = b + c - d @ e");
    // No cell of the file starts a formula.
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        assert.doesNotMatch(value, /^[=+\-@\t\r]/, `${column}: ${JSON.stringify(value)}`);
      }
    }
  });
});

Deno.test("export: an export re-imports unchanged, neutralised cells included", async () => {
  await withScratchOrg(async (s) => {
    for (const lead of FORMULAS.filter((l) => l.phone !== "+14152520002")) {
      await insertLead(s, lead);
    }
    await insertLead(s, {
      phone: "+14152520004",
      first_name: "Zoë",
      last_name: "Müller",
      city: "-Minus",
      state: "OR",
      zip: "97201",
      tags: ["b", "a"],
      email: "zoe@example.com",
    });
    const exported = await exportCsv({ org_id: s.org });
    assert.equal(exported.status, 200, exported.text);

    const sql = s.sql;
    await withScratchOrg(async ({ org: other }) => {
      const preview = await call(`/import/preview?org_id=${other}&file_name=leads.csv`, {
        method: "POST",
        body: exported.text,
        headers: { "content-type": "text/csv" },
      });
      assert.equal(preview.status, 201, preview.text);
      const { import_id } = JSON.parse(preview.text) as { import_id: string };
      const executed = await call("/import/execute", {
        method: "POST",
        body: JSON.stringify({
          import_id,
          mapping: {
            phone: "phone",
            first_name: "first_name",
            last_name: "last_name",
            email: "email",
            city: "city",
            state: "state",
            zip: "zip",
            tags: "tags",
          },
        }),
        headers: { "content-type": "application/json" },
      });
      assert.equal(executed.status, 200, executed.text);
      const read = (org: string) =>
        sql`select phone, first_name, last_name, email, city, state, zip, tags
          from public.leads where org_id = ${org} order by phone`;
      const before = (await read(s.org)).map((r) => ({ ...r }));
      const after = (await read(other)).map((r) => ({ ...r }));
      assert.equal(after.length, 3);
      assert.deepEqual(after, before);
    });
  });
});

// -----------------------------------------------------------------------------
// Refusals
// -----------------------------------------------------------------------------

Deno.test("export: bad filters are a 422 naming the filter and the value", async () => {
  await withScratchOrg(async (s) => {
    const bogus = assertError(
      await exportCsv({ org_id: s.org, status: "new,bogus" }),
      422,
      "validation_failed",
      /status: "bogus" is not a lead status \(new, contacted, .*\)/,
    );
    assert.deepEqual(bogus.details?.map((d) => d.path), ["status"]);
    assertError(
      await exportCsv({ org_id: s.org, state: "CA,California" }),
      422,
      "validation_failed",
      /state: "California" is not a USPS code/i,
    );
    assertError(
      await exportCsv({ org_id: s.org, import_id: "last-week" }),
      422,
      "validation_failed",
      /import_id: must be a UUID/,
    );
    assertError(
      await exportCsv({ org_id: "acme" }),
      422,
      "validation_failed",
      /org_id: must be a UUID/,
    );
    // manager@acme.test exports for Acme and the scratch organization: which one?
    assertError(
      await exportCsv({}),
      422,
      "validation_failed",
      /org_id: you import for several organizations: say which/,
    );
  });
});

Deno.test("export: operators, viewers and other organizations' users get 403; no token 401", async () => {
  await withScratchOrg(async (s) => {
    await insertLead(s, { phone: "+14152530001", first_name: "Secret" });
    for (const user of ["operator@acme.test", "viewer@acme.test", "manager@globex.test"] as const) {
      const answer = await exportCsv({ org_id: s.org }, user);
      assertError(answer, 403, "forbidden", /needs the admin or campaign_manager role/);
      assert.doesNotMatch(answer.text, /Secret|4152530001/);
    }
    const anonymous = await exportCsv({ org_id: s.org }, null);
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(anonymous.text, /Secret/);
    // An admin may export.
    const rows = records(await exportCsv({ org_id: s.org }, "admin@acme.test"));
    assert.deepEqual(rows.map((r) => r.first_name), ["Secret"]);
  }, {
    "operator@acme.test": "operator",
    "viewer@acme.test": "viewer",
    "admin@acme.test": "admin",
  });
});
