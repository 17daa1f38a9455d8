/**
 * A lead list as real ones arrive from spreadsheets, CRMs and list vendors: deterministic
 * (a seeded PRNG), messy but mostly valid, about 100 bytes a row (100,000 rows ≈ 10 MB,
 * under the 10 MiB upload limit), with the counts an import of it must answer.
 *
 * - Phones in mixed formats — (415) 555-0123, 415.555.0123, +1 415 555 0123, 1-415-555-0123,
 *   4155550123, 415-555-0123, +14155550123 — all valid NANP numbers (real area codes,
 *   exchanges 200–999 but never N11), unique per row: row `rowOffset + i` gets number
 *   `(rowOffset + i) · P mod N`, a bijection, so numbers are scattered (as in a real list, not
 *   in index order) and several uploads with disjoint row ranges never share a number.
 * - `invalidRate` (2%) of the rows have a phone that is not one: too short, with letters,
 *   an area code led by 0 or 1, or no phone at all. Every other field of every row is valid.
 * - `duplicateRate` (3%) repeat the number of an earlier valid row of the same file in
 *   another format (the import keeps the first and reports the rest as duplicates).
 * - States as USPS codes, full names or lower case; ZIPs as 5 digits, ZIP+4 (with or without
 *   the hyphen) or 4 digits where a spreadsheet dropped the leading 0 (New England, New Jersey);
 *   tags like `hot; buyer`; opt-in dates as 3/1/2024 or ISO 8601; quoted fields with commas
 *   ("Smith, Jr.", "12 Oak St, Apt 4") and quotes; the occasional line break inside Notes.
 *
 * Used by bench/lead-import.ts and usable by tests: `expected` is what execute must answer
 * for the file imported on its own into an organization without leads (`inserted` new leads,
 * `duplicates`, `invalid`), and `invalidRows` / `duplicateRows` say which records those are
 * (1-based data record numbers, header not counted; a record may span lines).
 */
import { createRandom } from "../local/twilio-sandbox/random.ts";

export interface LeadCsvOptions {
  /** First global row number (default 0): uploads with disjoint ranges share no number. */
  rowOffset?: number;
  /** Share of rows whose phone is invalid (default 0.02). */
  invalidRate?: number;
  /** Share of rows that repeat an earlier row's number in another format (default 0.03). */
  duplicateRate?: number;
  /** Line ending between records (default "\n"; Excel writes "\r\n"). */
  lineEnding?: "\n" | "\r\n";
}

export interface LeadCsvExpectation {
  /** Data records in the file. */
  rows: number;
  /** Valid rows with a number not seen earlier in the file: the leads an import inserts. */
  inserted: number;
  /** Rows with an invalid (or no) phone number. */
  invalid: number;
  /** Valid rows repeating an earlier row's number. */
  duplicates: number;
}

export interface LeadCsv {
  csv: string;
  header: string[];
  expected: LeadCsvExpectation;
  /** 1-based data record numbers of the invalid rows. */
  invalidRows: number[];
  /** 1-based data record numbers of the duplicate rows. */
  duplicateRows: number[];
}

export const LEAD_CSV_HEADER = [
  "First Name",
  "Last Name",
  "Mobile Phone",
  "Email",
  "Street Address",
  "City",
  "State",
  "Zip Code",
  "Tags",
  "Opt-in Date",
  "Opt-in Source",
  "Notes",
];

