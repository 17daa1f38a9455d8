/**
 * supabase/functions/leads/csv-parse.ts: streaming batches with row numbers, Excel
 * quirks, and every structural problem as a CsvProblem that says where.
 */
import assert from "node:assert/strict";
import { AppError, toErrorResponse } from "../supabase/functions/_shared/errors.ts";
import { decode, detectDelimiter } from "../supabase/functions/leads/csv-detect.ts";
import {
  cleanCell,
  type CsvBatch,
  type CsvParseOptions,
  CsvProblem,
  type CsvSummary,
  parseCsvRows,
} from "../supabase/functions/leads/csv-parse.ts";
import { csvText } from "../supabase/functions/leads/csv-text.ts";

interface Parsed {
  columns: readonly string[];
  hasHeader: boolean;
  rows: string[][];
  rowNumbers: number[];
  batches: CsvBatch[];
  summary: CsvSummary;
}

async function parse(text: string, options: Partial<CsvParseOptions> = {}): Promise<Parsed> {
  const generator = parseCsvRows(text, { delimiter: ",", ...options });
  const batches: CsvBatch[] = [];
  for (;;) {
    const next = await generator.next();
    if (next.done) {
      return {
        columns: next.value.columns,
        hasHeader: next.value.hasHeader,
        rows: batches.flatMap((b) => b.rows),
        rowNumbers: batches.flatMap((b) => b.rowNumbers),
        batches,
        summary: next.value,
      };
    }
    batches.push(next.value);
  }
}

async function problem(text: string, options: Partial<CsvParseOptions> = {}): Promise<CsvProblem> {
  try {
    await parse(text, options);
  } catch (error) {
    assert.ok(error instanceof CsvProblem, String(error));
    return error;
  }
  assert.fail("expected a CsvProblem");
}

// ─── Rows, columns, row numbers ──────────────────────────────────────────────

Deno.test("parseCsvRows: a header and rows; the header is row 1", async () => {
  const parsed = await parse("Phone,First\n4155550123,Ann\n4155550124,Bo\n");
  assert.deepEqual(parsed.columns, ["Phone", "First"]);
  assert.equal(parsed.hasHeader, true);
  assert.deepEqual(parsed.rows, [["4155550123", "Ann"], ["4155550124", "Bo"]]);
  assert.deepEqual(parsed.rowNumbers, [2, 3]);
  assert.deepEqual(parsed.summary, {
    columns: ["Phone", "First"],
    hasHeader: true,
    dataRows: 2,
    lastRow: 3,
  });
});

for (const delimiter of [",", ";", "\t", "|"] as const) {
  Deno.test(`parseCsvRows: delimiter ${JSON.stringify(delimiter)}`, async () => {
    const text = ["Phone", "Name", "Notes"].join(delimiter) + "\n" +
      ["4155550123", "Ann", '"has ' + delimiter + ' inside"'].join(delimiter) + "\n";
    assert.equal(detectDelimiter(text), delimiter);
    const parsed = await parse(text, { delimiter });
    assert.deepEqual(parsed.columns, ["Phone", "Name", "Notes"]);
    assert.deepEqual(parsed.rows, [["4155550123", "Ann", `has ${delimiter} inside`]]);
  });
}

Deno.test("parseCsvRows: without a header, columns are Column 1…, row 1 is data", async () => {
  const parsed = await parse("4155550123,Ann,Lee\n4155550124,Bo,Ng\n");
  assert.equal(parsed.hasHeader, false);
  assert.deepEqual(parsed.columns, ["Column 1", "Column 2", "Column 3"]);
  assert.deepEqual(parsed.rows, [["4155550123", "Ann", "Lee"], ["4155550124", "Bo", "Ng"]]);
  assert.deepEqual(parsed.rowNumbers, [1, 2]);
});

Deno.test("parseCsvRows: header true / false override detection", async () => {
  const text = "4155550123,Ann\n4155550124,Bo\n";
  const forced = await parse(text, { header: true });
  assert.deepEqual(forced.columns, ["4155550123", "Ann"]);
  assert.deepEqual(forced.rows, [["4155550124", "Bo"]]);
  const none = await parse("Phone,Name\nx,y\n", { header: false });
  assert.deepEqual(none.columns, ["Column 1", "Column 2"]);
  assert.deepEqual(none.rows, [["Phone", "Name"], ["x", "y"]]);
});

