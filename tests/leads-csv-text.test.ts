/**
 * supabase/functions/leads/csv-text.ts: an upload decoded a chunk at a time gives the
 * same text as decoding it whole, in every encoding and with any chunk size (characters
 * and CR LF pairs cut by chunk boundaries), with line breaks counted on the bytes.
 */
import assert from "node:assert/strict";
import { decode, detectEncoding } from "../supabase/functions/leads/csv-detect.ts";
import { parseCsvRows } from "../supabase/functions/leads/csv-parse.ts";
import { firstChunk, uploadText } from "../supabase/functions/leads/csv-text.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

function utf16(s: string, order: "le" | "be"): Uint8Array {
  const out: number[] = order === "le" ? [0xff, 0xfe] : [0xfe, 0xff];
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    out.push(...(order === "le" ? [unit & 0xff, unit >> 8] : [unit >> 8, unit & 0xff]));
  }
  return new Uint8Array(out);
}

function read(bytes: Uint8Array, chunkBytes: number) {
  const { chunks, newline } = uploadText(bytes, detectEncoding(bytes), chunkBytes);
  return { text: [...chunks].join(""), newline };
}

const SAMPLES: Record<string, { bytes: Uint8Array; text: string; newline: string }> = {
  "UTF-8, CR LF, multi-byte characters": {
    bytes: utf8("Name,Note\r\nJosé,“hi” 😀\r\nZoë,ok\r\n"),
    text: "Name,Note\r\nJosé,“hi” 😀\r\nZoë,ok\r\n",
    newline: "\r\n",
  },
  "UTF-8 with BOM, LF": {
    bytes: utf8("\uFEFFName\nAnn\n"),
    text: "Name\nAnn\n",
    newline: "\n",
  },
  "UTF-16 LE, CR LF": {
    bytes: utf16("Name;Ort\r\nJürgen;Köln\r\n", "le"),
    text: "Name;Ort\r\nJürgen;Köln\r\n",
    newline: "\r\n",
  },
  "UTF-16 BE, CR": {
    bytes: utf16("Name\rAnn 😀\r", "be"),
    text: "Name\rAnn 😀\r",
    newline: "\r",
  },
  // U+0D0A (ഊ) is the bytes 0A 0D in UTF-16 LE: neither a CR nor an LF.
  "UTF-16 LE, LF, a character whose bytes look like line breaks": {
    bytes: utf16("Name\nഊ\n", "le"),
    text: "Name\nഊ\n",
    newline: "\n",
  },
  "Windows-1252 (é, ’), CR LF": {
    bytes: new Uint8Array([...utf8("Name\r\nCaf"), 0xe9, 0x92, ...utf8("s\r\n")]),
    text: "Name\r\nCafé’s\r\n",
    newline: "\r\n",
  },
  "mixed line breaks become LF": {
    bytes: utf8('Phone,Note\r\n1,"a\nb"\r\n2,c\r3,d\n'),
    text: 'Phone,Note\n1,"a\nb"\n2,c\n3,d\n',
    newline: "\n",
  },
  "mixed line breaks in UTF-16 LE": {
    bytes: utf16("a\r\nb\nc\r", "le"),
    text: "a\nb\nc\n",
    newline: "\n",
  },
};

for (const [name, sample] of Object.entries(SAMPLES)) {
  Deno.test(`uploadText: ${name}, every chunk size`, () => {
    for (let chunkBytes = 2; chunkBytes <= sample.bytes.length + 1; chunkBytes++) {
      assert.deepEqual(
        read(sample.bytes, chunkBytes),
        { text: sample.text, newline: sample.newline },
        `chunkBytes ${chunkBytes}`,
      );
    }
  });
}

Deno.test("uploadText: consistent files decode as decode() does", () => {
  for (const name of ["UTF-8, CR LF, multi-byte characters", "UTF-16 BE, CR"]) {
    const { bytes } = SAMPLES[name];
    assert.equal(read(bytes, 3).text, decode(bytes).text, name);
  }
});

Deno.test("uploadText: the chunks are bounded and lazily decoded", () => {
  const bytes = utf8("Phone\n" + "4155550123\n".repeat(10_000));
  const text = uploadText(bytes, detectEncoding(bytes), 4096);
  let chunks = 0;
  for (const chunk of text.chunks) {
    assert.ok(chunk.length <= 4096, `a chunk of ${chunk.length} characters`);
    chunks++;
  }
  assert.equal(chunks, Math.ceil(bytes.length / 4096));
  assert.equal(firstChunk(uploadText(bytes, detectEncoding(bytes), 16)), "Phone\n4155550123");
  assert.equal(firstChunk(uploadText(new Uint8Array(), detectEncoding(new Uint8Array()))), "");
});

Deno.test("parseCsvRows over uploadText: the same rows as over the whole string", async () => {
  const rows = Array.from(
    { length: 300 },
    (_, i) => `415555${String(i).padStart(4, "0")},"Zoë ${i}, “q”","line\r\nbreak ${i}"`,
  );
  const bytes = utf8("\uFEFFPhone,Name,Note\r\n" + rows.join("\r\n") + "\r\n");
  const collect = async (source: Parameters<typeof parseCsvRows>[0]) => {
    const out: string[][] = [];
    for await (const batch of parseCsvRows(source, { delimiter: ",", batchSize: 7 })) {
      out.push(...batch.rows);
    }
    return out;
  };
  const whole = await collect(decode(bytes).text);
  assert.equal(whole.length, 300);
  assert.deepEqual(whole[299], ["4155550299", "Zoë 299, “q”", "line\r\nbreak 299"]);
  for (const chunkBytes of [5, 64, 333, 4096]) {
    assert.deepEqual(
      await collect(uploadText(bytes, detectEncoding(bytes), chunkBytes)),
      whole,
      `chunkBytes ${chunkBytes}`,
    );
  }
});
