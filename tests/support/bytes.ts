/** Bytes for upload tests: text in UTF-8 or UTF-16, and parts joined. */

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
}

/** Strings (as UTF-8), byte arrays and lists of byte values, one after the other. */
export function concat(...parts: (Uint8Array | string | number[])[]): Uint8Array<ArrayBuffer> {
  const chunks = parts.map((p) =>
    typeof p === "string" ? utf8(p) : p instanceof Uint8Array ? p : new Uint8Array(p)
  );
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** UTF-16 of `text`, little- or big-endian, with a byte-order mark unless `bom` is false. */
export function utf16(text: string, littleEndian: boolean, bom = true): Uint8Array<ArrayBuffer> {
  const start = bom ? 2 : 0;
  const bytes = new Uint8Array(start + text.length * 2);
  const view = new DataView(bytes.buffer);
  if (bom) view.setUint16(0, 0xfeff, littleEndian);
  for (let i = 0; i < text.length; i++) {
    view.setUint16(start + 2 * i, text.charCodeAt(i), littleEndian);
  }
  return bytes;
}