Deno.test("parseCsvRows: blank lines are skipped but counted in row numbers", async () => {
  const parsed = await parse("\nPhone,Name\n\n1,a\n , \n\n2,b\n\n");
  assert.deepEqual(parsed.rows, [["1", "a"], ["2", "b"]]);
  assert.deepEqual(parsed.rowNumbers, [4, 7]);
});

Deno.test("parseCsvRows: no trailing newline, and a single column", async () => {
  const parsed = await parse("Phone\n4155550123\n4155550124");
  assert.deepEqual(parsed.columns, ["Phone"]);
  assert.deepEqual(parsed.rows, [["4155550123"], ["4155550124"]]);
});

Deno.test("parseCsvRows: batches of batchSize with their first row number", async () => {
  const text = "Phone\n1\n2\n\n3\n4\n5\n";
  const parsed = await parse(text, { batchSize: 2 });
  assert.deepEqual(
    parsed.batches.map((b) => ({
      rows: b.rows,
      rowNumbers: b.rowNumbers,
      first: b.firstRowNumber,
    })),
    [
      { rows: [["1"], ["2"]], rowNumbers: [2, 3], first: 2 },
      { rows: [["3"], ["4"]], rowNumbers: [5, 6], first: 5 },
      { rows: [["5"]], rowNumbers: [7], first: 7 },
    ],
  );
  assert.deepEqual(parsed.batches[0].columns, ["Phone"]);
  assert.equal(parsed.batches[0].hasHeader, true);
});

Deno.test("parseCsvRows: batchSize 1 with a detected header yields one row at a time", async () => {
  const parsed = await parse("Phone\n1\n2\n", { batchSize: 1 });
  assert.deepEqual(parsed.batches.map((b) => b.rows), [[["1"]], [["2"]]]);
});

// ─── Excel quirks ────────────────────────────────────────────────────────────

Deno.test('parseCsvRows: an Excel export (BOM, CRLF, quoted fields, ="…" text)', async () => {
  const file = new Uint8Array([
    0xef,
    0xbb,
    0xbf,
    ...new TextEncoder().encode(
      'Phone,First Name,Notes,ZIP\r\n="4155550123",Ann,"said ""hi"", then left",="02134"\r\n' +
        '"=""4155550124""",Bo,"two\nlines",="01002"\r\n',
    ),
  ]);
  const { text, encoding, bom } = decode(file);
  assert.deepEqual({ encoding, bom }, { encoding: "utf-8", bom: true });
  const delimiter = detectDelimiter(text);
  assert.equal(delimiter, ",");
  const parsed = await parse(text, { delimiter });
  assert.deepEqual(parsed.columns, ["Phone", "First Name", "Notes", "ZIP"]);
  assert.deepEqual(parsed.rows, [
    ["4155550123", "Ann", 'said "hi", then left', "02134"],
    ["4155550124", "Bo", "two\nlines", "01002"],
  ]);
  assert.deepEqual(parsed.rowNumbers, [2, 3]);
});

Deno.test("parseCsvRows: a BOM left in the text is ignored", async () => {
  const parsed = await parse("\uFEFFPhone,Name\n1,a\n");
  assert.deepEqual(parsed.columns, ["Phone", "Name"]);
});

Deno.test("parseCsvRows: Windows-1252 and UTF-16 files parse after decode", async () => {
  const w1252 = new Uint8Array([
    ...new TextEncoder().encode("Phone;Name\r\n4155550123;Jos"),
    0xe9,
    0x92,
    ...new TextEncoder().encode("s\r\n"),
  ]);
  const decoded = decode(w1252);
  const parsed = await parse(decoded.text, { delimiter: detectDelimiter(decoded.text) });
  assert.deepEqual(parsed.rows, [["4155550123", "José’s"]]);

  const text = "Phone\tName\r\n4155550123\tZoë\r\n";
  const le = new Uint8Array([0xff, 0xfe, ...[...text].flatMap((c) => [c.charCodeAt(0), 0])]);
  const fromUtf16 = decode(le).text;
  assert.deepEqual((await parse(fromUtf16, { delimiter: "\t" })).rows, [["4155550123", "Zoë"]]);
});