// Real area codes, each with a city, state and ZIP of the same place.
const METROS: { area: string; city: string; state: string; zip: string }[] = [
  ["212", "New York", "NY", "10001"],
  ["718", "Brooklyn", "NY", "11201"],
  ["516", "Hempstead", "NY", "11550"],
  ["415", "San Francisco", "CA", "94105"],
  ["213", "Los Angeles", "CA", "90012"],
  ["619", "San Diego", "CA", "92101"],
  ["916", "Sacramento", "CA", "95814"],
  ["312", "Chicago", "IL", "60601"],
  ["713", "Houston", "TX", "77002"],
  ["214", "Dallas", "TX", "75201"],
  ["512", "Austin", "TX", "78701"],
  ["210", "San Antonio", "TX", "78205"],
  ["602", "Phoenix", "AZ", "85004"],
  ["303", "Denver", "CO", "80202"],
  ["801", "Salt Lake City", "UT", "84101"],
  ["206", "Seattle", "WA", "98101"],
  ["503", "Portland", "OR", "97204"],
  ["702", "Las Vegas", "NV", "89101"],
  ["305", "Miami", "FL", "33130"],
  ["407", "Orlando", "FL", "32801"],
  ["813", "Tampa", "FL", "33602"],
  ["404", "Atlanta", "GA", "30303"],
  ["704", "Charlotte", "NC", "28202"],
  ["615", "Nashville", "TN", "37203"],
  ["617", "Boston", "MA", "02108"],
  ["508", "Worcester", "MA", "01608"],
  ["401", "Providence", "RI", "02903"],
  ["860", "Hartford", "CT", "06103"],
  ["603", "Manchester", "NH", "03101"],
  ["207", "Portland", "ME", "04101"],
  ["802", "Burlington", "VT", "05401"],
  ["973", "Newark", "NJ", "07102"],
  ["215", "Philadelphia", "PA", "19103"],
  ["202", "Washington", "DC", "20001"],
  ["313", "Detroit", "MI", "48226"],
  ["612", "Minneapolis", "MN", "55401"],
  ["314", "St. Louis", "MO", "63101"],
  ["808", "Honolulu", "HI", "96813"],
  ["907", "Anchorage", "AK", "99501"],
  ["317", "Indianapolis", "IN", "46204"],
  ["504", "New Orleans", "LA", "70112"],
  ["614", "Columbus", "OH", "43215"],
].map(([area, city, state, zip]) => ({ area, city, state, zip }));

const STATE_NAMES: Record<string, string> = {
  NY: "New York",
  CA: "California",
  IL: "Illinois",
  TX: "Texas",
  AZ: "Arizona",
  CO: "Colorado",
  UT: "Utah",
  WA: "Washington",
  OR: "Oregon",
  NV: "Nevada",
  FL: "Florida",
  GA: "Georgia",
  NC: "North Carolina",
  TN: "Tennessee",
  MA: "Massachusetts",
  RI: "Rhode Island",
  CT: "Connecticut",
  NH: "New Hampshire",
  ME: "Maine",
  VT: "Vermont",
  NJ: "New Jersey",
  PA: "Pennsylvania",
  DC: "District of Columbia",
  MI: "Michigan",
  MN: "Minnesota",
  MO: "Missouri",
  HI: "Hawaii",
  AK: "Alaska",
  IN: "Indiana",
  LA: "Louisiana",
  OH: "Ohio",
};

const FIRST = (
  "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara " +
  "Richard Susan Joseph Jessica Thomas Sarah Carlos Karen Daniel Nancy Matthew Lisa Anthony " +
  "Betty Mark Sandra Luis Ashley Wei Aisha Mohammed Priya Jose Maria Kevin Emily Brian Olivia"
).split(" ");
const LAST = (
  "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez " +
  "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris " +
  "Clark Lewis Nguyen Kim Patel Chen O'Brien Walker Young Allen King Wright Scott Green Baker"
).split(" ");
const SUFFIXES = ["Jr.", "Sr.", "III"];
const STREETS = (
  "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Sunset Highland River Church " +
  "Spring Willow Lincoln Jackson Franklin Chestnut"
).split(" ");
const STREET_KINDS = ["St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way"];
const DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "hotmail.com"];
const TAGS = ["hot", "warm", "cold", "buyer", "seller", "investor", "renter", "vip"];
const SOURCES = ["Open House", "Website", "Zillow", "Facebook Ad", "Referral", "Web form"];
const NOTES = [
  "Call after 5",
  "Prefers text",
  "Looking for 3br, 2ba",
  'Said "maybe next spring"',
  "Pre-approved",
  "Has a dog, needs yard",
  "Met at open house\nfollow up in March",
];

