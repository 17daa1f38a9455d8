/**
 * What an uploaded file is before it is parsed: binary or text, which encoding, which
 * delimiter, whether the first row is a header.
 *
 * Pure functions over bytes and strings (node:buffer for UTF-8 validity). Every check
 * reads a bounded prefix of the file except the ones that must see all of it (UTF-8
 * validity, NUL bytes), which run in native code.
 */
import { isUtf8 } from "node:buffer";
import { isKnownFieldName } from "./mapping.ts";

export type TextEncoding = "utf-8" | "utf-16le" | "utf-16be" | "windows-1252";

export interface DetectedEncoding {
  encoding: TextEncoding;
  /** The file started with a byte order mark (which `decode` drops). */
  bom: boolean;
}

export interface DecodedText extends DetectedEncoding {
  text: string;
}

export type Delimiter = "," | ";" | "\t" | "|";

export const DELIMITERS: readonly Delimiter[] = [",", ";", "\t", "|"];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((byte, i) => bytes[i] === byte);
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];
const UTF16LE_BOM = [0xff, 0xfe];
const UTF16BE_BOM = [0xfe, 0xff];

function bomOf(
  bytes: Uint8Array,
): { encoding: "utf-8" | "utf-16le" | "utf-16be"; length: number } | undefined {
  if (startsWith(bytes, UTF8_BOM)) return { encoding: "utf-8", length: 3 };
  if (startsWith(bytes, UTF16LE_BOM)) return { encoding: "utf-16le", length: 2 };
  if (startsWith(bytes, UTF16BE_BOM)) return { encoding: "utf-16be", length: 2 };
  return undefined;
}

/**
 * The encoding of an upload: a UTF-8 or UTF-16 (LE/BE) byte order mark decides; without
 * one, bytes that are valid UTF-8 are UTF-8 (ASCII included) and anything else is
 * Windows-1252, what Excel on Windows writes for "CSV (Comma delimited)". A UTF-8 BOM
 * followed by bytes that are not UTF-8 is read as Windows-1252 (`bom: true`), so no
 * character is replaced by U+FFFD.
 */
export function detectEncoding(bytes: Uint8Array): DetectedEncoding {
  const bom = bomOf(bytes);
  if (bom && bom.encoding !== "utf-8") return { encoding: bom.encoding, bom: true };
  const body = bom ? bytes.subarray(bom.length) : bytes;
  return { encoding: isUtf8(body) ? "utf-8" : "windows-1252", bom: bom !== undefined };
}

/** Bytes of the byte order mark `detectEncoding` found. */
export function bomLength(detected: DetectedEncoding): number {
  if (!detected.bom) return 0;
  return detected.encoding === "utf-16le" || detected.encoding === "utf-16be" ? 2 : 3;
}

/** The upload as one string, its byte order mark dropped (imports read it in chunks). */
export function decode(bytes: Uint8Array): DecodedText {
  const detected = detectEncoding(bytes);
  const text = new TextDecoder(detected.encoding, { ignoreBOM: true })
    .decode(bytes.subarray(bomLength(detected)));
  return { text, ...detected };
}

/** Signatures of files people upload instead of a CSV, first bytes → what it is. */
const SIGNATURES: readonly { bytes: readonly number[]; reason: string }[] = [
  {
    bytes: [0x50, 0x4b, 0x03, 0x04],
    reason: "an Excel workbook or ZIP archive, not a CSV file: save it as CSV",
  },
  {
    bytes: [0x50, 0x4b, 0x05, 0x06],
    reason: "an Excel workbook or ZIP archive, not a CSV file: save it as CSV",
  },
  {
    bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    reason: "an Excel 97-2003 workbook (.xls), not a CSV file: save it as CSV",
  },
  { bytes: [0x1f, 0x8b], reason: "a gzip-compressed file, not a CSV file: decompress it first" },
  { bytes: [0x25, 0x50, 0x44, 0x46, 0x2d], reason: "a PDF document, not a CSV file" },
  {
    bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    reason: "a PNG image, not a CSV file",
  },
  { bytes: [0xff, 0xd8, 0xff], reason: "a JPEG image, not a CSV file" },
  { bytes: [0x47, 0x49, 0x46, 0x38], reason: "a GIF image, not a CSV file" },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], reason: "a 7-Zip archive, not a CSV file" },
  { bytes: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], reason: "a RAR archive, not a CSV file" },
];

/** How much of the file the control-character check reads. */
const SNIFF_BYTES = 64 * 1024;
/** Above this share of control characters in the sample, the file is not text. */
const MAX_CONTROL_SHARE = 0.05;

/** C0 controls other than tab, LF, VT, FF, CR (FileMaker writes VT for in-cell breaks), and DEL. */
function isControl(code: number): boolean {
  return (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0b && code !== 0x0c &&
    code !== 0x0d) || code === 0x7f;
}

