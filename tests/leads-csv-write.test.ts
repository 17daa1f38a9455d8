/**
 * supabase/functions/leads/csv-write.ts: RFC 4180 quoting and formula neutralisation,
 * and a round trip through our own parser.
 */
import assert from "node:assert/strict";
import { parseCsvRows } from "../supabase/functions/leads/csv-parse.ts";
import {
  csvCell,
  csvLine,
  neutralizeFormula,
  UTF8_BOM,
} from "../supabase/functions/leads/csv-write.ts";

Deno.test("csvCell: each formula trigger gets a leading quote", () => {
  assert.equal(csvCell("=1+1"), "'=1+1");
  assert.equal(csvCell('=HYPERLINK("http://x")'), '"\'=HYPERLINK(""http://x"")"');
  assert.equal(csvCell("+14155550123"), "'+14155550123");
  assert.equal(csvCell("-2+3"), "'-2+3");
  assert.equal(csvCell("@SUM(A1:A9)"), "'@SUM(A1:A9)");
  assert.equal(csvCell("\t=1"), "'\t=1");
  assert.equal(csvCell("\r=1"), '"\'\r=1"');
});

Deno.test("csvCell: a tab-delimited cell starting with a tab is neutralised and quoted", () => {
  assert.equal(csvCell("\tx", "\t"), '"\'\tx"');
});

Deno.test("csvCell: characters that only trigger at the start are left alone elsewhere", () => {
  assert.equal(csvCell("a=b"), "a=b");
  assert.equal(csvCell("ann@example.com"), "ann@example.com");
  assert.equal(csvCell("555-0123"), "555-0123");
  assert.equal(csvCell(" =1"), " =1");
  assert.equal(csvCell("'=1"), "'=1");
});

Deno.test("neutralizeFormula: prefixes only the triggers", () => {
  assert.deepEqual(
    ["=", "+", "-", "@", "\t", "\r", "a", "", "'"].map((c) => neutralizeFormula(`${c}x`)),
    ["'=x", "'+x", "'-x", "'@x", "'\tx", "'\rx", "ax", "x", "'x"],
  );
});

Deno.test("csvCell: RFC 4180 quoting", () => {
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell("a,b"), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell("line\nbreak"), '"line\nbreak"');
  assert.equal(csvCell("line\r\nbreak"), '"line\r\nbreak"');
  assert.equal(csvCell("a;b"), "a;b");
  assert.equal(csvCell("a;b", ";"), '"a;b"');
  assert.equal(csvCell("a|b", "|"), '"a|b"');
  assert.equal(csvCell(""), "");
});

Deno.test("csvCell: null, numbers, booleans, dates", () => {
  assert.equal(csvCell(null), "");
  assert.equal(csvCell(undefined), "");
  assert.equal(csvCell(42), "42");
  assert.equal(csvCell(-5), "-5");
  assert.equal(csvCell(1.5), "1.5");
  assert.equal(csvCell(Number.NaN), "");
  assert.equal(csvCell(12345678901234567890n), "12345678901234567890");
  assert.equal(csvCell(true), "true");
  assert.equal(csvCell(new Date("2024-03-01T12:34:56.789Z")), "2024-03-01T12:34:56.789Z");
  assert.equal(csvCell(new Date("not a date")), "");
});

Deno.test("csvCell: arrays (tags) joined with '; ', objects as JSON", () => {
  assert.equal(csvCell(["vip", "spring sale"]), "vip; spring sale");
  assert.equal(csvCell([]), "");
  assert.equal(csvCell(["a", null, "b"]), "a; b");
  assert.equal(csvCell(["=cmd", "b"]), "'=cmd; b");
  assert.equal(csvCell(["a,b", "c"]), '"a,b; c"');
  assert.equal(csvCell({ plan: "gold", seats: 3 }), '"{""plan"":""gold"",""seats"":3}"');
  assert.equal(csvCell([{ a: 1 }]), '"{""a"":1}"');
});

Deno.test("csvLine: CRLF-terminated, cells joined by the delimiter", () => {
  assert.equal(
    csvLine(["+14155550123", "Ann", null, ["vip", "new"], 'x "y"']),
    '\'+14155550123,Ann,,vip; new,"x ""y"""\r\n',
  );
  assert.equal(csvLine(["a", "b;c"], ";"), 'a;"b;c"\r\n');
  assert.equal(csvLine([]), "\r\n");
});

Deno.test("UTF8_BOM: the byte order mark Excel needs to read UTF-8", () => {
  assert.deepEqual([...new TextEncoder().encode(UTF8_BOM)], [0xef, 0xbb, 0xbf]);
});

Deno.test("an export re-imports unchanged through parseCsvRows", async () => {
  const values = [
    ["phone", "name", "notes", "tags"],
    ["+14155550123", "Ann, Jr.", '=HYPERLINK("http://evil")', "vip; new"],
    ["+442079460958", 'Bo "the" Ng', "line one\r\nline two", ""],
    ["-5", "@here", "\tindented", "+sign"],
  ];
  const text = values.map((row) => csvLine(row)).join("");
  const rows: string[][] = [];
  for await (const batch of parseCsvRows(text, { delimiter: ",", header: true })) {
    rows.push(...batch.rows);
  }
  assert.deepEqual(rows, [
    ["+14155550123", "Ann, Jr.", '=HYPERLINK("http://evil")', "vip; new"],
    ["+442079460958", 'Bo "the" Ng', "line one\r\nline two", ""],
    ["-5", "@here", "\tindented", "+sign"],
  ]);
});