// Exchanges 200–999 without the N11 service codes: 792 of them.
const EXCHANGES: string[] = [];
for (let e = 200; e <= 999; e++) {
  if (e % 100 !== 11) EXCHANGES.push(String(e));
}
const N = BigInt(METROS.length * EXCHANGES.length * 10_000);
// A prime larger than N, so i ↦ i·P mod N is a bijection on [0, N).
const P = 2_654_435_761n;

/** The ten digits of global row `g`'s number: unique per g below N. */
function numberOf(g: number): { metro: number; digits: string } {
  const x = (BigInt(g) * P) % N;
  const sub = Number(x % 10_000n);
  const t = Number(x / 10_000n);
  const metro = Math.floor(t / EXCHANGES.length);
  const exchange = EXCHANGES[t % EXCHANGES.length];
  return {
    metro,
    digits: METROS[metro].area + exchange + String(sub).padStart(4, "0"),
  };
}

/** Ways people write a ten-digit NANP number. */
const PHONE_FORMATS: ((d: string) => string)[] = [
  (d) => `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`,
  (d) => `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)}`,
  (d) => `+1 ${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}`,
  (d) => `1-${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`,
  (d) => d,
  (d) => `${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`,
  (d) => `+1${d}`,
];

/** A phone cell that is not a textable number, and why. */
const INVALID_PHONES: ((d: string) => string)[] = [
  // Too short: a digit lost.
  (d) => `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6, 9)}`,
  (d) => `${d.slice(0, 3)}${d.slice(3, 6)}${d.slice(6, 9)}`,
  // Letters: vanity numbers and extensions.
  (d) => `${d.slice(0, 3)}-${d.slice(3, 6)}-CALL`,
  (d) => `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)} ext 12`,
  // Area code led by 0 or 1 (ten digits, so no country code to strip).
  (d) => `(0${d.slice(1, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`,
  (d) => `1${d.slice(1, 3)}${d.slice(3)}`,
  // Nothing at all.
  () => "",
];