Deno.test("parseCsvRows: embedded newlines in quoted cells are one cell, one row", async () => {
  const text = 'Phone,Notes\r\n1,"first\r\nsecond\r\nthird"\r\n2,"x"\r\n3,plain\r\n';
  const parsed = await parse(text);
  assert.deepEqual(parsed.rows, [["1", "first\r\nsecond\r\nthird"], ["2", "x"], ["3", "plain"]]);
  assert.deepEqual(parsed.rowNumbers, [2, 3, 4]);
});

Deno.test("parseCsvRows: mixed line breaks are normalised to LF", async () => {
  const parsed = await parse('Phone,Notes\r\n1,"a\nb"\n2,c\r3,d\r\n');
  assert.deepEqual(parsed.rows, [["1", "a\nb"], ["2", "c"], ["3", "d"]]);
  assert.deepEqual(parsed.rowNumbers, [2, 3, 4]);
});

Deno.test("parseCsvRows: classic Mac CR line breaks", async () => {
  const parsed = await parse("Phone,Name\r1,a\r2,b\r");
  assert.deepEqual(parsed.rows, [["1", "a"], ["2", "b"]]);
});

Deno.test("csvText: consistent line breaks are left alone, mixed ones become LF", () => {
  const read = (text: string, chunkChars?: number) => {
    const { chunks, newline } = csvText(text, chunkChars);
    return { text: [...chunks].join(""), newline };
  };
  assert.deepEqual(read("a\r\nb\r\n"), { text: "a\r\nb\r\n", newline: "\r\n" });
  assert.deepEqual(read("a\nb\n"), { text: "a\nb\n", newline: "\n" });
  assert.deepEqual(read("a\rb\r"), { text: "a\rb\r", newline: "\r" });
  assert.deepEqual(read("\uFEFFa\r\nb\nc\r"), { text: "a\nb\nc\n", newline: "\n" });
  // A CR LF cut by a chunk boundary is still one line break.
  for (let chunkChars = 1; chunkChars <= 8; chunkChars++) {
    assert.deepEqual(read("a\r\nb\nc\r\rd", chunkChars), {
      text: "a\nb\nc\n\nd",
      newline: "\n",
    }, `chunkChars ${chunkChars}`);
  }
});

Deno.test("parseCsvRows: mixed line breaks give the same rows with any chunk size", async () => {
  const text = 'Phone,Notes\r\n1,"two\nlines"\r\n2,"cr\r\nlf"\n3,x\r4,y\r\n';
  const whole = await parse(text);
  assert.deepEqual(whole.rows, [["1", "two\nlines"], ["2", "cr\nlf"], ["3", "x"], ["4", "y"]]);
  for (let chunkChars = 1; chunkChars <= text.length + 1; chunkChars++) {
    const chunked = await parse(text, { chunkChars, batchSize: 2 });
    assert.deepEqual(chunked.rows, whole.rows, `chunkChars ${chunkChars}`);
    assert.deepEqual(chunked.rowNumbers, whole.rowNumbers, `chunkChars ${chunkChars}`);
  }
});

Deno.test("parseCsvRows: trailing empty columns with empty headers are dropped", async () => {
  const parsed = await parse("Phone,Name,,\r\n1,a,,\r\n2,b,,\r\n3,c\r\n");
  assert.deepEqual(parsed.columns, ["Phone", "Name"]);
  assert.deepEqual(parsed.rows, [["1", "a"], ["2", "b"], ["3", "c"]]);
});

Deno.test("parseCsvRows: trailing delimiters on data rows only are dropped", async () => {
  const parsed = await parse("Phone,Name\n1,a,\n2,b,, \n");
  assert.deepEqual(parsed.rows, [["1", "a"], ["2", "b"]]);
});

Deno.test("parseCsvRows: an unnamed column in the middle is Column N", async () => {
  const parsed = await parse("Phone,,Name\n1,x,a\n");
  assert.deepEqual(parsed.columns, ["Phone", "Column 2", "Name"]);
  assert.deepEqual(parsed.rows, [["1", "x", "a"]]);
});

