/**
 * The lead import through the local gateway, as the frontend calls it: preview (every bad
 * input refused with a 4xx that says what and where, and nothing left staged), each
 * encoding and delimiter, Excel exports, mapping, the duplicate rules, suppression
 * flagging, all-or-nothing, role checks, idempotent execute, the errors CSV, progress
 * counters and the Realtime completion message.
 *
 * Each test imports into a scratch organization of its own (created and deleted here as
 * postgres) with the seeded users as members, so runs never see each other's leads.
 */
import assert from "node:assert/strict";
// @ts-types="@types/papaparse"
import Papa from "papaparse";
import {
  type Answer,
  assertError,
  call,
  json,
  MANAGER as IMPORTER,
  type Scratch,
  type User,
  withScratchOrg,
} from "./support/leads-http.ts";
import { seed } from "./support/stack.ts";
import { concat, utf16 } from "./support/bytes.ts";

// -----------------------------------------------------------------------------
// The stack, users and scratch organizations
// -----------------------------------------------------------------------------

/** The function's MAX_UPLOAD_SIZE: the default unless the test stack sets one. */
const MAX_UPLOAD_SIZE = Number(Deno.env.get("MAX_UPLOAD_SIZE") ?? 10 * 1024 * 1024);
const fixture = (name: string) =>
  Deno.readFileSync(new URL(`./fixtures/csv/${name}`, import.meta.url));

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

async function assertNothingStaged(s: Scratch, what: string): Promise<void> {
  assert.deepEqual(await counts(s), { imports: 0, rows: 0, errors: 0, leads: 0 }, what);
}

interface Lead {
  phone: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  address: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  tags: string[];
  custom_fields: Record<string, string>;
  suppressed: boolean;
  consent_source: string | null;
  import_id: string | null;
}

async function leadsOf({ org, sql }: Scratch): Promise<Lead[]> {
  const rows = await sql<Lead[]>`
    select phone, first_name, last_name, email, address, city, state, zip, tags,
           custom_fields, suppressed, consent_source, import_id
    from public.leads where org_id = ${org} order by phone`;
  return rows.map((row) => ({ ...row }));
}

async function leadByPhone(s: Scratch, phone: string): Promise<Lead> {
  const lead = (await leadsOf(s)).find((l) => l.phone === phone);
  assert.ok(lead, `no lead ${phone}`);
  return lead;
}

// -----------------------------------------------------------------------------
// HTTP
// -----------------------------------------------------------------------------

interface Issue {
  row: number | null;
  field: string | null;
  value: string | null;
  message: string;
}

interface Preview {
  import_id: string;
  row_count: number;
  encoding: string;
  delimiter: string;
  has_header: boolean;
  columns: string[];
  suggested_mapping: Record<string, unknown>;
  sample: (Record<string, unknown> & { row: number; problems: unknown[] })[];
  issues: Issue[];
}

interface Result {
  import_id: string;
  committed: boolean;
  already_executed: boolean;
  rows: number;
  inserted: number;
  updated: number;
  duplicates: number;
  invalid: number;
  suppressed: number;
  errors: Issue[];
}

function previewPath(org: string | undefined, fileName?: string): string {
  const query = new URLSearchParams();
  if (org) query.set("org_id", org);
  if (fileName) query.set("file_name", fileName);
  return `/import/preview?${query}`;
}

/** POST /import/preview with the file as the body (`contentType: null`: no header). */
function preview(
  org: string | undefined,
  body: BodyInit,
  options: { contentType?: string | null; fileName?: string; user?: User | null } = {},
): Promise<Answer> {
  const { contentType = "text/csv", fileName, user } = options;
  const headers: Record<string, string> = contentType === null
    ? {}
    : { "content-type": contentType };
  return call(previewPath(org, fileName), { method: "POST", body, headers, user });
}

/** POST /import/preview as multipart/form-data with the field `file`. */
function previewMultipart(
  org: string,
  bytes: Uint8Array<ArrayBuffer> | string,
  fileName: string,
  options: { type?: string; field?: string; user?: User } = {},
): Promise<Answer> {
  const form = new FormData();
  form.set(
    options.field ?? "file",
    new File([bytes], fileName, { type: options.type ?? "text/csv" }),
  );
  return call(previewPath(org), { method: "POST", body: form, user: options.user });
}

async function previewOk(
  s: Scratch,
  body: string | Uint8Array<ArrayBuffer>,
  fileName?: string,
): Promise<Preview> {
  const answer = await preview(s.org, body, { fileName });
  assert.equal(answer.status, 201, answer.text);
  return json<Preview>(answer);
}

function execute(body: Record<string, unknown>, user: User | null = IMPORTER): Promise<Answer> {
  return call("/import/execute", {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
    user,
  });
}

async function executeOk(body: Record<string, unknown>): Promise<Result> {
  const answer = await execute(body);
  assert.equal(answer.status, 200, answer.text);
  return json<Result>(answer);
}

/** Preview and execute a file; `options` go with the execute request. */
async function importFile(
  s: Scratch,
  body: string | Uint8Array<ArrayBuffer>,
  options: Record<string, unknown> = {},
): Promise<{ preview: Preview; result: Result }> {
  const staged = await previewOk(s, body);
  const result = await executeOk({ import_id: staged.import_id, ...options });
  return { preview: staged, result };
}

function errorsCsv(importId: string, user: User | null = IMPORTER): Promise<Answer> {
  return call(`/import/${importId}/errors`, { user });
}

function parseCsv(text: string): string[][] {
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true });
  assert.deepEqual(parsed.errors, []);
  return parsed.data;
}

/** The counters of a result, without the errors list. */
function counters(result: Result) {
  const { rows, inserted, updated, duplicates, invalid, suppressed } = result;
  return { rows, inserted, updated, duplicates, invalid, suppressed };
}

/** `text` as UTF-16 with a byte order mark. */
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
/** A .xlsx is a ZIP: local file header "PK\x03\x04", then "[Content_Types].xml". */
const ZIP = concat(
  new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0x06, 0, 0x08, 0]),
  "[Content_Types].xml",
);

// -----------------------------------------------------------------------------
// Bad input: a 4xx that says what and where, and nothing staged
// -----------------------------------------------------------------------------

Deno.test("import preview: an empty file is a 422, and nothing is staged", async () => {
  await withScratchOrg(async (s) => {
    for (const body of ["", "\r\n\r\n", "  \n,,\n"]) {
      const answer = await preview(s.org, body, { fileName: "empty.csv" });
      const error = assertError(answer, 422, "invalid_csv", /the file is empty/i);
      assert.equal(error.message, "The file is empty.");
    }
    await assertNothingStaged(s, "an empty file stages nothing");
  });
});

