/**
 * supabase/functions/leads/multipart.ts: the file field of a multipart/form-data body,
 * found without copying, agrees with the platform's own parser on what browsers and
 * tools send, and malformed bodies are refused.
 */
import assert from "node:assert/strict";
import { boundaryOf, findFormFile, MultipartError } from "../supabase/functions/leads/multipart.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A body as the platform encodes a FormData, with its Content-Type. */
async function encoded(form: FormData): Promise<{ bytes: Uint8Array<ArrayBuffer>; type: string }> {
  const request = new Request("http://127.0.0.1/", { method: "POST", body: form });
  return {
    bytes: new Uint8Array(await request.arrayBuffer()),
    type: request.headers.get("content-type") ?? "",
  };
}

function file(text: string | Uint8Array<ArrayBuffer>, name: string): File {
  return new File([text], name, { type: "text/csv" });
}

Deno.test("findFormFile agrees with Request.formData() on platform-encoded forms", async () => {
  const csvs = [
    "Phone,Name\r\n4155550123,Ann\r\n",
    "Phone\n--not-a-boundary\n\r\n--\r\n", // lines that look like boundaries
    "", // an empty file
    "x".repeat(70_000) + "\r\n", // a long one
  ];
  for (const csv of csvs) {
    const form = new FormData();
    form.append("note", "before");
    form.append("file", file(csv, "Leads – 2026 “spring”.csv"));
    form.append("after", "after");
    const { bytes, type } = await encoded(form);
    const ours = findFormFile(bytes, boundaryOf(type)!, "file");
    const theirs = (await new Response(bytes, { headers: { "content-type": type } }).formData())
      .get("file") as File;
    assert.ok(ours);
    assert.equal(decoder.decode(ours.bytes), await theirs.text(), JSON.stringify(csv.slice(0, 30)));
    assert.equal(ours.fileName, theirs.name);
    assert.equal(ours.bytes.buffer, bytes.buffer, "a view of the body, not a copy");
  }
});

Deno.test("findFormFile: a hand-written body as browsers send it (mixed-case boundary)", () => {
  const boundary = "----WebKitFormBoundaryQ7xYzAbC12";
  const body = encoder.encode(
    `preamble to ignore\r\n--${boundary}\r\n` +
      `Content-Disposition: form-data; name="org_id"\r\n\r\nabc\r\n` +
      `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="file"; filename="a \\"quoted\\" name.csv"\r\n` +
      `Content-Type: text/csv\r\n\r\n` +
      `Phone\r\n4155550123\r\n` +
      `\r\n--${boundary}--\r\nepilogue`,
  );
  const found = findFormFile(
    body,
    boundaryOf(`multipart/form-data; boundary=${boundary}`)!,
    "file",
  );
  assert.deepEqual(found && decoder.decode(found.bytes), "Phone\r\n4155550123\r\n");
  assert.equal(found?.fileName, 'a "quoted" name.csv');
  assert.equal(findFormFile(body, boundary, "missing"), null);
});

Deno.test("findFormFile: filename* (RFC 5987) wins over filename", () => {
  const body = encoder.encode(
    `--b\r\nContent-Disposition: form-data; name="file"; filename="fallback.csv"; ` +
      `filename*=UTF-8''Liste%20%E2%80%93%20%C3%A9t%C3%A9.csv\r\n\r\nx\r\n--b--`,
  );
  assert.equal(findFormFile(body, "b", "file")?.fileName, "Liste – été.csv");
});

Deno.test("boundaryOf: quoted, unquoted, case kept; invalid ones refused", () => {
  assert.equal(boundaryOf('multipart/form-data; boundary="a b:c"'), "a b:c");
  assert.equal(boundaryOf("multipart/form-data; boundary=AbC123; charset=x"), "AbC123");
  assert.equal(boundaryOf("multipart/form-data"), undefined);
  assert.equal(boundaryOf("multipart/form-data; boundary="), undefined);
  assert.equal(boundaryOf(`multipart/form-data; boundary=${"x".repeat(71)}`), undefined);
  assert.equal(boundaryOf('multipart/form-data; boundary="ends with space "'), undefined);
});

Deno.test("findFormFile: malformed bodies are refused with the reason", () => {
  const cases: [string, RegExp][] = [
    ["no boundary at all", /no opening boundary/],
    ['--b\r\nContent-Disposition: form-data; name="file"\r\n\r\ntruncated', /no closing boundary/],
    ['--b\r\nContent-Disposition: form-data; name="file"', /no end of headers/],
    ["--bX\r\n\r\nx\r\n--b--", /not followed by a line break/],
  ];
  for (const [body, reason] of cases) {
    assert.throws(
      () => findFormFile(encoder.encode(body), "b", "file"),
      (error: unknown) => error instanceof MultipartError && reason.test(error.message),
      body,
    );
  }
});