Deno.test("parseCsvRows: header names are trimmed", async () => {
  const parsed = await parse(" Phone , First Name \n1,a\n");
  assert.deepEqual(parsed.columns, ["Phone", "First Name"]);
});

Deno.test("cleanCell: Excel text wrappers and neutralised formulas", () => {
  assert.equal(cleanCell('="0123"'), "0123");
  assert.equal(cleanCell("'+14155550123"), "+14155550123");
  assert.equal(cleanCell("'=1+1"), "=1+1");
  assert.equal(cleanCell("'-5"), "-5");
  assert.equal(cleanCell("'@x"), "@x");
  assert.equal(cleanCell("'tis"), "'tis");
  assert.equal(cleanCell("=1+1"), "=1+1");
  assert.equal(cleanCell(" spaced "), " spaced ");
});

// ─── Chunking ────────────────────────────────────────────────────────────────

Deno.test("parseCsvRows: any chunk size gives the same rows", async () => {
  const text = '\uFEFFPhone,Notes,Tags\r\n="0415","a, ""quoted""\r\nline",x\r\n\r\n' +
    '2,"",y\r\n3,"ends with quote """,z\r\n4,plain,\r\n';
  const whole = await parse(text);
  assert.deepEqual(whole.rows, [
    ["0415", 'a, "quoted"\r\nline', "x"],
    ["2", "", "y"],
    ["3", 'ends with quote "', "z"],
    ["4", "plain", ""],
  ]);
  assert.deepEqual(whole.rowNumbers, [2, 4, 5, 6]);
  for (let chunkChars = 1; chunkChars <= text.length + 1; chunkChars++) {
    const chunked = await parse(text, { chunkChars, batchSize: 3 });
    assert.deepEqual(chunked.rows, whole.rows, `chunkChars ${chunkChars}`);
    assert.deepEqual(chunked.rowNumbers, whole.rowNumbers, `chunkChars ${chunkChars}`);
  }
});

Deno.test("parseCsvRows: problems are found at the same rows with any chunk size", async () => {
  const text = 'Phone,Notes,Tags\n1,a,b\n2,"bad"quote",x\n3,c,d\n4,"never closed\n5,e,f\n';
  for (let chunkChars = 1; chunkChars <= text.length + 1; chunkChars++) {
    const found = await problem(text, { chunkChars });
    assert.deepEqual(
      found.issues.map((i) => [i.kind, i.row]),
      [["malformed_quote", 3], ["unterminated_quote", 5]],
      `chunkChars ${chunkChars}`,
    );
  }
});

Deno.test("parseCsvRows: rows stream out before the whole file is read", async () => {
  const lines = ["Phone"];
  for (let i = 0; i < 5000; i++) lines.push(String(4155550000 + i));
  lines.push("4155559999,extra");
  const generator = parseCsvRows(lines.join("\n"), {
    delimiter: ",",
    batchSize: 100,
    chunkChars: 1024,
  });
  const first = await generator.next();
  assert.equal(first.done, false);
  assert.deepEqual(first.value, {
    columns: ["Phone"],
    hasHeader: true,
    rows: Array.from({ length: 100 }, (_, i) => [String(4155550000 + i)]),
    rowNumbers: Array.from({ length: 100 }, (_, i) => i + 2),
    firstRowNumber: 2,
  });
  let batches = 1;
  try {
    for (;;) {
      const next = await generator.next();
      if (next.done) assert.fail("expected a CsvProblem at the last row");
      batches++;
    }
  } catch (error) {
    assert.ok(error instanceof CsvProblem);
    assert.equal(error.message, "Row 5002 has 2 fields, the header has 1.");
  }
  assert.equal(batches, 50);
});

Deno.test("parseCsvRows: 20,000 rows arrive in order in batches of 1,000", async () => {
  const lines = ["Phone,Name"];
  for (let i = 0; i < 20_000; i++) lines.push(`${4155500000 + i},"Name ${i}"`);
  const parsed = await parse(lines.join("\r\n") + "\r\n", { chunkChars: 4096 });
  assert.equal(parsed.batches.length, 20);
  assert.ok(parsed.batches.every((b) => b.rows.length === 1000));
  assert.equal(parsed.rows.length, 20_000);
  assert.deepEqual(parsed.rows[12_345], ["4155512345", "Name 12345"]);
  assert.equal(parsed.rowNumbers[12_345], 12_347);
});