function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Why an upload is not a text file, or null when it looks like text: a known binary
 * signature (XLSX/ZIP, XLS, gzip, PDF, PNG, JPEG…), a NUL anywhere in a single-byte or
 * UTF-8 file (Postgres cannot store one; UTF-16 without a byte order mark is named as
 * such), or more than 5% control characters in the first 64 KiB.
 */
export function sniffBinary(bytes: Uint8Array): string | null {
  for (const signature of SIGNATURES) {
    if (startsWith(bytes, signature.bytes)) return `The file is ${signature.reason}.`;
  }
  const bom = bomOf(bytes);
  if (bom && bom.encoding !== "utf-8") return sniffUtf16(bytes, bom.encoding);

  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    if (looksLikeUtf16WithoutBom(bytes)) {
      return "The file looks like UTF-16 text without a byte order mark: save it as " +
        "CSV UTF-8 (or UTF-16 with a byte order mark).";
    }
    return `The file contains a NUL byte (at byte ${
      formatCount(nul + 1)
    }): it is a binary file, not CSV text.`;
  }
  const sample = bytes.subarray(0, SNIFF_BYTES);
  let controls = 0;
  for (const byte of sample) if (isControl(byte)) controls++;
  if (sample.length > 0 && controls / sample.length > MAX_CONTROL_SHARE) {
    return "The file is mostly control characters: it is a binary file, not CSV text.";
  }
  return null;
}

function sniffUtf16(bytes: Uint8Array, encoding: "utf-16le" | "utf-16be"): string | null {
  // Code units, not bytes: in UTF-16 a zero byte is half of most ASCII characters. A NUL
  // unit is two zero bytes in either byte order, so a native search finds it.
  const count = (bytes.length - 2) >> 1;
  const units = bytes.byteOffset % 2 === 0
    ? new Uint16Array(bytes.buffer, bytes.byteOffset + 2, count)
    : new Uint16Array(bytes.slice(2, 2 + count * 2).buffer);
  const nul = units.indexOf(0);
  if (nul !== -1) {
    return `The file contains a NUL character (at byte ${
      formatCount(2 + nul * 2 + 1)
    }): it is a binary file, not CSV text.`;
  }
  const little = encoding === "utf-16le";
  const sampleEnd = Math.min(bytes.length - 1, SNIFF_BYTES);
  let controls = 0;
  let sampled = 0;
  for (let i = 2; i < sampleEnd; i += 2) {
    const unit = little ? bytes[i] | (bytes[i + 1] << 8) : (bytes[i] << 8) | bytes[i + 1];
    sampled++;
    if (isControl(unit)) controls++;
  }
  if (sampled > 0 && controls / sampled > MAX_CONTROL_SHARE) {
    return "The file is mostly control characters: it is a binary file, not CSV text.";
  }
  return null;
}

/** ASCII text in UTF-16 has a zero in every other byte: check the first 1,024 bytes. */
function looksLikeUtf16WithoutBom(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 1024) & ~1;
  if (n < 4) return false;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZeros++;
    if (bytes[i + 1] === 0) oddZeros++;
  }
  const half = n / 2;
  return (oddZeros > 0.8 * half && evenZeros < 0.1 * half) ||
    (evenZeros > 0.8 * half && oddZeros < 0.1 * half);
}

/** How many records (not physical lines) `detectDelimiter` reads. */
const DELIMITER_SAMPLE_RECORDS = 50;
/** …and at most this many characters of the file. */
const DELIMITER_SAMPLE_CHARS = 64 * 1024;

/**
 * Counts of each candidate delimiter per record, outside quotes, for the first 50
 * non-blank records. A quoted field may span lines; a record cut off by the character
 * limit is dropped.
 */
function delimiterCounts(text: string): Record<Delimiter, number[]> {
  const counts: Record<Delimiter, number[]> = { ",": [], ";": [], "\t": [], "|": [] };
  const current: Record<Delimiter, number> = { ",": 0, ";": 0, "\t": 0, "|": 0 };
  const limit = Math.min(text.length, DELIMITER_SAMPLE_CHARS);
  let inQuotes = false;
  let blank = true;
  let records = 0;
  const endRecord = () => {
    if (!blank) {
      for (const d of DELIMITERS) counts[d].push(current[d]);
      records++;
    }
    for (const d of DELIMITERS) current[d] = 0;
    blank = true;
  };
  for (let i = 0; i < limit && records < DELIMITER_SAMPLE_RECORDS; i++) {
    const ch = text[i];
    if (ch === '"') {
      inQuotes = !inQuotes;
      blank = false;
    } else if (inQuotes) {
      continue;
    } else if (ch === "\n" || ch === "\r") {
      endRecord();
    } else if (ch === "," || ch === ";" || ch === "\t" || ch === "|") {
      current[ch]++;
      blank = false;
    } else if (ch !== " ") {
      blank = false;
    }
  }
  // The last record counts only if the whole file was read (not cut mid-record).
  if (limit === text.length && !inQuotes) endRecord();
  return counts;
}

