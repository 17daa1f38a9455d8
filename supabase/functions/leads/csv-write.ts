/**
 * Writing CSV for exports and error reports: RFC 4180 quoting plus neutralisation of
 * spreadsheet formulas (CSV injection).
 *
 * A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is what Excel,
 * LibreOffice and Google Sheets may evaluate as a formula, so it gets a leading `'`
 * (OWASP's advice). That includes our own E.164 phone numbers ("+14155550123" is written
 * `'+14155550123`): a number is text a lead or an importer chose, and a `+` cell is also
 * how `+1+cmd|…` payloads start, so no exception is safe to make. Spreadsheets keep the
 * value as text (a bare +14155550123 would become the number 14155550123 anyway), and
 * our import (`cleanCell` in csv-parse.ts) removes the `'` again, so an export
 * re-imports unchanged. Numbers written as JavaScript numbers ("-5") are data, not text a
 * user typed, and are not prefixed.
 */

/** Prepend to an export so Excel opens it as UTF-8 rather than the ANSI code page. */
export const UTF8_BOM = "\uFEFF";

/** The first characters that make a spreadsheet read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Separator between the elements of an array cell (tags). */
export const LIST_SEPARATOR = "; ";

/** The text of a value, before quoting: null/undefined → "", dates as ISO 8601. */
function text(value: unknown): { text: string; typed: boolean } {
  if (value === null || value === undefined) return { text: "", typed: true };
  if (typeof value === "string") return { text: value, typed: false };
  if (typeof value === "number" || typeof value === "bigint") {
    return { text: Number.isNaN(value) ? "" : String(value), typed: true };
  }
  if (typeof value === "boolean") return { text: String(value), typed: true };
  if (value instanceof Date) {
    return { text: Number.isNaN(value.getTime()) ? "" : value.toISOString(), typed: true };
  }
  if (Array.isArray(value)) {
    const parts = value
      .filter((item) => item !== null && item !== undefined)
      .map((item) =>
        typeof item === "object" && !(item instanceof Date) ? JSON.stringify(item) : text(item).text
      );
    return { text: parts.join(LIST_SEPARATOR), typed: false };
  }
  if (typeof value === "object") return { text: JSON.stringify(value) ?? "", typed: false };
  return { text: String(value), typed: false };
}

/** `'`-prefixes a string a spreadsheet would evaluate as a formula. */
export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/**
 * One CSV cell: the value as text (arrays joined with "; ", objects as JSON, dates as ISO
 * 8601, null as empty), formulas neutralised (see the module comment), then quoted when
 * it holds the delimiter, a quote, CR or LF, with quotes doubled (RFC 4180).
 */
export function csvCell(value: unknown, delimiter = ","): string {
  const { text: raw, typed } = text(value);
  const safe = typed ? raw : neutralizeFormula(raw);
  const needsQuotes = safe.includes(delimiter) || safe.includes('"') || safe.includes("\r") ||
    safe.includes("\n");
  return needsQuotes ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV record, CRLF-terminated (RFC 4180). */
export function csvLine(values: readonly unknown[], delimiter = ","): string {
  return values.map((value) => csvCell(value, delimiter)).join(delimiter) + "\r\n";
}
