/**
 * Streaming CSV parsing for lead imports: papaparse reads the decoded text a chunk at a
 * time (see csv-text.ts) and the caller pulls bounded batches of rows, so memory stays flat
 * however long the file is: one chunk of text and its records at a time.
 *
 * Row numbers are record numbers, counted from 1 and counting blank records: the row a
 * spreadsheet shows (a quoted cell with line breaks is one row). The header, when there
 * is one, is its own row number (row 1 unless blank lines precede it).
 *
 * Anything structurally wrong with the file (ragged rows, an unterminated quote, a cell
 * over the size limit, duplicate column names, no data) is a `CsvProblem`: a 422 that
 * lists up to 20 places, each `{ path: "row 17", message }`. Once a problem is found no
 * more rows are yielded; the file is read on only to list further problems.
 */
// @ts-types="@types/papaparse"
import Papa from "papaparse";
import { AppError, type FieldError } from "../_shared/errors.ts";
import { type Delimiter, detectHeader, unwrapExcelText } from "./csv-detect.ts";
import { type CsvText, csvText } from "./csv-text.ts";

export type CsvProblemKind =
  | "empty"
  | "header_only"
  | "duplicate_headers"
  | "ragged_row"
  | "unnamed_value"
  | "unterminated_quote"
  | "malformed_quote"
  | "cell_too_long";

export interface CsvIssue {
  kind: CsvProblemKind;
  /** Record number, or null for the file as a whole (empty). */
  row: number | null;
  message: string;
}

/** The file cannot be imported as it is; `details` say where (422 `invalid_csv`). */
export class CsvProblem extends AppError {
  readonly issues: readonly CsvIssue[];

  constructor(issues: readonly CsvIssue[], options: { truncated?: boolean } = {}) {
    const first = issues[0] ?? { kind: "empty", row: null, message: "the file is not valid CSV" };
    const more = Math.max(0, issues.length - 1);
    const suffix = more === 0
      ? ""
      : options.truncated
      ? ` (and ${more} more problems; reading stopped after ${issues.length})`
      : ` (and ${more} more problem${more === 1 ? "" : "s"})`;
    const details: FieldError[] = issues.map((issue) => ({
      path: issue.row === null ? "" : `row ${issue.row}`,
      message: issue.message,
    }));
    super(422, "invalid_csv", `${capitalize(first.message)}${suffix}.`, { details });
    this.issues = issues;
  }
}

export interface CsvParseOptions {
  delimiter: Delimiter;
  /**
   * Whether the first non-blank record names the columns; "detect" (the default) asks
   * `detectHeader` with the first two non-blank records.
   */
  header?: boolean | "detect";
  /** Rows per yielded batch (default 1,000). */
  batchSize?: number;
  /** Longest cell allowed, in characters (default 10,000). */
  maxCellChars?: number;
  /** Problems listed before reading stops (default 20). */
  maxProblems?: number;
  /** For a string source: characters read at a time (default 64 Ki); small values test. */
  chunkChars?: number;
}

export interface CsvBatch {
  /** Column names, unique case-insensitively: the header's, or "Column 1"… without one. */
  columns: readonly string[];
  hasHeader: boolean;
  /** Data rows, each exactly `columns.length` cells, in file order. */
  rows: string[][];
  /** The row number of each of `rows` (blank records are skipped, so not always consecutive). */
  rowNumbers: number[];
  /** `rowNumbers[0]`. */
  firstRowNumber: number;
}

export interface CsvSummary {
  columns: readonly string[];
  hasHeader: boolean;
  /** Data rows yielded. */
  dataRows: number;
  /** Row number of the last non-blank record (the header included). */
  lastRow: number;
}

export const DEFAULT_BATCH_SIZE = 1000;
export const DEFAULT_MAX_CELL_CHARS = 10_000;
export const DEFAULT_MAX_PROBLEMS = 20;

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** 10241 → "10,241", without depending on the runtime's locale data. */
function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Characters as people count them (code points), computed only for cells already too long. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** A cell our export (or another OWASP-minded one) neutralised: `'=…`, `'+1415…`. */
const NEUTRALISED = /^'[=+\-@\t\r]/;

/** A data cell as it will be stored: Excel's `="0123"` unwrapped, an export's `'` removed. */
export function cleanCell(cell: string): string {
  const unwrapped = unwrapExcelText(cell);
  return unwrapped.charCodeAt(0) === 0x27 /* ' */ && NEUTRALISED.test(unwrapped)
    ? unwrapped.slice(1)
    : unwrapped;
}

interface RawRecord {
  cells: string[];
  row: number;
  quote?: "MissingQuotes" | "InvalidQuotes";
}

/**
 * The records of a CSV text, one array per text chunk: papaparse's parser reads each
 * chunk after the unfinished record of the one before (the part after its cursor), so
 * a record may span chunks and at most one chunk of records exists at a time.
 */
