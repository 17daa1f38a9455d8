/**
 * supabase/functions/leads/csv-detect.ts: encodings (UTF-8 with and without BOM, UTF-16
 * LE/BE with BOM, Windows-1252), binary uploads, delimiters and header rows.
 */
import assert from "node:assert/strict";
import {
  decode,
  detectDelimiter,
  detectEncoding,
  detectHeader,
  looksLikePhone,
  sniffBinary,
  unwrapExcelText,
} from "../supabase/functions/leads/csv-detect.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

/** UTF-16 bytes of `s`, with its byte order mark unless `bom` is false. */
function utf16(s: string, order: "le" | "be", bom = true): Uint8Array {
  const out: number[] = bom ? (order === "le" ? [0xff, 0xfe] : [0xfe, 0xff]) : [];
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    const lo = unit & 0xff;
    const hi = unit >> 8;
    out.push(...(order === "le" ? [lo, hi] : [hi, lo]));
  }
  return new Uint8Array(out);
}

const bytes = (...parts: (number[] | Uint8Array)[]) =>
  new Uint8Array(parts.flatMap((part) => [...part]));

// ─── Encodings ───────────────────────────────────────────────────────────────

Deno.test("detectEncoding: plain ASCII is UTF-8 without BOM", () => {
  assert.deepEqual(detectEncoding(ascii("Phone,Name\n4155550123,Ann\n")), {
    encoding: "utf-8",
    bom: false,
  });
});

Deno.test("detectEncoding: an empty file is UTF-8 without BOM", () => {
  assert.deepEqual(detectEncoding(new Uint8Array()), { encoding: "utf-8", bom: false });
});

Deno.test("decode: UTF-8 with multi-byte characters and no BOM", () => {
  const decoded = decode(ascii("Name\nJosé’s Café 😀\n"));
  assert.deepEqual(decoded, { text: "Name\nJosé’s Café 😀\n", encoding: "utf-8", bom: false });
});

Deno.test("decode: a UTF-8 BOM is detected and dropped", () => {
  const decoded = decode(bytes([0xef, 0xbb, 0xbf], ascii("Phone,Name\r\nx,é\r\n")));
  assert.deepEqual(decoded, { text: "Phone,Name\r\nx,é\r\n", encoding: "utf-8", bom: true });
});

Deno.test("decode: UTF-16 LE with BOM", () => {
  const file = utf16("Phone\tName\r\n4155550123\tJosé’s\r\n", "le");
  assert.deepEqual(detectEncoding(file), { encoding: "utf-16le", bom: true });
  assert.deepEqual(decode(file), {
    text: "Phone\tName\r\n4155550123\tJosé’s\r\n",
    encoding: "utf-16le",
    bom: true,
  });
});

Deno.test("decode: UTF-16 BE with BOM", () => {
  const file = utf16("Phone,Name\n4155550123,Zoë\n", "be");
  assert.deepEqual(detectEncoding(file), { encoding: "utf-16be", bom: true });
  assert.deepEqual(decode(file), {
    text: "Phone,Name\n4155550123,Zoë\n",
    encoding: "utf-16be",
    bom: true,
  });
});

Deno.test("decode: Windows-1252 (0xE9 é, 0x92 ’, 0x80 €) when the bytes are not UTF-8", () => {
  // "Name\nJosé’s €5\n" as Excel on Windows writes it.
  const file = bytes(ascii("Name\nJos"), [0xe9, 0x92], ascii("s "), [0x80], ascii("5\n"));
  assert.deepEqual(detectEncoding(file), { encoding: "windows-1252", bom: false });
  assert.deepEqual(decode(file), {
    text: "Name\nJosé’s €5\n",
    encoding: "windows-1252",
    bom: false,
  });
});

Deno.test("decode: a UTF-8 BOM followed by non-UTF-8 bytes falls back to Windows-1252", () => {
  const file = bytes([0xef, 0xbb, 0xbf], ascii("Caf"), [0xe9]);
  assert.deepEqual(decode(file), { text: "Café", encoding: "windows-1252", bom: true });
});

// ─── Binary uploads ──────────────────────────────────────────────────────────

Deno.test("sniffBinary: XLSX / ZIP", () => {
  const xlsx = bytes(
    [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00],
    ascii("[Content_Types].xml"),
  );
  assert.equal(
    sniffBinary(xlsx),
    "The file is an Excel workbook or ZIP archive, not a CSV file: save it as CSV.",
  );
});