Deno.test("import preview: a header without data rows is a 422", async () => {
  await withScratchOrg(async (s) => {
    for (const body of ["Phone,First Name,Last Name\r\n", "Phone,First Name\n\n\n", "Phone"]) {
      const answer = await preview(s.org, body);
      assertError(answer, 422, "invalid_csv", /header row but no data rows/);
    }
    await assertNothingStaged(s, "a header-only file stages nothing");
  });
});

Deno.test("import preview: binary files are a 422 that names what they are", async () => {
  await withScratchOrg(async (s) => {
    assertError(
      await preview(s.org, concat(PNG, "IHDR"), { fileName: "leads.csv" }),
      422,
      "validation_failed",
      /file: The file is a PNG image, not a CSV file/,
    );
    // An Excel workbook renamed .csv, as the body and as a multipart file.
    assertError(
      await preview(s.org, ZIP, { fileName: "leads.csv" }),
      422,
      "validation_failed",
      /Excel workbook or ZIP archive, not a CSV file: save it as CSV/,
    );
    assertError(
      await previewMultipart(s.org, ZIP, "leads.csv"),
      422,
      "validation_failed",
      /Excel workbook or ZIP archive/,
    );
    // Text with a NUL byte: where it is.
    assertError(
      await preview(s.org, concat("Phone\n4152000001", new Uint8Array([0]), "\n")),
      422,
      "validation_failed",
      /NUL byte \(at byte 17\)/,
    );
    // UTF-16 without a byte order mark.
    assertError(
      await preview(s.org, utf16("Phone,Name\r\n4152000002,Ann\r\n", true).slice(2)),
      422,
      "validation_failed",
      /UTF-16 text without a byte order mark/,
    );
    await assertNothingStaged(s, "binary uploads stage nothing");
  });
});

Deno.test("import preview: a body that is not CSV is a 415", async () => {
  await withScratchOrg(async (s) => {
    assertError(
      await preview(s.org, JSON.stringify({ phone: "4152000003" }), {
        contentType: "application/json",
      }),
      415,
      "unsupported_media_type",
      /application\/json is not accepted: send the file as text\/csv, or as the field "file"/,
    );
    assertError(
      await preview(s.org, PNG, { contentType: "image/png" }),
      415,
      "unsupported_media_type",
      /image\/png is not accepted/,
    );
    assertError(
      await preview(s.org, new TextEncoder().encode("Phone\n4152000004\n"), { contentType: null }),
      415,
      "unsupported_media_type",
      /a body without Content-Type is not accepted/,
    );
    // Multipart without the field "file".
    assertError(
      await previewMultipart(s.org, "Phone\n4152000005\n", "leads.csv", { field: "upload" }),
      422,
      "validation_failed",
      /file: the multipart field "file" with the CSV is missing/,
    );
    await assertNothingStaged(s, "refused content types stage nothing");
  });
});

Deno.test("import preview: a file over MAX_UPLOAD_SIZE is a 413; one at the limit is read", async () => {
  await withScratchOrg(async (s) => {
    const limit = MAX_UPLOAD_SIZE.toLocaleString("en-US");
    const tooLarge = new RegExp(`larger than ${limit} bytes \\(MAX_UPLOAD_SIZE\\)`);
    // A CSV that would otherwise be fine: a header, then rows of phone numbers.
    const line = "4152000006,Ann,Lee,ann@example.com\n";
    const over = new TextEncoder().encode(
      "Phone,First,Last,Email\n" + line.repeat(Math.ceil(MAX_UPLOAD_SIZE / line.length)),
    ).slice(0, MAX_UPLOAD_SIZE + 1);
    assert.equal(over.length, MAX_UPLOAD_SIZE + 1);

    assertError(await preview(s.org, over), 413, "payload_too_large", tooLarge);
    assertError(
      await previewMultipart(s.org, over, "big.csv"),
      413,
      "payload_too_large",
      tooLarge,
    );
    // Streamed (chunked, no Content-Length): refused once the limit is passed.
    const chunk = 64 * 1024;
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < over.length; at += chunk) {
          controller.enqueue(over.slice(at, at + chunk));
        }
        controller.close();
      },
    });
    assertError(await preview(s.org, streamed), 413, "payload_too_large", tooLarge);

    // Exactly at the limit the file is read (and then judged on its content).
    const atLimit = new Uint8Array(MAX_UPLOAD_SIZE);
    atLimit.set(PNG);
    assertError(await preview(s.org, atLimit), 422, "validation_failed", /PNG image/);
    await assertNothingStaged(s, "oversized uploads stage nothing");
  });
});

Deno.test("import preview: ragged rows are a 422 naming each row", async () => {
  await withScratchOrg(async (s) => {
    const csv = [
      "Phone,First Name,Last Name",
      "4152010001,Ann,Lee",
      "4152010002,Bob",
      "4152010003,Cy,Ho",
      "4152010004,Di,Ng,surplus",
      "",
    ].join("\n");
    const error = assertError(
      await preview(s.org, csv),
      422,
      "invalid_csv",
      /row 3 has 2 fields, the header has 3/,
    );
    assert.deepEqual(error.details, [
      { path: "row 3", message: "row 3 has 2 fields, the header has 3" },
      { path: "row 5", message: "row 5 has 4 fields, the header has 3" },
    ]);
    assert.match(error.message, /and 1 more problem/);
    await assertNothingStaged(s, "a ragged file stages nothing");
  });
});

Deno.test("import preview: an unterminated quote is a 422 naming the row", async () => {
  await withScratchOrg(async (s) => {
    const csv = 'Phone,First Name,City\n4152020001,Ann,Oakland\n4152020002,"Bob,Fresno\n' +
      "4152020003,Cy,Napa\n";
    const error = assertError(
      await preview(s.org, csv),
      422,
      "invalid_csv",
      /row 3 opens a quoted field that is never closed/,
    );
    assert.equal(error.details?.[0].path, "row 3");
    // …also on the last row, and a quoted field with text after its closing quote.
    assertError(
      await preview(s.org, 'Phone,First Name\n4152020001,Ann\n4152020002,"Bob\n'),
      422,
      "invalid_csv",
      /row 3 opens a quoted field that is never closed/,
    );
    assertError(
      await preview(s.org, 'Phone,First Name\n4152020001,"Ann" Lee\n4152020002,Bob\n'),
      422,
      "invalid_csv",
      /row 2 has a quoted field with text after its closing quote/,
    );
    await assertNothingStaged(s, "an unterminated quote stages nothing");
  });
});

Deno.test("import preview: a cell over 10,000 characters is a 422 naming row and column", async () => {
  await withScratchOrg(async (s) => {
    const csv = "Phone,First Name,Notes\n" +
      `4152030001,Ann,${"n".repeat(10_000)}\n` +
      `4152030002,Bob,${"x".repeat(10_001)}\n`;
    const error = assertError(
      await preview(s.org, csv),
      422,
      "invalid_csv",
      /row 3, column "Notes": 10,001 characters, at most 10,000/,
    );
    assert.deepEqual(error.details?.map((d) => d.path), ["row 3"]);
    await assertNothingStaged(s, "an over-long cell stages nothing");

    // 10,000 characters is allowed (and kept whole).
    const ok = await previewOk(s, `Phone,First Name,Notes\n4152030001,Ann,${"n".repeat(10_000)}\n`);
    assert.equal(ok.row_count, 1);
    assert.equal((ok.sample[0].custom_fields as Record<string, string>).Notes.length, 10_000);
  });
});