/**
 * The delimiter of a CSV text: among comma, semicolon, tab and pipe, the one whose count
 * per record (outside quotes, first 50 records) is most consistent and above zero.
 * Consistency is the share of records with the most common count; ties go to the one
 * with more fields per record, then to comma, semicolon, tab, pipe in that order. A file
 * with none of them (one column) is comma-delimited.
 */
export function detectDelimiter(text: string): Delimiter {
  const counts = delimiterCounts(text);
  let best: { delimiter: Delimiter; consistency: number; fields: number } | undefined;
  for (const delimiter of DELIMITERS) {
    const perRecord = counts[delimiter];
    if (perRecord.length === 0) continue;
    const frequency = new Map<number, number>();
    for (const n of perRecord) frequency.set(n, (frequency.get(n) ?? 0) + 1);
    let mode = 0;
    let modeCount = 0;
    for (const [n, count] of frequency) {
      if (count > modeCount || (count === modeCount && n > mode)) {
        mode = n;
        modeCount = count;
      }
    }
    if (mode === 0) continue;
    const consistency = modeCount / perRecord.length;
    if (
      best === undefined || consistency > best.consistency ||
      (consistency === best.consistency && mode > best.fields)
    ) {
      best = { delimiter, consistency, fields: mode };
    }
  }
  return best?.delimiter ?? ",";
}

/** An Excel text cell written as a formula: `="0123"` → `0123`. */
export function unwrapExcelText(cell: string): string {
  if (cell.length < 3 || cell.charCodeAt(0) !== 0x3d /* = */) return cell;
  const match = /^="((?:[^"]|"")*)"$/s.exec(cell);
  return match ? match[1].replaceAll('""', '"') : cell;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Digits with phone punctuation: "+1 (415) 555-0123", "415.555.0123", "4155550123". */
const PHONE_CHARS = /^\+?[\d\s().\-/]+$/;
/** A number: "42", "-3.5", "1,234.00", "$12", "45%". */
const NUMERIC = /^[-+]?[$€£]?\s*\d[\d,.\s]*%?$/;
/** A date: "2024-01-31", "1/31/2024", "31.01.2024". */
const DATE = /^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b/;

export function looksLikePhone(cell: string): boolean {
  const value = unwrapExcelText(cell.trim());
  if (!PHONE_CHARS.test(value)) return false;
  const digits = value.replace(/\D/g, "").length;
  return digits >= 7 && digits <= 15;
}

export function looksLikeEmail(cell: string): boolean {
  return EMAIL.test(cell.trim());
}

/** A value no header would be: a phone number, an email, a number or a date. */
function looksLikeData(cell: string): boolean {
  const value = unwrapExcelText(cell.trim());
  if (value === "") return false;
  return looksLikePhone(value) || looksLikeEmail(value) || NUMERIC.test(value) ||
    DATE.test(value);
}

/** Header words that are not lead fields but say "this row names the columns". */
const COMMON_HEADER_WORDS = new Set([
  "name",
  "fullname",
  "contactname",
  "notes",
  "note",
  "comments",
  "company",
  "companyname",
  "id",
  "status",
  "created",
  "createdat",
  "updated",
  "updatedat",
  "date",
  "country",
  "title",
]);

function isHeaderWord(cell: string): boolean {
  const key = cell.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]/g, "");
  return isKnownFieldName(cell) || COMMON_HEADER_WORDS.has(key);
}

/**
 * Whether the first non-blank record names the columns.
 *
 * Data: a cell that looks like a phone number, an email, a number or a date (a lead file
 * without a header has a phone number in every row). Header: otherwise, when a cell is a
 * known column name ("Phone", "First Name", "Notes"…); data when the second record has a
 * data cell under an empty cell of the first; header when it has one under a text cell,
 * or, failing all that, when at least half the cells are filled.
 */
export function detectHeader(firstRow: readonly string[], secondRow?: readonly string[]): boolean {
  const cells = firstRow.map((cell) => cell.trim());
  if (cells.some(looksLikeData)) return false;
  const filled = cells.filter((cell) => cell !== "");
  if (filled.length === 0) return false;
  if (filled.some(isHeaderWord)) return true;
  if (secondRow !== undefined) {
    const below = (i: number) => secondRow[i] !== undefined && looksLikeData(secondRow[i]);
    // A phone or email under an empty cell: the first row is a record missing that value.
    if (cells.some((cell, i) => cell === "" && below(i))) return false;
    if (cells.some((cell, i) => cell !== "" && below(i))) return true;
  }
  return filled.length * 2 >= cells.length;
}
