/**
 * One file field of a `multipart/form-data` body (RFC 7578 over RFC 2046), found in the
 * bytes already read and returned as a view of them: no copy of a 10 MB upload (the
 * platform's `Request.formData()` copies the file twice).
 */

export interface FormFile {
  /** The part's content: a view of the body's bytes. */
  bytes: Uint8Array<ArrayBuffer>;
  /** The part's `filename` (or `filename*`), when it has one. */
  fileName: string | null;
}

/** The body is not multipart/form-data as its Content-Type says. */
export class MultipartError extends Error {}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The `boundary` parameter of a Content-Type, as sent (boundaries are case-sensitive), or
 * undefined when there is none or it is not a valid RFC 2046 boundary (1–70 characters).
 */
export function boundaryOf(contentType: string): string | undefined {
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  return boundary && /^[0-9A-Za-z'()+_,\-./:=? ]*[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary)
    ? boundary
    : undefined;
}

/** Where `needle` next occurs in `haystack` at or after `from`, or -1. */
function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last;) {
    let k = 1;
    while (k < needle.length && haystack[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

/** A header parameter: `name="x"`, `name=x`, or RFC 5987 `name*=UTF-8''%E2%80%A6`. */
function parameter(header: string, name: string): string | null {
  const extended = new RegExp(`;\\s*${name}\\*\\s*=\\s*UTF-8''([^;\\s]*)`, "i").exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]);
    } catch {
      // Fall back to the plain parameter.
    }
  }
  const plain = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i")
    .exec(header);
  if (!plain) return null;
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, "$1") : plain[2];
}

/**
 * The first part named `name` of a multipart/form-data body with this boundary, or null
 * when no part has that name. Throws `MultipartError` when the body is not well formed
 * (no opening boundary, a part without headers, no closing boundary).
 */
export function findFormFile(
  body: Uint8Array<ArrayBuffer>,
  boundary: string,
  name: string,
): FormFile | null {
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  // The first boundary may open the body (no CR LF before it) or follow a preamble.
  let at: number;
  if (indexOfBytes(body.subarray(0, delimiter.length - 2), delimiter.subarray(2), 0) === 0) {
    at = delimiter.length - 2;
  } else {
    const found = indexOfBytes(body, delimiter, 0);
    if (found === -1) throw new MultipartError("the body has no opening boundary");
    at = found + delimiter.length;
  }
  for (;;) {
    if (body[at] === DASH && body[at + 1] === DASH) return null; // the closing boundary
    while (body[at] === 0x20 || body[at] === 0x09) at++; // transport padding
    if (body[at] !== CR || body[at + 1] !== LF) {
      throw new MultipartError("a boundary is not followed by a line break");
    }
    const headersStart = at + 2;
    const headersEnd = indexOfBytes(body, encoder.encode("\r\n\r\n"), headersStart - 2);
    if (headersEnd === -1) throw new MultipartError("a part has no end of headers");
    const headers = decoder.decode(body.subarray(headersStart, headersEnd)).split("\r\n");
    const contentStart = headersEnd + 4;
    const next = indexOfBytes(body, delimiter, headersEnd + 2);
    if (next === -1) throw new MultipartError("the body has no closing boundary");
    const disposition = headers.find((line) => /^content-disposition\s*:/i.test(line)) ?? "";
    if (parameter(disposition, "name") === name) {
      return {
        bytes: body.subarray(Math.min(contentStart, next), next),
        fileName: parameter(disposition, "filename"),
      };
    }
    at = next + delimiter.length;
  }
}