// ─── Problems ────────────────────────────────────────────────────────────────

Deno.test("CsvProblem: a 422 invalid_csv with one detail per place", async () => {
  const found = await problem("Phone,Name,City\n1,a,x\n2,b\n3,c,y\n");
  assert.ok(found instanceof AppError);
  assert.equal(found.status, 422);
  assert.equal(found.code, "invalid_csv");
  assert.equal(found.message, "Row 3 has 2 fields, the header has 3.");
  assert.deepEqual(found.details, [{
    path: "row 3",
    message: "row 3 has 2 fields, the header has 3",
  }]);
  const body = await toErrorResponse(found, "req-1").json();
  assert.deepEqual(body, {
    error: {
      code: "invalid_csv",
      message: "Row 3 has 2 fields, the header has 3.",
      details: [{ path: "row 3", message: "row 3 has 2 fields, the header has 3" }],
      request_id: "req-1",
    },
  });
});

Deno.test("parseCsvRows: ragged rows, too few and too many fields", async () => {
  const found = await problem("A,B,C,D,E,Phone\n1,2,3,4,5,6\n1,2,3,4,5\n1,2,3,4,5,6,7\n1\n");
  assert.deepEqual(found.issues, [
    { kind: "ragged_row", row: 3, message: "row 3 has 5 fields, the header has 6" },
    { kind: "ragged_row", row: 4, message: "row 4 has 7 fields, the header has 6" },
    { kind: "ragged_row", row: 5, message: "row 5 has 1 field, the header has 6" },
  ]);
  assert.equal(found.message, "Row 3 has 5 fields, the header has 6 (and 2 more problems).");
});

Deno.test("parseCsvRows: ragged rows in a file without a header", async () => {
  const wider = await problem("\n4155550123\n4155550124,Ann\n");
  assert.deepEqual(wider.issues, [
    { kind: "ragged_row", row: 3, message: "row 3 has 2 fields, row 2 has 1" },
  ]);
  const found = await problem("4155550123,Ann\n4155550124\n");
  assert.deepEqual(found.issues, [
    { kind: "ragged_row", row: 2, message: "row 2 has 1 field, row 1 has 2" },
  ]);
});

Deno.test("parseCsvRows: at most 20 problems, then reading stops", async () => {
  const lines = ["Phone,Name"];
  for (let i = 0; i < 100; i++) lines.push("4155550123");
  const found = await problem(lines.join("\n"));
  assert.equal(found.issues.length, 20);
  assert.deepEqual(found.issues.map((i) => i.row), Array.from({ length: 20 }, (_, i) => i + 2));
  assert.equal(
    found.message,
    "Row 2 has 1 field, the header has 2 (and 19 more problems; reading stopped after 20).",
  );
  assert.equal((await problem(lines.join("\n"), { maxProblems: 3 })).issues.length, 3);
});

Deno.test("parseCsvRows: a value under a column the header leaves unnamed", async () => {
  const found = await problem("Phone,Name,,\n1,a,,\n2,b,,oops\n");
  assert.deepEqual(found.issues, [
    {
      kind: "unnamed_value",
      row: 3,
      message: "row 3 has a value in column 4, which has no name in the header",
    },
  ]);
});

Deno.test("parseCsvRows: too few fields when the header has unnamed trailing columns", async () => {
  const found = await problem("Phone,Name,,\n1\n");
  assert.deepEqual(found.issues, [
    { kind: "ragged_row", row: 2, message: "row 2 has 1 field, the header names 2 columns" },
  ]);
});

Deno.test("parseCsvRows: an unterminated quote names its row", async () => {
  const found = await problem('Phone,Notes\n1,ok\n2,"never closed\n3,x\n4,y\n');
  assert.deepEqual(found.issues, [
    {
      kind: "unterminated_quote",
      row: 3,
      message: 'row 3 opens a quoted field that is never closed (a stray " ?): everything ' +
        "after it was read as one cell",
    },
  ]);
});