Deno.test("sniffBinary: old Excel .xls (OLE2)", () => {
  const xls = bytes([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]);
  assert.equal(
    sniffBinary(xls),
    "The file is an Excel 97-2003 workbook (.xls), not a CSV file: save it as CSV.",
  );
});

Deno.test("sniffBinary: gzip, PDF, PNG, JPEG", () => {
  assert.equal(
    sniffBinary(bytes([0x1f, 0x8b, 0x08, 0x00, 0x00])),
    "The file is a gzip-compressed file, not a CSV file: decompress it first.",
  );
  assert.equal(
    sniffBinary(ascii("%PDF-1.7\n%âãÏÓ\n")),
    "The file is a PDF document, not a CSV file.",
  );
  assert.equal(
    sniffBinary(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])),
    "The file is a PNG image, not a CSV file.",
  );
  assert.equal(
    sniffBinary(bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46])),
    "The file is a JPEG image, not a CSV file.",
  );
});

Deno.test("sniffBinary: a NUL byte in UTF-8 text says where", () => {
  assert.equal(
    sniffBinary(bytes(ascii("Phone,Name\n415"), [0], ascii("5550123,Ann\n"))),
    "The file contains a NUL byte (at byte 15): it is a binary file, not CSV text.",
  );
});

Deno.test("sniffBinary: a NUL byte in Windows-1252 text", () => {
  const file = bytes(ascii("Name\nJos"), [0xe9], ascii("x".repeat(2000)), [0]);
  assert.equal(
    sniffBinary(file),
    "The file contains a NUL byte (at byte 2,010): it is a binary file, not CSV text.",
  );
});

Deno.test("sniffBinary: UTF-16 without a BOM is named as such", () => {
  assert.equal(
    sniffBinary(utf16("Phone,Name\r\n4155550123,Ann\r\n", "le", false)),
    "The file looks like UTF-16 text without a byte order mark: save it as CSV UTF-8 " +
      "(or UTF-16 with a byte order mark).",
  );
});

Deno.test("sniffBinary: a high share of control characters", () => {
  const junk = new Uint8Array(4096);
  for (let i = 0; i < junk.length; i++) junk[i] = i % 4 === 0 ? 0x01 : 0x41;
  assert.equal(
    sniffBinary(junk),
    "The file is mostly control characters: it is a binary file, not CSV text.",
  );
});

Deno.test("sniffBinary: a few stray control characters are still text", () => {
  const text = "Name,Notes\n" + "Ann,line one\x0bline two\n".repeat(50) + "Bob,end\x1a\n";
  assert.equal(sniffBinary(ascii(text)), null);
});

Deno.test("sniffBinary: text in every supported encoding is text", () => {
  assert.equal(sniffBinary(ascii("Phone,Name\n4155550123,Ann\n")), null);
  assert.equal(sniffBinary(bytes([0xef, 0xbb, 0xbf], ascii("Phone\n1\n"))), null);
  assert.equal(sniffBinary(utf16("Phone,Name\r\n4155550123,José\r\n", "le")), null);
  assert.equal(sniffBinary(utf16("Phone,Name\r\n4155550123,José\r\n", "be")), null);
  assert.equal(sniffBinary(bytes(ascii("Name\nJos"), [0xe9, 0x92], ascii("s\n"))), null);
  assert.equal(sniffBinary(new Uint8Array()), null);
});

Deno.test("sniffBinary: a NUL character in UTF-16 text", () => {
  const file = bytes(utf16("Phone\n12", "le"), [0, 0], utf16("3\n", "le", false));
  assert.equal(
    sniffBinary(file),
    "The file contains a NUL character (at byte 19): it is a binary file, not CSV text.",
  );
});

// ─── Delimiters ──────────────────────────────────────────────────────────────

Deno.test("detectDelimiter: comma", () => {
  assert.equal(detectDelimiter("Phone,First,Last\n4155550123,Ann,Lee\n4155550124,Bo,Ng\n"), ",");
});

Deno.test("detectDelimiter: semicolon (European Excel), decimal commas do not confuse it", () => {
  const text = "Phone;Name;Amount\r\n+33612345678;Zoé;1,5\r\n+33612345679;Léa;2,25\r\n" +
    "+33612345670;Noé;3\r\n";
  assert.equal(detectDelimiter(text), ";");
});

