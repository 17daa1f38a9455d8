/**
 * A CSV file as a sequence of bounded text chunks, never one string: decoded from the
 * upload's bytes a piece at a time (`uploadText`) or cut from a string (`csvText`), with
 * the byte order mark dropped and mixed line breaks unified on the way.
 */
import { bomLength, type DetectedEncoding } from "./csv-detect.ts";

/** Characters (or bytes) read at a time: small pieces keep the garbage of parsing small. */
export const DEFAULT_CHUNK_CHARS = 64 * 1024;

function countOf(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

export type Newline = "\r\n" | "\n" | "\r";

/** Line breaks in a whole file: carriage returns, line feeds, and CR LF pairs. */
export interface LineBreakCounts {
  cr: number;
  lf: number;
  crlf: number;
}

/**
 * A file's record separator. papaparse splits records on one kind of line break: a file
 * that mixes them (rows joined from two sources; Excel rows ending CRLF with LF inside
 * quoted cells) is `mixed` and gets LF everywhere, quoted cells included; a consistent
 * file is read as it is.
 */
export function lineBreakStyle(counts: LineBreakCounts): { newline: Newline; mixed: boolean } {
  if (counts.cr === 0) return { newline: "\n", mixed: false };
  if (counts.lf === 0) return { newline: "\r", mixed: false };
  if (counts.crlf === counts.cr && counts.crlf === counts.lf) {
    return { newline: "\r\n", mixed: false };
  }
  return { newline: "\n", mixed: true };
}

/**
 * A CSV file as text chunks (a bounded piece of the file each, its byte order mark gone
 * and, in a file of mixed line breaks, every line break already LF) and its record
 * separator. Built from a string by `csvText`, from an upload's bytes by `uploadText`.
 */
export interface CsvText {
  chunks: Iterable<string>;
  newline: Newline;
}

/** Every CR LF and lone CR as LF, across chunk boundaries (a CR ending a chunk waits). */
export function* unifyLineBreaks(chunks: Iterable<string>): Generator<string, void, void> {
  let held = "";
  for (const chunk of chunks) {
    let text = held + chunk;
    held = "";
    if (text.endsWith("\r")) {
      held = "\r";
      text = text.slice(0, -1);
    }
    if (text !== "") yield text.replace(/\r\n?/g, "\n");
  }
  if (held !== "") yield "\n";
}

function* slices(text: string, size: number): Generator<string, void, void> {
  for (let at = 0; at < text.length; at += size) yield text.slice(at, at + size);
}

/** A CSV held in a string, read `chunkChars` characters at a time. */
export function csvText(text: string, chunkChars = DEFAULT_CHUNK_CHARS): CsvText {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const { newline, mixed } = lineBreakStyle({
    cr: countOf(body, "\r"),
    lf: countOf(body, "\n"),
    crlf: countOf(body, "\r\n"),
  });
  const chunks = slices(body, Math.max(1, chunkChars));
  return { chunks: mixed ? unifyLineBreaks(chunks) : chunks, newline };
}

/** Line breaks of single-byte or UTF-8 bytes (neither has 0x0A or 0x0D inside a character). */
function byteLineBreaks(bytes: Uint8Array): LineBreakCounts {
  const counts = { cr: 0, lf: 0, crlf: 0 };
  for (let i = bytes.indexOf(0x0d); i !== -1; i = bytes.indexOf(0x0d, i + 1)) {
    counts.cr++;
    if (bytes[i + 1] === 0x0a) counts.crlf++;
  }
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) counts.lf++;
  return counts;
}

/** Line breaks of UTF-16 code units (whole units only: the byte must be the low one). */
function utf16LineBreaks(bytes: Uint8Array, little: boolean): LineBreakCounts {
  const counts = { cr: 0, lf: 0, crlf: 0 };
  const low = little ? 0 : 1;
  const isUnit = (i: number, code: number) =>
    i % 2 === low && bytes[i] === code && bytes[i + (little ? 1 : -1)] === 0;
  for (let i = bytes.indexOf(0x0d); i !== -1; i = bytes.indexOf(0x0d, i + 1)) {
    if (!isUnit(i, 0x0d)) continue;
    counts.cr++;
    if (isUnit(i + 2, 0x0a)) counts.crlf++;
  }
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) {
    if (isUnit(i, 0x0a)) counts.lf++;
  }
  return counts;
}

function* decodedChunks(
  bytes: Uint8Array,
  encoding: DetectedEncoding["encoding"],
  chunkBytes: number,
): Generator<string, void, void> {
  const decoder = new TextDecoder(encoding, { ignoreBOM: true });
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    const last = at + chunkBytes >= bytes.length;
    const text = decoder.decode(bytes.subarray(at, at + chunkBytes), { stream: !last });
    if (text !== "") yield text;
  }
}

/**
 * An upload's bytes as text chunks in its detected encoding (see csv-detect.ts), decoded
 * one piece at a time: the file is never held as one string. The line breaks are counted
 * on the bytes first, so a file that mixes them is unified from its first chunk on.
 */
export function uploadText(
  bytes: Uint8Array,
  detected: DetectedEncoding,
  chunkBytes = DEFAULT_CHUNK_CHARS,
): CsvText {
  const { encoding } = detected;
  const utf16 = encoding === "utf-16le" || encoding === "utf-16be";
  const body = bytes.subarray(bomLength(detected));
  const { newline, mixed } = lineBreakStyle(
    utf16 ? utf16LineBreaks(body, encoding === "utf-16le") : byteLineBreaks(body),
  );
  const chunks = decodedChunks(body, encoding, Math.max(2, chunkBytes));
  return { chunks: mixed ? unifyLineBreaks(chunks) : chunks, newline };
}

/** The first chunk of a text (for detection), or "" for an empty one. */
export function firstChunk(text: CsvText): string {
  const first = text.chunks[Symbol.iterator]().next();
  return first.done ? "" : first.value;
}