Deno.test("import preview: duplicate header names are a 422", async () => {
  await withScratchOrg(async (s) => {
    const error = assertError(
      await preview(s.org, "Phone,Name,City,phone\n4152040001,Ann,SF,4152040002\n"),
      422,
      "invalid_csv",
      /columns 1 and 4 are both named "Phone"/,
    );
    assert.equal(error.details?.[0].path, "row 1");
    await assertNothingStaged(s, "duplicate headers stage nothing");
  });
});

Deno.test("import preview: a file with no column that can be a phone number is a 422", async () => {
  await withScratchOrg(async (s) => {
    assertError(
      await preview(s.org, "First Name,Last Name,City\nAnn,Lee,Oakland\nBob,Ray,Napa\n"),
      422,
      "validation_failed",
      /file: none of the columns \(First Name, Last Name, City\) holds phone numbers/,
    );
    await assertNothingStaged(s, "a file without phones stages nothing");

    // A phone column with an unusual name is found by its content, and said so.
    const found = await previewOk(s, "Who,Digits\nAnn,(415) 204-0003\nBob,415.204.0004\n");
    assert.equal(found.suggested_mapping.phone, "Digits");
    assert.ok(
      found.issues.some((i) =>
        i.field === "phone" && /"Digits" holds phone numbers/.test(i.message)
      ),
      JSON.stringify(found.issues),
    );
  });
});

Deno.test("import preview: without org_id, a user importing for several organizations must say which", async () => {
  await withScratchOrg(async (s) => {
    // manager@acme.test imports for Acme and for the scratch organization.
    assertError(
      await preview(undefined, "Phone\n4152050001\n"),
      422,
      "validation_failed",
      /org_id: you import for several organizations: say which/,
    );
    assertError(
      await preview("not-a-uuid", "Phone\n4152050001\n"),
      422,
      "validation_failed",
      /org_id: must be a UUID/,
    );
    await assertNothingStaged(s, "nothing staged without an organization");
  });
});

// -----------------------------------------------------------------------------
// Encodings, delimiters, Excel, multipart
// -----------------------------------------------------------------------------

const NAMES = "Phone,First Name,Last Name,City\r\n" +
  "415-206-0001,Renée,O’Brien,São Paulo\r\n" +
  "415-206-0002,Zoë,Müller,Zürich\r\n";

const ENCODINGS: { what: string; bytes: Uint8Array<ArrayBuffer>; encoding: string }[] = [
  {
    what: "UTF-8 with a BOM",
    bytes: concat(new Uint8Array([0xef, 0xbb, 0xbf]), NAMES),
    encoding: "utf-8",
  },
  { what: "UTF-8 without a BOM", bytes: concat(NAMES), encoding: "utf-8" },
  { what: "UTF-16 LE with a BOM", bytes: utf16(NAMES, true), encoding: "utf-16le" },
  { what: "UTF-16 BE with a BOM", bytes: utf16(NAMES, false), encoding: "utf-16be" },
  // Excel on Windows, "CSV (Comma delimited)": é is 0xE9, ’ is 0x92.
  {
    what: "Windows-1252",
    bytes: fixture("windows-1252.csv"),
    encoding: "windows-1252",
  },
];

for (const { what, bytes, encoding } of ENCODINGS) {
  Deno.test(`import: ${what} is read and stored as the same text`, async () => {
    await withScratchOrg(async (s) => {
      const { preview: staged, result } = await importFile(s, bytes);
      assert.equal(staged.encoding, encoding);
      assert.deepEqual(staged.columns, ["Phone", "First Name", "Last Name", "City"]);
      assert.equal(staged.sample[0].first_name, "Renée");
      assert.equal(
        staged.issues.some((i) => /read as Windows-1252/.test(i.message)),
        encoding === "windows-1252",
      );
      assert.deepEqual(counters(result), {
        rows: 2,
        inserted: 2,
        updated: 0,
        duplicates: 0,
        invalid: 0,
        suppressed: 0,
      });
      const leads = await leadsOf(s);
      const phones = encoding === "windows-1252" ? ["+14152120001", "+14152120002"] : [
        "+14152060001",
        "+14152060002",
      ];
      assert.deepEqual(
        leads.map((l) => [l.phone, l.first_name, l.last_name, l.city]),
        [
          [phones[0], "Renée", "O’Brien", "São Paulo"],
          [phones[1], "Zoë", "Müller", "Zürich"],
        ],
      );
      const [imp] = await s.sql`select encoding from public.lead_imports
        where id = ${staged.import_id}`;
      assert.equal(imp.encoding, encoding);
    });
  });
}

for (const delimiter of [",", ";", "\t", "|"]) {
  const name = { ",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe" }[delimiter];
  Deno.test(`import: a ${name}-delimited file`, async () => {
    await withScratchOrg(async (s) => {
      // Commas inside values are data when they are not the delimiter (quoted when they are).
      const address = delimiter === "," ? '"1 Main St, Apt 2"' : "1 Main St, Apt 2";
      const csv = [
        ["Phone", "First Name", "Address", "State"],
        ["(415) 207-0001", "Ann", address, "CA"],
        ["415.207.0002", "Bob", "9 Elm Rd", "Oregon"],
      ].map((row) => row.join(delimiter)).join("\n") + "\n";
      const { preview: staged, result } = await importFile(s, csv);
      assert.equal(staged.delimiter, delimiter);
      assert.deepEqual(staged.columns, ["Phone", "First Name", "Address", "State"]);
      assert.equal(result.inserted, 2);
      assert.deepEqual(
        (await leadsOf(s)).map((l) => [l.phone, l.first_name, l.address, l.state]),
        [
          ["+14152070001", "Ann", "1 Main St, Apt 2", "CA"],
          ["+14152070002", "Bob", "9 Elm Rd", "OR"],
        ],
      );
    });
  });
}

