/**
 * A corpus of hostile "CSV" uploads for the leads import: odd encodings and delimiters,
 * formula, SQL and header injections, broken quoting, enormous cells, binary files and
 * compressed bombs renamed as CSV. Each is built in code (no binary fixtures), with the
 * category it tries and the file name it is sent under.
 */
import { concat, utf16, utf8 } from "./bytes.ts";

export interface HostileFile {
  category: "encoding" | "delimiter" | "injection" | "quoting" | "size" | "binary" | "structure";
  name: string;
  fileName: string;
  bytes: Uint8Array<ArrayBuffer>;
}

const HEADER = "phone,first_name,last_name,city\n";
const ROW = "+14155550142,Ana,Lopez,Oakland\n";

/** Deterministic noise (the corpus is the same on every run). */
function noise(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A one-entry ZIP archive (stored, not compressed) holding `content` as `name`. */
function zipOf(name: string, content: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const nameBytes = utf8(name);
  const local = new Uint8Array(30);
  const v = new DataView(local.buffer);
  v.setUint32(0, 0x04034b50, true);
  v.setUint16(4, 20, true);
  v.setUint32(18, content.length, true);
  v.setUint32(22, content.length, true);
  v.setUint16(26, nameBytes.length, true);
  return concat(local, nameBytes, content);
}

function file(
  category: HostileFile["category"],
  name: string,
  bytes: Uint8Array<ArrayBuffer> | string,
  fileName = "leads.csv",
): HostileFile {
  return { category, name, fileName, bytes: typeof bytes === "string" ? utf8(bytes) : bytes };
}

export async function hostileCorpus(): Promise<HostileFile[]> {
  const manyColumns = Array.from({ length: 5_000 }, (_, i) => `c${i}`).join(",");
  const zeros = new Uint8Array(20 * 1024 * 1024);
  const bombCsv = utf8(HEADER + ROW.repeat(200_000));
  return [
    // Encodings
    file("encoding", "UTF-8 with a BOM", concat([0xef, 0xbb, 0xbf], HEADER, ROW)),
    file("encoding", "UTF-16 LE with a BOM", utf16(HEADER + ROW, true)),
    file("encoding", "UTF-16 BE with a BOM", utf16(HEADER + ROW, false)),
    file("encoding", "UTF-16 LE without a BOM", utf16(HEADER + ROW, true, false)),
    file("encoding", "UTF-32 LE BOM", concat([0xff, 0xfe, 0, 0], utf16(HEADER, true, false))),
    file(
      "encoding",
      "Windows-1252 accents",
      concat(HEADER, "+14155550142,Jos", [0xe9], ",M", [0xfc], "ller,San Jos", [0xe9], "\n"),
    ),
    file(
      "encoding",
      "invalid UTF-8 continuation bytes",
      concat(HEADER, "+14155550142,", [0x80, 0x81, 0xbf], ",X,Y\n"),
    ),
    file(
      "encoding",
      "overlong UTF-8 encoding of a slash",
      concat(HEADER, "+14155550142,", [0xc0, 0xaf], ",X,Y\n"),
    ),
    file(
      "encoding",
      "UTF-8 and Latin-1 mixed",
      concat(HEADER, "+14155550142,Zoë,A,B\n+14155550143,Zo", [0xeb], ",A,B\n"),
    ),
    file(
      "encoding",
      "NUL bytes between the characters",
      concat(HEADER, ROW.split("").join("\u0000")),
    ),
    file("encoding", "emoji and astral characters in names", HEADER + "+14155550142,🦄🦄,𝕏𝕐,🏙️\n"),
    file(
      "encoding",
      "right-to-left override in a name",
      HEADER + "+14155550142,\u202Egnp.exe,Smith,X\n",
    ),
    file(
      "encoding",
      "zero-width characters in the phone",
      HEADER + "+1415\u200B555\u200D0142,Ana,L,X\n",
    ),
    file(
      "encoding",
      "a flood of combining marks",
      HEADER + `+14155550142,A${"\u0301".repeat(5_000)},L,X\n`,
    ),
    file("encoding", "EBCDIC-looking bytes", noise(2_000, 7).map((b) => 0x40 + (b % 0x80))),
    // Delimiters
    file("delimiter", "semicolons", "phone;first_name;city\n+14155550142;Ana;Oakland\n"),
    file("delimiter", "tabs", "phone\tfirst_name\tcity\n+14155550142\tAna\tOakland\n"),
    file("delimiter", "pipes", "phone|first_name|city\n+14155550142|Ana|Oakland\n"),
    file(
      "delimiter",
      "a different delimiter on each line",
      "phone,first_name;city\n+14155550142;Ana,Oakland\n+14155550143\tBo|Reno\n",
    ),
    file("delimiter", "one column, no delimiter at all", "phone\n+14155550142\n+14155550143\n"),
    file("delimiter", "spaces only", "phone first_name city\n+14155550142 Ana Oakland\n"),
    file(
      "delimiter",
      "trailing delimiters on every line",
      "phone,first_name,,,\n+14155550142,Ana,,,\n",
    ),
    // Injections
    file("injection", "formula in a name (=cmd)", HEADER + "+14155550142,=cmd|' /C calc'!A0,L,X\n"),
    file(
      "injection",
      "formulas with + - @ and tab",
      HEADER + "+14155550142,+1+1,-2+3,@SUM(A1)\n+14155550143,\t=1,L,X\n",
    ),
    file(
      "injection",
      "DDE payload",
      HEADER + '+14155550142,"=DDE(""cmd"";""/C calc"";""__DdeLink_60_870516294"")",L,X\n',
    ),
    file(
      "injection",
      "SQL in every field",
      HEADER +
        "+14155550142,'; drop table public.leads; --,\" or 1=1 --,Robert'); DELETE FROM leads;--\n",
    ),
    file(
      "injection",
      "SQL in the header",
      'phone,"first_name); drop table leads; --",city\n+14155550142,Ana,X\n',
    ),
    file(
      "injection",
      "HTML and script tags",
      HEADER + "+14155550142,<script>alert(1)</script>,<img src=x onerror=alert(1)>,<b>X</b>\n",
    ),
    file(
      "injection",
      "CRLF and header injection in a cell",
      HEADER + '+14155550142,"Ana\r\nSet-Cookie: x=1\r\n\r\n<h1>",L,X\n',
    ),
    file(
      "injection",
      "control characters in cells",
      HEADER + "+14155550142,A\u0007\u0008\u001b[31mred\u001b[0m,L\u007f,X\n",
    ),
    file(
      "injection",
      "JSON and template syntax in a custom column",
      'phone,note\n+14155550142,"{""__proto__"":{""admin"":true}} {{constructor}} ${7*7}"\n',
    ),
    file("injection", "a path-traversal file name", HEADER + ROW, "../../../../etc/passwd.csv"),
    file(
      "injection",
      "a file name with CRLF and a NUL",
      HEADER + ROW,
      "leads\r\nX-Evil: 1\u0000.csv",
    ),
    file("injection", "a 5,000-character file name", HEADER + ROW, `${"a".repeat(5_000)}.csv`),
    // Quoting
    file(
      "quoting",
      "an unterminated quote",
      HEADER + '+14155550142,"Ana,L,X\n+14155550143,Bo,L,X\n',
    ),
    file("quoting", "a stray quote mid-field", HEADER + '+14155550142,An"a,L,X\n'),
    file("quoting", "a quote after a quoted field", HEADER + '+14155550142,"Ana"x,L,X\n'),
    file("quoting", "a file that is one quote", '"'),
    file("quoting", "only quotes", '""""""\n""""\n'),
    file("quoting", "a quoted newline in the header", '"pho\nne",first_name\n+14155550142,Ana\n'),
    file("quoting", "ragged rows", HEADER + "+14155550142,Ana\n+14155550143,Bo,L,X,extra,more\n"),
    file("quoting", "blank lines everywhere", `\n\n${HEADER}\n\n${ROW}\n\n`),
    file("quoting", "whitespace only", "   \n\t\n  \n"),
    file("quoting", "a header only", HEADER),
    file(
      "quoting",
      "a quote-escaped delimiter storm",
      HEADER + `+14155550142,"${'","'.repeat(2_000)}",L,X\n`,
    ),
    // Sizes
    file(
      "size",
      "a cell of 10,001 characters",
      HEADER + `+14155550142,${"x".repeat(10_001)},L,X\n`,
    ),
    file("size", "a cell of 1 MB", HEADER + `+14155550142,${"x".repeat(1024 * 1024)},L,X\n`),
    file(
      "size",
      "5,000 columns",
      `${manyColumns}\n${Array.from({ length: 5_000 }, () => "+14155550142").join(",")}\n`,
    ),
    file("size", "a 100 KB header", `phone,${"h".repeat(100 * 1024)}\n+14155550142,x\n`),
    file(
      "size",
      "a 5 MB line without a newline",
      `phone,first_name\n+14155550142,${"y".repeat(5 * 1024 * 1024)}`,
    ),
    file("size", "a million empty lines", HEADER + "\n".repeat(1_000_000) + ROW),
    // Binary
    file("binary", "PNG", concat([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], noise(500, 1))),
    file("binary", "JPEG", concat([0xff, 0xd8, 0xff, 0xe0], noise(500, 2))),
    file("binary", "PDF", concat("%PDF-1.7\n", noise(500, 3))),
    file("binary", "ELF executable", concat([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], noise(500, 4))),
    file("binary", "random bytes", noise(64 * 1024, 5)),
    file("binary", "SQLite database", concat("SQLite format 3\u0000", noise(500, 6))),
    file("binary", "gzip bomb renamed (20 MB of zeros)", await gzip(zeros), "leads.csv"),
    file("binary", "gzip of a real CSV renamed", await gzip(bombCsv), "leads.csv.csv"),
    file("binary", "ZIP holding a CSV, renamed", zipOf("leads.csv", utf8(HEADER + ROW))),
    file("binary", "ZIP bomb: a ZIP of a gzip of zeros", zipOf("a.csv", await gzip(zeros))),
    file("binary", "XLSX (a ZIP of XML)", zipOf("[Content_Types].xml", utf8("<Types/>"))),
    // Structure
    file(
      "structure",
      "duplicate header names",
      "phone,phone,first_name\n+14155550142,+14155550143,Ana\n",
    ),
    file("structure", "empty header names", ",,\n+14155550142,Ana,X\n"),
    file("structure", "no column looks like a phone", "name,city\nAna,Oakland\nBo,Reno\n"),
    file("structure", "a BOM and nothing else", new Uint8Array([0xef, 0xbb, 0xbf])),
    file("structure", "an empty file", new Uint8Array(0)),
    file(
      "structure",
      "carriage returns only",
      HEADER.replace("\n", "\r") + ROW.replace("\n", "\r"),
    ),
    file(
      "structure",
      "mixed line endings",
      "phone,first_name\r\n+14155550142,Ana\r+14155550143,Bo\n+14155550144,Cy\r\n",
    ),
    file("structure", "every phone invalid", HEADER + "12,Ana,L,X\nabc,Bo,L,X\n+1415555,Cy,L,X\n"),
  ];
}