/** A CSV field, quoted when it must be (or, as some exporters do, when `force`). */
function field(value: string, force = false): string {
  if (force || /[",\r\n]/.test(value)) return `"${value.replaceAll('"', '""')}"`;
  return value;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

export function generateLeadCsv(rows: number, seed: number, opts: LeadCsvOptions = {}): LeadCsv {
  const rowOffset = opts.rowOffset ?? 0;
  const invalidRate = opts.invalidRate ?? 0.02;
  const duplicateRate = opts.duplicateRate ?? 0.03;
  const eol = opts.lineEnding ?? "\n";
  if (!Number.isInteger(rows) || rows < 0) throw new Error("rows must be an integer ≥ 0");
  if (!Number.isInteger(rowOffset) || rowOffset < 0 || BigInt(rowOffset + rows) > N) {
    throw new Error(`rowOffset + rows must stay within [0, ${N}]`);
  }
  // mulberry32 (the sandbox's generator): the same file for the same seed, on every machine.
  const random = createRandom(seed).next;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const chance = (p: number) => random() < p;

  const lines: string[] = [LEAD_CSV_HEADER.join(",")];
  // Numbers kept so far (digits and the format they were written in), for duplicates.
  const kept: { digits: string; format: number }[] = [];
  const invalidRows: number[] = [];
  const duplicateRows: number[] = [];

  for (let i = 0; i < rows; i++) {
    const own = numberOf(rowOffset + i);
    const roll = random();
    let phone: string;
    let metro = own.metro;
    if (roll < invalidRate) {
      phone = pick(INVALID_PHONES)(own.digits);
      invalidRows.push(i + 1);
    } else if (roll < invalidRate + duplicateRate && kept.length > 0) {
      const earlier = pick(kept);
      let format = Math.floor(random() * (PHONE_FORMATS.length - 1));
      if (format >= earlier.format) format++; // any format but the original's
      phone = PHONE_FORMATS[format](earlier.digits);
      metro = METROS.findIndex((m) => m.area === earlier.digits.slice(0, 3));
      duplicateRows.push(i + 1);
    } else {
      const format = Math.floor(random() * PHONE_FORMATS.length);
      phone = PHONE_FORMATS[format](own.digits);
      kept.push({ digits: own.digits, format });
    }
    // Most people live where their number is from; some have moved.
    const place = chance(0.85) ? METROS[metro] : pick(METROS);

    let first = pick(FIRST);
    let last = pick(LAST);
    const emailUser = `${first}.${last.replace("'", "")}`.toLowerCase();
    if (chance(0.03)) last = `${last}, ${pick(SUFFIXES)}`;
    if (chance(0.02)) first = first.toUpperCase();
    if (chance(0.02)) first = ` ${first}`;

    const email = chance(0.5)
      ? `${emailUser}${chance(0.4) ? Math.floor(random() * 100) : ""}@${pick(DOMAINS)}`
      : "";

    let address = "";
    if (chance(0.65)) {
      address = `${1 + Math.floor(random() * 9899)} ${pick(STREETS)} ${pick(STREET_KINDS)}`;
      if (chance(0.08)) address += `, Apt ${1 + Math.floor(random() * 30)}`;
    }
    const city = chance(0.9) ? place.city : "";

    const s = random();
    const state = s < 0.6
      ? place.state
      : s < 0.88
      ? STATE_NAMES[place.state]
      : s < 0.95
      ? place.state.toLowerCase()
      : "";

    const z = random();
    let zip = place.zip;
    if (z < 0.05) zip = "";
    else if (z < 0.15) {
      zip = `${place.zip}-${String(Math.floor(random() * 10_000)).padStart(4, "0")}`;
    } else if (z < 0.18) {
      zip = `${place.zip}${String(Math.floor(random() * 10_000)).padStart(4, "0")}`;
    } else if (place.zip.startsWith("0") && z < 0.6) zip = place.zip.slice(1); // Excel ate the 0

    let tags = "";
    if (chance(0.45)) {
      const n = 1 + Math.floor(random() * 2);
      const chosen = Array.from({ length: n }, () => pick(TAGS));
      tags = chosen.join(pick(["; ", ";", ", ", "|"]));
    }

    let date = "";
    if (chance(0.85)) {
      const y = 2021 + Math.floor(random() * 4);
      const m = 1 + Math.floor(random() * 12);
      const d = 1 + Math.floor(random() * 28);
      const f = random();
      date = f < 0.55
        ? `${m}/${d}/${y}`
        : f < 0.9
        ? `${y}-${pad2(m)}-${pad2(d)}`
        : `${y}-${pad2(m)}-${pad2(d)}T${pad2(Math.floor(random() * 24))}:${
          pad2(Math.floor(random() * 60))
        }:00Z`;
    }
    const source = chance(0.75) ? pick(SOURCES) : "";
    const notes = chance(0.1) ? pick(NOTES) : "";

    // Some exporters quote every text field; most quote only when they must.
    const quoteAll = chance(0.04);
    lines.push([
      field(first, quoteAll),
      field(last, quoteAll),
      field(phone, quoteAll),
      field(email),
      field(address, quoteAll),
      field(city, quoteAll),
      field(state),
      field(zip),
      field(tags),
      field(date),
      field(source),
      field(notes),
    ].join(","));
  }

  return {
    csv: lines.join(eol) + eol,
    header: [...LEAD_CSV_HEADER],
    expected: {
      rows,
      inserted: rows - invalidRows.length - duplicateRows.length,
      invalid: invalidRows.length,
      duplicates: duplicateRows.length,
    },
    invalidRows,
    duplicateRows,
  };
}