Deno.test('import: an Excel export (BOM, CRLF, quoted commas, doubled quotes, ="0123")', async () => {
  await withScratchOrg(async (s) => {
    const { preview: staged, result } = await importFile(s, fixture("excel-export.csv"));
    assert.equal(staged.encoding, "utf-8");
    assert.equal(staged.delimiter, ",");
    assert.equal(staged.has_header, true);
    assert.equal(staged.columns[0], "Phone", "the BOM is not part of the first header");
    assert.deepEqual(staged.issues, []);
    assert.deepEqual(counters(result), {
      rows: 3,
      inserted: 3,
      updated: 0,
      duplicates: 0,
      invalid: 0,
      suppressed: 0,
    });
    assert.deepEqual(
      (await leadsOf(s)).map((l) => [
        l.phone,
        l.first_name,
        l.last_name,
        l.address,
        l.city,
        l.state,
        l.zip,
        l.tags,
      ]),
      [
        [
          "+16172010101",
          "Ann",
          "Smith, Jr.",
          '12 "Old" Mill Rd, Apt 3',
          "Boston",
          "MA",
          "02134",
          ["boston", "vip"],
        ],
        [
          "+16172010102",
          "Bob",
          "O'Neil",
          "1 Main St\nSuite 4",
          "Cambridge",
          "MA",
          "02139",
          [],
        ],
        ["+16172010103", 'Cara "CJ"', "Diaz", null, "Somerville", "MA", "02143", ["boston"]],
      ],
    );
  });
});

Deno.test("import: embedded newlines inside quotes are one cell, and rows are records", async () => {
  await withScratchOrg(async (s) => {
    const csv = "Phone,First Name,Address,Notes\n" +
      '4152080001,Ann,"1 Main St\nApt 2","call after 5\nask for Ann"\n' +
      "4152080002,Bob,2 Pine St,\n" +
      "not a phone,Cy,3 Oak Ave,\n";
    const { preview: staged, result } = await importFile(s, csv);
    assert.equal(staged.row_count, 3);
    assert.deepEqual(staged.sample.map((r) => r.row), [2, 3, 4]);
    // The bad row is row 4 (the record a spreadsheet shows), not line 5 of the file.
    assert.deepEqual(result.errors.map((e) => [e.row, e.field]), [[4, "phone"]]);
    const ann = await leadByPhone(s, "+14152080001");
    assert.equal(ann.address, "1 Main St\nApt 2");
    assert.deepEqual(ann.custom_fields, { Notes: "call after 5\nask for Ann" });
  });
});

Deno.test("import: a multipart upload records its file name; text/csv takes file_name", async () => {
  await withScratchOrg(async (s) => {
    const multipart = await previewMultipart(
      s.org,
      "Phone,First Name\n4152090001,Ann\n",
      "spring list.csv",
      { type: "application/vnd.ms-excel" },
    );
    assert.equal(multipart.status, 201, multipart.text);
    const fromForm = json<Preview>(multipart);
    assert.equal(fromForm.row_count, 1);
    const named = await previewOk(s, "Phone\n4152090002\n", "from-query.csv");
    const unnamed = await previewOk(s, "Phone\n4152090003\n");
    const names = await s.sql<{ id: string; file_name: string; status: string }[]>`
      select id, file_name, status from public.lead_imports where org_id = ${s.org}`;
    const nameOf = (id: string) => names.find((n) => n.id === id)?.file_name;
    assert.equal(nameOf(fromForm.import_id), "spring list.csv");
    assert.equal(nameOf(named.import_id), "from-query.csv");
    assert.equal(nameOf(unnamed.import_id), "upload.csv");
    assert.ok(names.every((n) => n.status === "staged"));
    const result = await executeOk({ import_id: fromForm.import_id });
    assert.equal(result.inserted, 1);
    assert.equal((await leadByPhone(s, "+14152090001")).first_name, "Ann");
  });
});

Deno.test("import: a file without a header row: columns by position, the phone found by content", async () => {
  await withScratchOrg(async (s) => {
    const { preview: staged, result } = await importFile(
      s,
      "(415) 231-0001,Ann,Lee\n415.231.0002,Bob,Ray\nnope,Cy,Ho\n",
    );
    assert.equal(staged.has_header, false);
    assert.deepEqual(staged.columns, ["Column 1", "Column 2", "Column 3"]);
    assert.equal(staged.suggested_mapping.phone, "Column 1");
    assert.ok(staged.issues.some((i) => /no header row/.test(i.message)));
    assert.deepEqual(staged.sample.map((r) => r.row), [1, 2, 3]);
    assert.deepEqual([result.inserted, result.invalid], [2, 1]);
    assert.deepEqual(result.errors.map((e) => [e.row, e.field]), [[3, "phone"]]);
  });
});

Deno.test("import: old Mac line endings (CR only)", async () => {
  await withScratchOrg(async (s) => {
    const { preview: staged, result } = await importFile(
      s,
      'Phone,First Name,Address\r4152320001,Ann,"1 Main St\rApt 2"\r4152320002,Bob,\r',
    );
    assert.equal(staged.row_count, 2);
    assert.equal(result.inserted, 2);
    assert.equal((await leadByPhone(s, "+14152320001")).address, "1 Main St\rApt 2");
  });
});

// -----------------------------------------------------------------------------
// Mapping
// -----------------------------------------------------------------------------

Deno.test("import preview: suggests a mapping for the usual headers", async () => {
  await withScratchOrg(async (s) => {
    const csv = "Home Phone,Mobile Phone,First,Surname,E-mail,Street Address,Town," +
      "State/Province,Postal Code,Tags,Opt-in Source,Opt-in Date,Company\n" +
      "4152100001,4152100002,Ann,Lee,ann@example.com,1 Main St,Oakland,CA,94607,vip," +
      "web form,2024-03-01,Acme\n";
    const staged = await previewOk(s, csv);
    assert.deepEqual(staged.suggested_mapping, {
      phone: "Mobile Phone",
      first_name: "First",
      last_name: "Surname",
      email: "E-mail",
      address: "Street Address",
      city: "Town",
      state: "State/Province",
      zip: "Postal Code",
      tags: "Tags",
      consent_source: "Opt-in Source",
      consent_at: "Opt-in Date",
      custom_fields: { "Home Phone": "Home Phone", Company: "Company" },
    });
    const [row] = staged.sample;
    assert.equal(row.phone, "+14152100002");
    assert.equal(row.consent_at, "2024-03-01T00:00:00.000Z");
    assert.deepEqual(row.custom_fields, { "Home Phone": "4152100001", Company: "Acme" });
    assert.deepEqual(row.problems, []);
    // The suggestion is stored: execute without a mapping uses it.
    const result = await executeOk({ import_id: staged.import_id });
    assert.equal(result.inserted, 1);
    const lead = await leadByPhone(s, "+14152100002");
    assert.equal(lead.consent_source, "web form");
    assert.equal(lead.city, "Oakland");
  });
});

