/**
 * Reading an upload: `text/csv` (or a spreadsheet-ish text type) as the raw body, or a
 * `multipart/form-data` field `file`; never more than the size limit in memory, and a
 * 413 as soon as the limit is passed.
 */
import {
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../_shared/errors.ts";
import { boundaryOf, findFormFile, type FormFile, MultipartError } from "./multipart.ts";

export interface Upload {
  bytes: Uint8Array<ArrayBuffer>;
  fileName: string;
}

/** Content types browsers and tools send for a .csv (Excel on Windows: vnd.ms-excel). */
const CSV_TYPES = new Set([
  "text/csv",
  "text/plain",
  "application/csv",
  "text/comma-separated-values",
  "text/tab-separated-values",
  "application/vnd.ms-excel",
]);
/** Multipart framing around the file: headers and boundaries. */
const MULTIPART_OVERHEAD = 64 * 1024;

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `the upload is larger than ${limit.toLocaleString("en-US")} bytes (MAX_UPLOAD_SIZE)`,
  );
}

/**
 * The body, up to `limit` bytes: a 413 once it is longer, without reading the rest. With
 * a declared length the bytes go straight into one buffer of that size (no second copy).
 */
export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  onTooLarge: () => Error,
  declaredLength?: number,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const expected = declaredLength !== undefined && Number.isSafeInteger(declaredLength) &&
      declaredLength >= 0 && declaredLength <= limit
    ? declaredLength
    : undefined;
  let buffer = new Uint8Array(expected ?? 0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      await reader.cancel().catch(() => {});
      throw onTooLarge();
    }
    if (expected !== undefined && size + value.byteLength <= buffer.length) {
      buffer.set(value, size);
    } else {
      if (expected !== undefined && chunks.length === 0) chunks.push(buffer.subarray(0, size));
      chunks.push(value);
    }
    size += value.byteLength;
  }
  if (chunks.length === 0) return size === buffer.length ? buffer : buffer.slice(0, size);
  // No (or a wrong) declared length: the chunks joined once.
  buffer = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    buffer.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return buffer;
}

/** The uploaded file of a request, or the 4xx that says why there is none. */
export async function readUpload(
  request: Request,
  limit: number,
  fallbackName = "upload.csv",
): Promise<Upload> {
  const contentType = request.headers.get("content-type") ?? "";
  const mediaType = contentType.split(";")[0].trim().toLowerCase();
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const isMultipart = mediaType === "multipart/form-data";
  if (!isMultipart && !CSV_TYPES.has(mediaType)) {
    throw new UnsupportedMediaTypeError(
      `${mediaType || "a body without Content-Type"} is not accepted: send the file as ` +
        'text/csv, or as the field "file" of multipart/form-data',
    );
  }
  const ceiling = isMultipart ? limit + MULTIPART_OVERHEAD : limit;
  if (Number.isFinite(declared) && declared > ceiling) throw tooLarge(limit);
  const bytes = await readLimited(
    request.body,
    ceiling,
    () => tooLarge(limit),
    Number.isFinite(declared) ? declared : undefined,
  );
  if (!isMultipart) return { bytes, fileName: fallbackName };

  const boundary = boundaryOf(contentType);
  let file: FormFile | null;
  try {
    if (!boundary) throw new MultipartError("the Content-Type has no valid boundary");
    file = findFormFile(bytes, boundary, "file");
  } catch (error) {
    if (!(error instanceof MultipartError)) throw error;
    throw new ValidationError(
      [{ path: "body", message: `not a valid multipart/form-data body: ${error.message}` }],
      "The upload could not be read",
    );
  }
  if (!file) {
    throw new ValidationError(
      [{ path: "file", message: 'the multipart field "file" with the CSV is missing' }],
      "No file in the upload",
    );
  }
  if (file.bytes.byteLength > limit) throw tooLarge(limit);
  return { bytes: file.bytes, fileName: file.fileName || fallbackName };
}