function* recordChunks(
  text: CsvText,
  delimiter: Delimiter,
): Generator<RawRecord[], void, void> {
  const parser = new Papa.Parser({
    delimiter,
    newline: text.newline,
    quoteChar: '"',
    escapeChar: '"',
    header: false,
    dynamicTyping: false,
    skipEmptyLines: false,
    comments: false,
  });
  const chunks = text.chunks[Symbol.iterator]();
  let unfinished = "";
  let offset = 0;
  let recordsBefore = 0;
  let next = chunks.next();
  while (!next.done) {
    const following = chunks.next();
    const last = following.done === true;
    const input = unfinished + next.value;
    const results: Papa.ParseResult<string[]> = parser.parse(input, offset, !last);
    const { data, errors } = results;
    const records: RawRecord[] = data.map((cells, i) => ({ cells, row: recordsBefore + i + 1 }));
    for (const error of errors) {
      // An error at index data.length belongs to the unfinished record: it is parsed
      // again, whole, with the next chunk.
      if (error.row === undefined || error.row >= data.length) continue;
      if (error.code === "MissingQuotes" || error.code === "InvalidQuotes") {
        records[error.row].quote ??= error.code;
      }
    }
    recordsBefore += data.length;
    if (!last) {
      unfinished = input.slice(results.meta.cursor - offset);
      offset = results.meta.cursor;
    }
    yield records;
    next = following;
  }
}

function isBlank(cells: readonly string[]): boolean {
  return cells.every((cell) => cell.trim() === "");
}

/** The problems of a header row, and its columns. */
interface Header {
  columns: string[];
  /** Fields in the header record, unnamed trailing ones included. */
  rawWidth: number;
}

function readHeader(
  record: RawRecord,
  maxCellChars: number,
  report: (issue: CsvIssue) => void,
): Header {
  const names = record.cells.map((cell) => cell.trim());
  let width = names.length;
  while (width > 0 && names[width - 1] === "") width--;
  const columns = names.slice(0, width).map((name, i) => name === "" ? `Column ${i + 1}` : name);

  columns.forEach((name, i) => {
    if (name.length > maxCellChars && codePoints(name) > maxCellChars) {
      report({
        kind: "cell_too_long",
        row: record.row,
        message: `row ${record.row}, column ${i + 1}: ${
          formatCount(codePoints(name))
        } characters, at most ${formatCount(maxCellChars)}`,
      });
    }
  });

  const positions = new Map<string, number[]>();
  columns.forEach((name, i) => {
    const key = name.toLowerCase();
    const seen = positions.get(key);
    if (seen) seen.push(i + 1);
    else positions.set(key, [i + 1]);
  });
  for (const [, at] of positions) {
    if (at.length < 2) continue;
    const name = columns[at[0] - 1];
    const list = at.length === 2
      ? `columns ${at[0]} and ${at[1]} are both`
      : `columns ${at.slice(0, -1).join(", ")} and ${at[at.length - 1]} are all`;
    report({ kind: "duplicate_headers", row: record.row, message: `${list} named "${name}"` });
  }
  return { columns, rawWidth: names.length };
}

/**
 * The rows of a CSV text in batches of at most `batchSize`, each row exactly as wide as
 * the columns, blank records skipped, cells cleaned (`cleanCell`). Returns a summary.
 *
 * Throws `CsvProblem` for: no non-blank record ("empty"); a header and nothing else;
 * duplicate column names (case-insensitive, trimmed); a record with fewer fields than the
 * columns, or with a value beyond them (trailing empty fields, and trailing columns the
 * header leaves unnamed and empty, are dropped: Excel writes both); an unterminated or
 * malformed quoted field; a cell over `maxCellChars`. Rows before the first problem may
 * already have been yielded: the caller discards them (the import is one transaction).
 */