Deno.test("parseCsvRows: text after a closing quote is a malformed quote", async () => {
  const found = await problem('Phone,Notes\n1,"12" screen\n');
  assert.deepEqual(found.issues.map((i) => [i.kind, i.row, i.message]), [[
    "malformed_quote",
    2,
    "row 2 has a quoted field with text after its closing quote (write a quote inside a " +
    'quoted field as "")',
  ]]);
});

Deno.test("parseCsvRows: a quote inside an unquoted cell is literal", async () => {
  const parsed = await parse('Phone,Notes\n1,12" screen\n');
  assert.deepEqual(parsed.rows, [["1", '12" screen']]);
});

Deno.test("parseCsvRows: a cell over maxCellChars", async () => {
  const notes = "x".repeat(10_241);
  const found = await problem(`Phone,Notes\n1,ok\n2,${notes}\n`);
  assert.deepEqual(found.issues, [
    {
      kind: "cell_too_long",
      row: 3,
      message: 'row 3, column "Notes": 10,241 characters, at most 10,000',
    },
  ]);
  const parsed = await parse(`Phone,Notes\n1,${"x".repeat(10_000)}\n`);
  assert.equal(parsed.rows[0][1].length, 10_000);
  const small = await problem("Phone,Notes\n1,abcdef\n", { maxCellChars: 5 });
  assert.equal(small.issues[0].message, 'row 2, column "Notes": 6 characters, at most 5');
});

Deno.test("parseCsvRows: cell length counts characters, not UTF-16 code units", async () => {
  const emoji = "😀".repeat(10_000);
  const parsed = await parse(`Phone,Notes\n1,${emoji}\n`);
  assert.equal(parsed.rows[0][1], emoji);
  const found = await problem(`Phone,Notes\n1,${emoji}😀\n`);
  assert.equal(found.issues[0].message, 'row 2, column "Notes": 10,001 characters, at most 10,000');
});

Deno.test("parseCsvRows: a header name over maxCellChars", async () => {
  const found = await problem(`Phone,${"N".repeat(12)}\n1,a\n`, { maxCellChars: 10 });
  assert.deepEqual(found.issues, [
    { kind: "cell_too_long", row: 1, message: "row 1, column 2: 12 characters, at most 10" },
  ]);
});

Deno.test("parseCsvRows: duplicate header names, case-insensitive after trimming", async () => {
  const found = await problem("Phone,Name,Email, phone ,EMAIL,email\n1,a,b,c,d,e\n");
  assert.deepEqual(found.issues, [
    { kind: "duplicate_headers", row: 1, message: 'columns 1 and 4 are both named "Phone"' },
    {
      kind: "duplicate_headers",
      row: 1,
      message: 'columns 3, 5 and 6 are all named "Email"',
    },
  ]);
  assert.deepEqual(found.details?.[0], {
    path: "row 1",
    message: 'columns 1 and 4 are both named "Phone"',
  });
});

Deno.test("parseCsvRows: an empty file", async () => {
  for (const text of ["", "\n", "\r\n\r\n", "  \n\t\n", ",,,\n,,\n"]) {
    const found = await problem(text);
    assert.deepEqual(found.issues, [{ kind: "empty", row: null, message: "the file is empty" }]);
    assert.equal(found.message, "The file is empty.");
    assert.deepEqual(found.details, [{ path: "", message: "the file is empty" }]);
  }
});

Deno.test("parseCsvRows: a header row and no data rows", async () => {
  for (const text of ["Phone,First Name\n", "Phone,First Name", "Phone,Name\r\n\r\n,\r\n"]) {
    const found = await problem(text);
    assert.deepEqual(found.issues, [
      { kind: "header_only", row: null, message: "the file has a header row but no data rows" },
    ]);
    assert.equal(found.message, "The file has a header row but no data rows.");
  }
});

Deno.test("parseCsvRows: after a problem no more batches are yielded", async () => {
  const generator = parseCsvRows("Phone\n1\n2\n3,x\n4\n5\n6\n", {
    delimiter: ",",
    batchSize: 2,
  });
  const first = await generator.next();
  assert.equal(first.done, false);
  assert.deepEqual(first.value.rows, [["1"], ["2"]]);
  await assert.rejects(generator.next(), (error: unknown) => {
    assert.ok(error instanceof CsvProblem);
    assert.deepEqual(error.issues.map((i) => i.row), [4]);
    return true;
  });
});