Deno.test("import execute: an explicit mapping decides which column feeds which field", async () => {
  await withScratchOrg(async (s) => {
    const csv = "Cell,Work Phone,Given,Family,Region,Source\n" +
      "4152240001,4152249001,Ann,Lee,CA,fair\n" +
      "4152240002,4152249002,Bob,Ray,OR,web\n";
    const staged = await previewOk(s, csv);
    assert.equal(staged.suggested_mapping.phone, "Cell");
    const result = await executeOk({
      import_id: staged.import_id,
      mapping: {
        phone: "Work Phone",
        first_name: "Family",
        last_name: "Given",
        state: "Region",
        custom_fields: { mobile: "Cell" },
      },
    });
    assert.equal(result.inserted, 2);
    assert.deepEqual(
      (await leadsOf(s)).map((l) => [
        l.phone,
        l.first_name,
        l.last_name,
        l.state,
        l.consent_source,
        l.custom_fields,
      ]),
      [
        ["+14152249001", "Lee", "Ann", "CA", null, { mobile: "4152240001" }],
        ["+14152249002", "Ray", "Bob", "OR", null, { mobile: "4152240002" }],
      ],
    );
  });
});

Deno.test("import execute: the suggested mapping, sent back as it came, is accepted", async () => {
  await withScratchOrg(async (s) => {
    // A Google Forms export: long questions as headers, one with a line break in it.
    const question = "Do you agree to receive text messages from us about offers? " +
      "(Reply STOP to opt out)";
    const csv = `Timestamp,Phone Number,"${question}","Best time\nto call"\n` +
      "2024-03-01 10:00,4152370001,Yes,evening\n";
    const staged = await previewOk(s, csv);
    assert.deepEqual(staged.suggested_mapping.custom_fields, {
      Timestamp: "Timestamp",
      [question]: question,
      "Best time\nto call": "Best time\nto call",
    });
    // What a client does: show the suggestion, let the user confirm it, send it back.
    const answer = await execute({
      import_id: staged.import_id,
      mapping: staged.suggested_mapping,
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual((await leadByPhone(s, "+14152370001")).custom_fields, {
      Timestamp: "2024-03-01 10:00",
      [question]: "Yes",
      "Best time\nto call": "evening",
    });
  });
});

Deno.test("import execute: an invalid mapping is a 422 naming mapping.<field>; the import stays executable", async () => {
  await withScratchOrg(async (s) => {
    const staged = await previewOk(s, "Phone,First Name\n4152120101,Ann\n");
    assertError(
      await execute({ import_id: staged.import_id, mapping: { phone: "Telephone" } }),
      422,
      "validation_failed",
      /mapping\.phone: the file has no column named "Telephone"/,
    );
    assertError(
      await execute({
        import_id: staged.import_id,
        mapping: { phone: "phone", custom_fields: { note: "Notes" } },
      }),
      422,
      "validation_failed",
      /mapping\.phone: the file has no column named "phone" \(did you mean "Phone"\?\)/,
    );
    const custom = assertError(
      await execute({
        import_id: staged.import_id,
        mapping: { phone: "Phone", custom_fields: { note: "Notes" } },
      }),
      422,
      "validation_failed",
      /mapping\.custom_fields\.note: the file has no column "Notes"/,
    );
    assert.deepEqual(custom.details?.map((d) => d.path), ["mapping.custom_fields.note"]);
    assertError(
      await execute({ import_id: staged.import_id, mapping: { first_name: "First Name" } }),
      422,
      "validation_failed",
      /mapping\.phone: no column is mapped to phone/,
    );
    assertError(
      await execute({ import_id: staged.import_id, mapping: { fax: "Phone" } }),
      422,
      "validation_failed",
      /mapping: .*"fax"/,
    );

    const [imp] = await s.sql`select status, inserted from public.lead_imports
      where id = ${staged.import_id}`;
    assert.equal(imp.status, "staged");
    assert.equal((await counts(s)).leads, 0);
    const result = await executeOk({
      import_id: staged.import_id,
      mapping: { phone: "Phone", first_name: "First Name" },
    });
    assert.equal(result.inserted, 1);
  });
});

// -----------------------------------------------------------------------------
// Duplicates, suppression, invalid rows
// -----------------------------------------------------------------------------

Deno.test("import execute: a number twice in the file: the first row wins, the other is counted and reported", async () => {
  await withScratchOrg(async (s) => {
    const csv = "Phone,First Name\n" +
      "(415) 213-0001,Ann\n" +
      "415-213-0002,Bob\n" +
      "+1 415 213 0001,Annie\n" +
      "4152130001,Anne\n";
    const { result } = await importFile(s, csv);
    assert.deepEqual(counters(result), {
      rows: 4,
      inserted: 2,
      updated: 0,
      duplicates: 2,
      invalid: 0,
      suppressed: 0,
    });
    assert.deepEqual(result.errors, [
      {
        row: 4,
        field: "phone",
        value: "+1 415 213 0001",
        message: "duplicate: the same number as row 2",
      },
      {
        row: 5,
        field: "phone",
        value: "4152130001",
        message: "duplicate: the same number as row 2",
      },
    ]);
    assert.equal((await leadByPhone(s, "+14152130001")).first_name, "Ann");
    const csvRows = parseCsv((await errorsCsv(result.import_id)).text);
    assert.deepEqual(csvRows.slice(1).map((r) => r.slice(0, 2)), [["4", "phone"], ["5", "phone"]]);
  });
});

async function insertLead(s: Scratch, values: {
  phone: string;
  first_name?: string;
  email?: string;
  city?: string;
  tags?: string[];
}): Promise<void> {
  await s.sql`insert into public.leads (org_id, phone, first_name, email, city, tags)
    values (${s.org}, ${values.phone}, ${values.first_name ?? null}, ${values.email ?? null},
            ${values.city ?? null}, ${values.tags ?? []})`;
}

Deno.test("import execute: on_duplicate skip leaves an existing lead as it was and counts it", async () => {
  await withScratchOrg(async (s) => {
    await insertLead(s, {
      phone: "+14152140001",
      first_name: "Old",
      email: "old@example.com",
      city: "Oldtown",
      tags: ["existing"],
    });
    const csv = "Phone,First Name,Email,City,Tags\n" +
      "(415) 214-0001,New,new@example.com,,fresh\n" +
      "415-214-0002,Bob,,Napa,\n";
    const { result } = await importFile(s, csv, { on_duplicate: "skip" });
    assert.deepEqual(counters(result), {
      rows: 2,
      inserted: 1,
      updated: 0,
      duplicates: 1,
      invalid: 0,
      suppressed: 0,
    });
    assert.deepEqual(result.errors, [{
      row: 2,
      field: "phone",
      value: "(415) 214-0001",
      message: "duplicate: already a lead (skipped)",
    }]);
    const old = await leadByPhone(s, "+14152140001");
    assert.deepEqual(
      [old.first_name, old.email, old.city, old.tags, old.import_id],
      ["Old", "old@example.com", "Oldtown", ["existing"], null],
    );
  });
});

Deno.test("import execute: on_duplicate update fills an existing lead with the row's non-empty values and merges tags", async () => {
  await withScratchOrg(async (s) => {
    await insertLead(s, {
      phone: "+14152150001",
      first_name: "Old",
      email: "old@example.com",
      city: "Oldtown",
      tags: ["existing", "vip"],
    });
    const csv = "Phone,First Name,Email,City,Tags,Source\n" +
      '(415) 215-0001,New,,,"fresh, VIP",fair\n' +
      "415-215-0002,Bob,,Napa,,\n";
    const { result } = await importFile(s, csv, { on_duplicate: "update", tags: ["Spring"] });
    assert.deepEqual(counters(result), {
      rows: 2,
      inserted: 1,
      updated: 1,
      duplicates: 0,
      invalid: 0,
      suppressed: 0,
    });
    assert.deepEqual(result.errors, []);
    const updated = await leadByPhone(s, "+14152150001");
    assert.deepEqual(
      [updated.first_name, updated.email, updated.city, updated.tags, updated.consent_source],
      ["New", "old@example.com", "Oldtown", ["existing", "fresh", "spring", "vip"], "fair"],
    );
    const inserted = await leadByPhone(s, "+14152150002");
    assert.deepEqual(inserted.tags, ["spring"]);
    assert.equal(inserted.import_id, result.import_id);
  });
});

Deno.test("import execute: on_duplicate update keeps an existing tag that holds a comma whole", async () => {
  await withScratchOrg(async (s) => {
    await insertLead(s, { phone: "+14152330001", tags: ["north, east", "vip"] });
    const { result } = await importFile(s, "Phone,Tags\n4152330001,fresh\n", {
      on_duplicate: "update",
    });
    assert.equal(result.updated, 1);
    // The row's tags are added; the lead's own tags are not split up again.
    assert.deepEqual((await leadByPhone(s, "+14152330001")).tags, ["fresh", "north, east", "vip"]);
  });
});

Deno.test("import execute: on_duplicate update past a lead's limits reports that row and imports the others", async () => {
  await withScratchOrg(async (s) => {
    const tags = Array.from({ length: 45 }, (_, i) => `t${i}`);
    await insertLead(s, { phone: "+14152340001", tags });
    await s.sql`insert into public.leads (org_id, phone, custom_fields)
      values (${s.org}, '+14152340002', ${s.sql.json({ history: "h".repeat(9000) })})`;
    // Row 2: 45 + 8 tags > 50; row 3: 9,000 + 9,000 characters of custom fields > 16 kB.
    const csv = "Phone,Tags,Remarks\n" +
      '4152340001,"n1,n2,n3,n4,n5,n6,n7,n8",\n' +
      `4152340002,,${"r".repeat(9000)}\n` +
      "4152340003,ok,fine\n";
    const staged = await previewOk(s, csv);
    const answer = await execute({ import_id: staged.import_id, on_duplicate: "update" });
    assert.equal(answer.status, 200, answer.text);
    const result = json<Result>(answer);
    assert.equal(result.inserted, 1, "row 4 is imported");
    assert.deepEqual(
      result.errors.filter((e) => e.row === 2 || e.row === 3).map((e) => [e.row, e.field]),
      [[2, "tags"], [3, "custom_fields"]],
    );
    assert.equal(
      result.inserted + result.updated + result.duplicates + result.invalid,
      result.rows,
    );
    assert.equal((await leadByPhone(s, "+14152340001")).tags.length, 45, "row 2 left it as it was");
  });
});

Deno.test("import execute: a repeat of a skipped number is not said to repeat an imported row", async () => {
  await withScratchOrg(async (s) => {
    await insertLead(s, { phone: "+14152350001", first_name: "Old" });
    const { result } = await importFile(s, "Phone,First Name\n4152350001,A\n415-235-0001,B\n");
    assert.deepEqual([result.inserted, result.duplicates], [0, 2]);
    assert.deepEqual(result.errors.map((e) => [e.row, e.field]), [[2, "phone"], [3, "phone"]]);
    assert.equal(result.errors[0].message, "duplicate: already a lead (skipped)");
    // Row 2 was skipped, not imported: the message for row 3 must not say otherwise.
    assert.match(result.errors[1].message, /^duplicate: the same number as row 2/);
    assert.doesNotMatch(result.errors[1].message, /which was imported/);
  });
});

Deno.test("import execute: a number with an active suppression is imported flagged and counted", async () => {
  await withScratchOrg(async (s) => {
    await s.sql`insert into public.suppressions (org_id, phone, source, reason)
      values (${s.org}, '+14152160002', 'manual', 'asked not to be texted')`;
    // A lifted suppression does not count.
    await s.sql`insert into public.suppressions (org_id, phone, source, reason)
      values (${s.org}, '+14152160003', 'manual', 'old')`;
    await s.sql`update public.suppressions set lifted_at = now(), lift_reason = 'consented again'
      where org_id = ${s.org} and phone = '+14152160003'`;
    const csv = "Phone,First Name\n4152160001,Ann\n(415) 216-0002,Bob\n415.216.0003,Cy\n";
    const { result } = await importFile(s, csv);
    assert.deepEqual(counters(result), {
      rows: 3,
      inserted: 3,
      updated: 0,
      duplicates: 0,
      invalid: 0,
      suppressed: 1,
    });
    assert.deepEqual(
      (await leadsOf(s)).map((l) => [l.phone, l.suppressed]),
      [["+14152160001", false], ["+14152160002", true], ["+14152160003", false]],
    );
  });
});

const MIXED = "Phone,First Name,Email,State,Zip\n" +
  "4152170001,Ann,ann@example.com,CA,94103\n" +
  "4152170002,Bob,bob-at-example,ZZ,941\n" +
  "555-0100,Cy,,,\n" +
  "4152170004,Di,,Oregon,97201\n";

Deno.test("import execute: valid rows are imported and invalid rows reported by row and field", async () => {
  await withScratchOrg(async (s) => {
    const { preview: staged, result } = await importFile(s, MIXED);
    assert.deepEqual(
      staged.issues.map((i) => [i.row, i.field]),
      [[3, "email"], [3, "state"], [3, "zip"], [4, "phone"]],
    );
    assert.deepEqual(counters(result), {
      rows: 4,
      inserted: 2,
      updated: 0,
      duplicates: 0,
      invalid: 2,
      suppressed: 0,
    });
    assert.deepEqual(result.errors.map((e) => [e.row, e.field, e.value]), [
      [3, "email", "bob-at-example"],
      [3, "state", "ZZ"],
      [3, "zip", "941"],
      [4, "phone", "555-0100"],
    ]);
    for (const error of result.errors) assert.ok(error.message.length > 0);
    assert.deepEqual((await leadsOf(s)).map((l) => l.phone), ["+14152170001", "+14152170004"]);
  });
});

Deno.test("import execute: all_or_nothing with an invalid row is a 422 and imports nothing; it can run again without", async () => {
  await withScratchOrg(async (s) => {
    const staged = await previewOk(s, MIXED);
    const error = assertError(
      await execute({ import_id: staged.import_id, all_or_nothing: true }),
      422,
      "validation_failed",
      /2 of 4 rows are invalid: nothing was imported \(all_or_nothing\)/,
    );
    assert.deepEqual(error.details?.map((d) => d.path), [
      "row 3.email",
      "row 3.state",
      "row 3.zip",
      "row 4.phone",
    ]);
    assert.match(error.details?.[0].message ?? "", /not an email address \(bob-at-example\)/);
    assert.equal((await counts(s)).leads, 0);
    const [imp] = await s.sql`select status, inserted from public.lead_imports
      where id = ${staged.import_id}`;
    assert.deepEqual({ ...imp }, { status: "staged", inserted: 0 });
    const rows = await s.sql`select count(*)::int as n from public.lead_import_rows
      where import_id = ${staged.import_id}`;
    assert.equal(rows[0].n, 4, "the staged rows are kept for another try");
    assert.equal(
      (await s.sql`select count(*)::int as n from realtime.messages
        where topic = ${`org:${s.org}`} and event = 'lead_import.completed'`)[0].n,
      0,
    );

    const result = await executeOk({ import_id: staged.import_id });
    assert.deepEqual([result.inserted, result.invalid], [2, 2]);
    assert.equal((await counts(s)).leads, 2);
  });
});

Deno.test("import execute: a request the contract refuses is a 422 or 404", async () => {
  await withScratchOrg(async (s) => {
    const staged = await previewOk(s, "Phone\n4152180001\n");
    assertError(
      await execute({ import_id: "nope" }),
      422,
      "validation_failed",
      /import_id: must be a UUID/,
    );
    assertError(
      await execute({ import_id: staged.import_id, on_duplicate: "merge" }),
      422,
      "validation_failed",
      /on_duplicate/,
    );
    assertError(
      await execute({ import_id: crypto.randomUUID() }),
      404,
      "not_found",
      /no import .* in your organizations/,
    );
    assert.equal((await counts(s)).leads, 0);
  });
});

// -----------------------------------------------------------------------------
// Who may import
// -----------------------------------------------------------------------------

Deno.test("import: operators and viewers get 403 on preview, execute and errors", async () => {
  await withScratchOrg(async (s) => {
    const staged = await previewOk(s, "Phone,First Name\n4152190001,Ann\n");
    for (const user of ["operator@acme.test", "viewer@acme.test"] as const) {
      const role = /needs the admin or campaign_manager role/;
      assertError(
        await preview(s.org, "Phone\n4152190002\n", { user }),
        403,
        "forbidden",
        role,
      );
      assertError(await execute({ import_id: staged.import_id }, user), 403, "forbidden", role);
      assertError(await errorsCsv(staged.import_id, user), 403, "forbidden", role);
    }
    assert.deepEqual(await counts(s), { imports: 1, rows: 1, errors: 0, leads: 0 });
    const [imp] = await s
      .sql`select status from public.lead_imports where id = ${staged.import_id}`;
    assert.equal(imp.status, "staged");
    // An admin may, like a campaign manager.
    assert.equal((await execute({ import_id: staged.import_id }, "admin@acme.test")).status, 200);
    assert.equal((await errorsCsv(staged.import_id, "admin@acme.test")).status, 200);
    assert.equal(
      (await preview(s.org, "Phone\n4152190003\n", { user: "admin@acme.test" })).status,
      201,
    );
  }, {
    "operator@acme.test": "operator",
    "viewer@acme.test": "viewer",
    "admin@acme.test": "admin",
  });
});

Deno.test("import: another organization's user cannot see, execute or add to an import", async () => {
  await withScratchOrg(async (s) => {
    const staged = await previewOk(s, "Phone,First Name\n4152200001,Ann\n");
    // manager@globex.test imports for Globex, not for this organization.
    const outsider: User = "manager@globex.test";
    assertError(
      await preview(s.org, "Phone\n4152200002\n", { user: outsider }),
      403,
      "forbidden",
      /needs the admin or campaign_manager role/,
    );
    assertError(
      await execute({ import_id: staged.import_id }, outsider),
      404,
      "not_found",
      new RegExp(`no import ${staged.import_id}`),
    );
    assertError(await errorsCsv(staged.import_id, outsider), 404, "not_found", /no import/);
    assert.deepEqual(await counts(s), { imports: 1, rows: 1, errors: 0, leads: 0 });
  });
});

Deno.test("import: no token or a bad token is a 401", async () => {
  await withScratchOrg(async (s) => {
    const staged = await previewOk(s, "Phone\n4152210001\n");
    const anonymous = [
      await preview(s.org, "Phone\n4152210002\n", { user: null }),
      await execute({ import_id: staged.import_id }, null),
      await errorsCsv(staged.import_id, null),
      await call(previewPath(s.org), {
        method: "POST",
        body: "Phone\n4152210003\n",
        headers: { "content-type": "text/csv", authorization: "Bearer not.a.token" },
        user: null,
      }),
    ];
    for (const answer of anonymous) assert.equal(answer.status, 401, answer.text);
    assert.deepEqual(await counts(s), { imports: 1, rows: 1, errors: 0, leads: 0 });
  });
});

// -----------------------------------------------------------------------------
// Execute once, report, announce
// -----------------------------------------------------------------------------

Deno.test("import execute: a second execute changes nothing and answers the same result", async () => {
  await withScratchOrg(async (s) => {
    const { result: first } = await importFile(s, MIXED);
    assert.equal(first.already_executed, false);
    const leadsBefore = await leadsOf(s);
    // Even with other options, the import already ran.
    const again = await executeOk({
      import_id: first.import_id,
      on_duplicate: "update",
      tags: ["again"],
      mapping: { phone: "Phone" },
    });
    assert.equal(again.already_executed, true);
    assert.equal(again.committed, true);
    assert.deepEqual(counters(again), counters(first));
    assert.deepEqual(again.errors, first.errors);
    assert.deepEqual(await leadsOf(s), leadsBefore);
    const announced = await s.sql`select count(*)::int as n from realtime.messages
      where topic = ${`org:${s.org}`} and event = 'lead_import.completed'`;
    assert.equal(announced[0].n, 1, "announced once");
  });
});

Deno.test("import execute: two executes at once commit the import once", async () => {
  await withScratchOrg(async (s) => {
    const staged = await previewOk(s, "Phone\n4152220001\n4152220002\n");
    const answers = await Promise.all([
      execute({ import_id: staged.import_id }),
      execute({ import_id: staged.import_id }),
    ]);
    const statuses = answers.map((a) => a.status).sort();
    assert.ok(
      statuses.every((status) => status === 200 || status === 409),
      JSON.stringify(answers.map((a) => a.text)),
    );
    assert.ok(statuses.includes(200));
    const ran = answers.filter((a) => a.status === 200).map((a) => json<Result>(a));
    assert.equal(ran.filter((r) => !r.already_executed).length, 1);
    for (const conflict of answers.filter((a) => a.status === 409)) {
      assertError(conflict, 409, "conflict", new RegExp(`import ${staged.import_id}`));
    }
    assert.equal((await counts(s)).leads, 2);
  });
});

Deno.test("import errors: every row not imported, as CSV row,field,value,message", async () => {
  await withScratchOrg(async (s) => {
    const csv = MIXED + "4152170001,Ann again,,,\n";
    const { result } = await importFile(s, csv);
    const answer = await errorsCsv(result.import_id);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.equal(
      answer.headers.get("content-disposition"),
      `attachment; filename="import-${result.import_id}-errors.csv"`,
    );
    assert.match(answer.text, /^row,field,value,message\r\n/);
    assert.deepEqual(parseCsv(answer.text), [
      ["row", "field", "value", "message"],
      ["3", "email", "bob-at-example", "not an email address"],
      ["3", "state", "ZZ", "not a US state, territory or military code"],
      ["3", "zip", "941", "not a ZIP code (5 digits or ZIP+4)"],
      ["4", "phone", "555-0100", result.errors[3].message],
      ["6", "phone", "4152170001", "duplicate: the same number as row 2"],
    ]);
    assert.match(result.errors[3].message, /^not a valid phone number: /);

    // A staged import has no errors yet: the header alone.
    const staged = await previewOk(s, "Phone\n4152230001\n");
    assert.equal((await errorsCsv(staged.import_id)).text, "row,field,value,message\r\n");
    assertError(await errorsCsv(crypto.randomUUID()), 404, "not_found", /no import/);
  });
});

Deno.test("import execute: the answer lists the first 100 errors; the CSV has every one", async () => {
  await withScratchOrg(async (s) => {
    const bad = Array.from({ length: 150 }, (_, i) => `4152380001,Row ${i},not-an-email-${i}`);
    const csv = "Phone,First Name,Email\n4152380001,Ann,ann@example.com\n" + bad.join("\n");
    const { result } = await importFile(s, csv);
    assert.deepEqual([result.rows, result.inserted, result.invalid], [151, 1, 150]);
    assert.equal(result.errors.length, 100);
    assert.deepEqual(result.errors[0], {
      row: 3,
      field: "email",
      value: "not-an-email-0",
      message: "not an email address",
    });
    assert.equal(result.errors[99].row, 102);
    const rows = parseCsv((await errorsCsv(result.import_id)).text).slice(1);
    assert.equal(rows.length, 150);
    assert.deepEqual(rows[149], ["152", "email", "not-an-email-149", "not an email address"]);
  });
});

Deno.test("import errors: values from the file are neutralised against formula injection", async () => {
  await withScratchOrg(async (s) => {
    const csv = "Phone,First Name,Email\n" +
      "=1+2,Eve,eve@example.com\n" +
      '4152360002,Mal,"@SUM(A1)"\n' +
      "4152360003,Ok,-x\n";
    const { result } = await importFile(s, csv);
    assert.equal(result.invalid, 3);
    const rows = parseCsv((await errorsCsv(result.import_id)).text).slice(1);
    assert.deepEqual(rows.map((r) => [r[0], r[1], r[2]]), [
      ["2", "phone", "'=1+2"],
      ["3", "email", "'@SUM(A1)"],
      ["4", "email", "'-x"],
    ]);
  });
});

Deno.test("import progress: the import row is completed with counters that add up to its rows", async () => {
  await withScratchOrg(async (s) => {
    await insertLead(s, { phone: "+14152170004", first_name: "Existing" });
    const csv = MIXED + "415-217-0001,Twice,,,\n";
    const staged = await previewOk(s, csv);
    const [before] = await s.sql`select status, row_count, processed_rows, completed_at
      from public.lead_imports where id = ${staged.import_id}`;
    assert.deepEqual({ ...before }, {
      status: "staged",
      row_count: 5,
      processed_rows: 0,
      completed_at: null,
    });
    const result = await executeOk({ import_id: staged.import_id });
    const [imp] = await s.sql`
      select status, row_count, processed_rows, inserted, updated, duplicates, invalid,
             suppressed, error_count, completed_at, started_at, error
      from public.lead_imports where id = ${staged.import_id}`;
    assert.equal(imp.status, "completed");
    assert.deepEqual(
      [imp.inserted, imp.updated, imp.duplicates, imp.invalid, imp.suppressed],
      [result.inserted, result.updated, result.duplicates, result.invalid, result.suppressed],
    );
    assert.deepEqual(counters(result), {
      rows: 5,
      inserted: 1,
      updated: 0,
      duplicates: 2,
      invalid: 2,
      suppressed: 0,
    });
    assert.equal(imp.inserted + imp.updated + imp.duplicates + imp.invalid, imp.row_count);
    assert.equal(imp.processed_rows, imp.row_count);
    assert.equal(imp.error_count, 6, "4 problems on 2 invalid rows, 2 duplicates");
    assert.ok(imp.completed_at instanceof Date && imp.started_at instanceof Date);
    assert.equal(imp.error, null);
    const staging = await s.sql`select count(*)::int as n from public.lead_import_rows
      where import_id = ${staged.import_id}`;
    assert.equal(staging[0].n, 0, "the staged rows are dropped once committed");
  });
});

Deno.test("import realtime: completion is broadcast on the organization's private channel", async () => {
  await withScratchOrg(async (s) => {
    const { result } = await importFile(s, MIXED);
    const messages = await s.sql<
      { event: string; private: boolean; extension: string; payload: Record<string, unknown> }[]
    >`
      select event, private, extension, payload from realtime.messages
      where topic = ${`org:${s.org}`}`;
    assert.equal(messages.length, 1);
    const [message] = messages;
    assert.equal(message.event, "lead_import.completed");
    assert.equal(message.private, true);
    assert.equal(message.extension, "broadcast");
    assert.equal(message.payload.import_id, result.import_id);
    assert.equal(message.payload.status, "completed");
    assert.deepEqual(
      {
        rows: message.payload.rows,
        inserted: message.payload.inserted,
        updated: message.payload.updated,
        duplicates: message.payload.duplicates,
        invalid: message.payload.invalid,
        suppressed: message.payload.suppressed,
      },
      counters(result),
    );
    assert.equal(message.payload.errors, undefined, "the errors stay out of the broadcast");

    // Realtime authorises a channel join as the user (RLS on realtime.messages with the
    // topic set): members of the organization may receive it, others may not.
    const visibleTo = (user: User) =>
      s.sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true),
          set_config('request.jwt.claims', ${
          JSON.stringify({ sub: seed.users[user], role: "authenticated" })
        }, true),
          set_config('realtime.topic', ${`org:${s.org}`}, true)`;
        const rows = await tx`select event from realtime.messages where topic = ${`org:${s.org}`}`;
        return rows.map((r) => r.event);
      });
    assert.deepEqual(await visibleTo("viewer@acme.test"), ["lead_import.completed"]);
    assert.deepEqual(await visibleTo("manager@globex.test"), []);
  }, { "viewer@acme.test": "viewer" });
});