export async function* parseCsvRows(
  source: string | CsvText,
  options: CsvParseOptions,
): AsyncGenerator<CsvBatch, CsvSummary, void> {
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const maxCellChars = options.maxCellChars ?? DEFAULT_MAX_CELL_CHARS;
  const maxProblems = Math.max(1, options.maxProblems ?? DEFAULT_MAX_PROBLEMS);
  const headerMode = options.header ?? "detect";

  const text = typeof source === "string" ? csvText(source, options.chunkChars) : source;

  const issues: CsvIssue[] = [];
  const report = (issue: CsvIssue) => {
    if (issues.length < maxProblems) issues.push(issue);
  };
  const full = () => issues.length >= maxProblems;

  let header: Header | undefined;
  let hasHeader = false;
  let columns: readonly string[] = [];
  let width = 0;
  /** Without a header: the row whose width the others must match. */
  let firstRow = 0;
  /** The first non-blank records, held until the header question is settled. */
  let pending: RawRecord[] | undefined = [];
  let lastRow = 0;
  let dataRows = 0;
  let rows: string[][] = [];
  let rowNumbers: number[] = [];

  const quoteIssue = (record: RawRecord): boolean => {
    if (record.quote === "MissingQuotes") {
      report({
        kind: "unterminated_quote",
        row: record.row,
        message: `row ${record.row} opens a quoted field that is never closed ` +
          `(a stray " ?): everything after it was read as one cell`,
      });
      return true;
    }
    if (record.quote === "InvalidQuotes") {
      report({
        kind: "malformed_quote",
        row: record.row,
        message: `row ${record.row} has a quoted field with text after its closing quote ` +
          `(write a quote inside a quoted field as "")`,
      });
      return true;
    }
    return false;
  };

  const settle = (decided: boolean) => {
    const held = pending ?? [];
    pending = undefined;
    hasHeader = decided;
    if (hasHeader) {
      const first = held.shift();
      if (first) {
        quoteIssue(first);
        header = readHeader(first, maxCellChars, report);
      }
      columns = header?.columns ?? [];
    } else {
      const first = held[0];
      firstRow = first?.row ?? 0;
      columns = Array.from({ length: first?.cells.length ?? 0 }, (_, i) => `Column ${i + 1}`);
    }
    width = columns.length;
    for (const record of held) acceptData(record);
  };

  const acceptData = (record: RawRecord) => {
    if (quoteIssue(record)) return;
    const { cells, row } = record;
    let ok = true;
    if (cells.length < width) {
      ok = false;
      const of = !hasHeader
        ? `row ${firstRow} has ${width}`
        : header && header.rawWidth !== width
        ? `the header names ${width} columns`
        : `the header has ${width}`;
      report({
        kind: "ragged_row",
        row,
        message: `row ${row} has ${plural(cells.length, "field")}, ${of}`,
      });
    } else if (cells.length > width) {
      let extra = width;
      while (extra < cells.length && cells[extra].trim() === "") extra++;
      if (extra < cells.length) {
        ok = false;
        if (header && extra < header.rawWidth) {
          report({
            kind: "unnamed_value",
            row,
            message: `row ${row} has a value in column ${
              extra + 1
            }, which has no name in the header`,
          });
        } else {
          const of = hasHeader
            ? `the header has ${header?.rawWidth ?? width}`
            : `row ${firstRow} has ${width}`;
          report({
            kind: "ragged_row",
            row,
            message: `row ${row} has ${plural(cells.length, "field")}, ${of}`,
          });
        }
      }
    }
    const n = Math.min(width, cells.length);
    for (let i = 0; i < n; i++) {
      const cell = cells[i];
      if (cell.length > maxCellChars && codePoints(cell) > maxCellChars) {
        ok = false;
        report({
          kind: "cell_too_long",
          row,
          message: `row ${row}, column "${columns[i]}": ${
            formatCount(codePoints(cell))
          } characters, at most ${formatCount(maxCellChars)}`,
        });
      }
    }
    if (!ok || issues.length > 0) return;
    const out = new Array<string>(width);
    for (let i = 0; i < width; i++) out[i] = cleanCell(cells[i]);
    rows.push(out);
    rowNumbers.push(row);
    dataRows++;
  };

  /** The next batch of at most `batchSize` rows. */
  const takeBatch = (): CsvBatch => {
    const taken = rows.length > batchSize ? rows.splice(0, batchSize) : rows;
    const numbers = rowNumbers.length > batchSize ? rowNumbers.splice(0, batchSize) : rowNumbers;
    if (taken === rows) {
      rows = [];
      rowNumbers = [];
    }
    return { columns, hasHeader, rows: taken, rowNumbers: numbers, firstRowNumber: numbers[0] };
  };

  reading: for (const chunk of recordChunks(text, options.delimiter)) {
    for (const record of chunk) {
      if (record.quote === undefined && isBlank(record.cells)) continue;
      lastRow = record.row;
      if (pending !== undefined) {
        pending.push(record);
        if (headerMode !== "detect") settle(headerMode);
        else if (pending.length === 2) settle(detectHeader(pending[0].cells, pending[1].cells));
      } else {
        acceptData(record);
      }
      if (full()) break reading;
      if (issues.length > 0) {
        rows = [];
        rowNumbers = [];
      } else {
        while (rows.length >= batchSize) yield takeBatch();
      }
    }
  }

  if (pending !== undefined && pending.length > 0) {
    settle(headerMode === "detect" ? detectHeader(pending[0].cells) : headerMode);
  }
  if (issues.length === 0) {
    if (pending !== undefined) {
      issues.push({ kind: "empty", row: null, message: "the file is empty" });
    } else if (hasHeader && dataRows === 0) {
      issues.push({
        kind: "header_only",
        row: null,
        message: "the file has a header row but no data rows",
      });
    }
  }
  if (issues.length > 0) throw new CsvProblem(issues, { truncated: full() });

  while (rows.length > 0) yield takeBatch();
  return { columns, hasHeader, dataRows, lastRow };
}