Deno.test("detectDelimiter: tab", () => {
  assert.equal(detectDelimiter("Phone\tName\tCity\n1\tAnn, Jr.\tBoston\n2\tBo\tAustin\n"), "\t");
});

Deno.test("detectDelimiter: pipe", () => {
  assert.equal(detectDelimiter("Phone|Name|City\n1|Ann|Boston, MA\n2|Bo|Austin, TX\n"), "|");
});

Deno.test("detectDelimiter: delimiters inside quotes do not count", () => {
  const text = 'Phone;Address\n1;"12 Main St, Apt 4, Boston"\n2;"1 Elm St, Austin"\n';
  assert.equal(detectDelimiter(text), ";");
});

Deno.test("detectDelimiter: a quoted cell spanning lines is one record", () => {
  const text = 'Phone|Notes\n1|"first line\nsecond, line, with, commas"\n2|plain\n';
  assert.equal(detectDelimiter(text), "|");
});

Deno.test("detectDelimiter: one column, or an even tie, is comma", () => {
  assert.equal(detectDelimiter("Phone\n4155550123\n4155550124\n"), ",");
  assert.equal(detectDelimiter("a,b;c\n1,2;3\n"), ",");
  assert.equal(detectDelimiter(""), ",");
});

Deno.test("detectDelimiter: the most consistent count wins over the most frequent", () => {
  // Commas vary per row (free text), semicolons are always 2.
  const text = "Phone;Name;Notes\n1;Ann;a, b, c, d\n2;Bo;e\n3;Cy;f, g\n";
  assert.equal(detectDelimiter(text), ";");
});

// ─── Header rows ─────────────────────────────────────────────────────────────

Deno.test("detectHeader: known column names are a header", () => {
  assert.equal(
    detectHeader(["Phone", "First Name", "Email"], ["4155550123", "Ann", "a@b.co"]),
    true,
  );
  assert.equal(detectHeader(["Mobile", "", "Notes"]), true);
});

Deno.test("detectHeader: a phone number or an email in the first row means data", () => {
  assert.equal(detectHeader(["4155550123", "Ann", "Lee"]), false);
  assert.equal(detectHeader(["+1 (415) 555-0123", "Ann"]), false);
  assert.equal(detectHeader(["Ann", "ann@example.com"]), false);
  assert.equal(detectHeader(['="0415550123"', "Ann"]), false);
});

Deno.test("detectHeader: numbers and dates in the first row mean data", () => {
  assert.equal(detectHeader(["Ann", "94103"]), false);
  assert.equal(detectHeader(["Ann", "2024-01-31"]), false);
  assert.equal(detectHeader(["Ann", "1/31/2024"]), false);
});

Deno.test("detectHeader: unknown text names over typed data are a header", () => {
  assert.equal(detectHeader(["Kontakt", "Nummer"], ["Ann", "4155550123"]), true);
  assert.equal(detectHeader(["Kontakt", "Nummer"]), true);
});

Deno.test("detectHeader: a phone under an empty first-row cell means the first row is data", () => {
  assert.equal(detectHeader(["Ann", "Lee", ""], ["Bo", "Ng", "4155550123"]), false);
});

Deno.test("detectHeader: a mostly empty first row is not a header", () => {
  assert.equal(detectHeader(["", "", "", "Ann"]), false);
  assert.equal(detectHeader(["", ""]), false);
});

Deno.test('unwrapExcelText: Excel\'s ="…" text cells', () => {
  assert.equal(unwrapExcelText('="0123"'), "0123");
  assert.equal(unwrapExcelText('="say ""hi"""'), 'say "hi"');
  assert.equal(unwrapExcelText('=""'), "");
  assert.equal(unwrapExcelText("=SUM(A1)"), "=SUM(A1)");
  assert.equal(unwrapExcelText('="a"&"b"'), '="a"&"b"');
  assert.equal(unwrapExcelText("0123"), "0123");
});

Deno.test("looksLikePhone: formats people type", () => {
  for (const phone of ["4155550123", "(415) 555-0123", "+44 20 7946 0958", "415.555.0123"]) {
    assert.equal(looksLikePhone(phone), true, phone);
  }
  for (const other of ["Phone", "123", "94103", "ann@example.com", "1234567890123456"]) {
    assert.equal(looksLikePhone(other), false, other);
  }
});
