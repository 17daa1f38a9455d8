/**
 * Property tests of the sending windows (supabase/migrations/*_send_windows.sql) against the
 * independent oracle of tests/support/send-window-oracle.ts (local wall-clock time from the
 * IANA zone through date-fns-tz; federal, state and campaign hours; every zone open), which
 * tests/sender-claim-window-properties.test.ts holds the sender's claim to as well.
 *
 * Cases go to Postgres in batches (one jsonb_to_recordset query per batch). fast-check is
 * seeded: a failure prints the seed, and SEND_WINDOW_SEED=<seed> reproduces it.
 * The example-based cases are in supabase/tests/14_send_windows.test.sql and
 * 16_send_windows_edges.test.sql (an empty zone set is closed, found here).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatInTimeZone, fromZonedTime } from "date-fns-tz";
import type postgres from "postgres";
import {
  type Data,
  FEDERAL,
  HOUR,
  type Hours,
  inside,
  leadZones,
  loadData,
  localTime,
  oracle,
  secondsToTime,
  UNKNOWN_ZONES,
  usDstTransitions,
  type WindowRule,
} from "./support/send-window-oracle.ts";
import { adminSql } from "./support/stack.ts";

const SEED = Number(Deno.env.get("SEND_WINDOW_SEED") ?? 20261126);
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const FROM = Date.UTC(2025, 0, 1);
const TO = Date.UTC(2029, 0, 1);

// -------------------------------------------------------------------------------------------
// Generators
// -------------------------------------------------------------------------------------------

function arbitraries(data: Data) {
  const transitions = usDstTransitions();
  const favourites = [
    "America/Phoenix",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
  ];
  const zone = fc.oneof(
    { arbitrary: fc.constantFrom(...favourites), weight: 2 },
    { arbitrary: fc.constantFrom(...data.zones), weight: 1 },
  );
  const zones = fc.oneof(
    { arbitrary: fc.uniqueArray(zone, { minLength: 1, maxLength: 3 }), weight: 30 },
    { arbitrary: fc.constant<string[]>([]), weight: 1 }, // never open
  );
  const state = fc.oneof(
    fc.constant(null),
    fc.constantFrom(...data.stateHours.keys()),
    fc.constantFrom(...data.statesWithoutRules),
  );
  const quarterHour = fc.integer({ min: 0, max: 96 }).map((q) => q * 900);
  const second = fc.integer({ min: 0, max: 86_399 });
  const ordered = ([a, b]: [number, number]): Hours => ({
    start: Math.min(a, b),
    end: Math.max(a, b),
  });
  const wholeDay: Hours = { start: 0, end: 86_400 };
  const window: fc.Arbitrary<Hours> = fc.oneof(
    fc.constant(wholeDay), // 00:00–24:00
    fc.constant<Hours>({ start: 0, end: 86_399 }), // 00:00–23:59:59
    fc.tuple(quarterHour, quarterHour).filter(([a, b]) => a !== b).map(ordered),
    fc.tuple(second, second).filter(([a, b]) => a !== b).map(ordered),
  );
  const days: fc.Arbitrary<number[]> = fc.oneof(
    fc.constant<number[]>([1, 2, 3, 4, 5, 6, 7]),
    fc.subarray([1, 2, 3, 4, 5, 6, 7], { minLength: 1 }),
  );
  const anyInstant = fc.integer({ min: FROM, max: TO });
  const nearDst = fc.tuple(fc.constantFrom(...transitions), fc.integer({ min: -7_200, max: 7_200 }))
    .map(([t, s]) => t + s * 1000);
  /** Just around a local boundary (legal or the campaign's) in one of the zones. */
  const nearBoundary = (rule: { zones: string[]; window: Hours }) =>
    fc.record({
      zone: fc.constantFrom(...rule.zones),
      day: fc.integer({ min: 0, max: (TO - FROM) / DAY_MS - 2 }),
      local: fc.constantFrom(
        8 * HOUR,
        9 * HOUR,
        10 * HOUR,
        12 * HOUR,
        17 * HOUR,
        18 * HOUR,
        20 * HOUR,
        21 * HOUR,
        rule.window.start,
        rule.window.end,
      ),
      delta: fc.constantFrom(-1000, -1, 0, 1, 1000),
    }).map(({ zone, day, local, delta }) => {
      const date = new Date(FROM + day * DAY_MS + Math.floor(local / 86_400) * DAY_MS);
      const wall = `${date.toISOString().slice(0, 10)}T${secondsToTime(local % 86_400)}`;
      return fromZonedTime(wall, zone).getTime() + delta;
    });
  const rule = fc.record({ zones, state, window, days });
  const windowCase = rule.chain((r) =>
    (r.zones.length === 0 ? anyInstant : fc.oneof(anyInstant, nearDst, nearBoundary(r)))
      .map((at) => ({ ...r, at }))
  );

  const knownAreaCode = fc.constantFrom(...data.areaCodes.keys());
  const unknownAreaCode = fc.integer({ min: 200, max: 999 }).map(String).filter((a) =>
    !data.areaCodes.has(a)
  );
  const subscriber = fc.integer({ min: 0, max: 9_999_999 }).map((n) => String(n).padStart(7, "0"));
  const phone = fc.oneof(
    { arbitrary: fc.tuple(knownAreaCode, subscriber).map(([a, s]) => `+1${a}${s}`), weight: 6 },
    { arbitrary: fc.tuple(unknownAreaCode, subscriber).map(([a, s]) => `+1${a}${s}`), weight: 1 },
    { arbitrary: fc.constantFrom("+447911123456", "+33612345678", "4155550123"), weight: 1 },
    { arbitrary: fc.constant(null), weight: 1 },
  );
  const zipZone = fc.oneof(
    { arbitrary: fc.constantFrom(...data.zipZones), weight: 4 },
    { arbitrary: fc.constant(null), weight: 1 },
  );
  const lead = fc.record({ zipZone, phone });
  const leadCase = fc.record({
    lead,
    state,
    window: fc.oneof(fc.constant(wholeDay), window),
    days,
    at: fc.oneof(anyInstant, nearDst),
  });
  return { windowCase, lead, leadCase };
}

type WindowCase = WindowRule & { at: number };

// -------------------------------------------------------------------------------------------
// Batches to SQL
// -------------------------------------------------------------------------------------------

function asRecord(c: WindowCase, i: number) {
  return {
    i,
    zones: c.zones,
    state: c.state,
    window_start: secondsToTime(c.window.start),
    window_end: secondsToTime(c.window.end),
    days: c.days,
    at: new Date(c.at).toISOString(),
  };
}

const CASES = `jsonb_to_recordset($1::text::jsonb) as c (i integer, zones text[], state text,
  window_start time, window_end time, days smallint[], at timestamptz)`;

async function sqlOpen(sql: postgres.Sql, cases: WindowCase[]): Promise<boolean[]> {
  const rows = await sql.unsafe<{ open: boolean }[]>(
    `select private.send_window_open(c.zones, c.state, c.window_start, c.window_end, c.days,
       c.at) as open
     from ${CASES} order by c.i`,
    [JSON.stringify(cases.map(asRecord))],
  );
  return rows.map((r) => r.open);
}

/** next_send_window of each case, as epoch ms (null: none within 8 days). */
async function sqlNext(sql: postgres.Sql, cases: WindowCase[]): Promise<(number | null)[]> {
  const rows = await sql.unsafe<{ next: number | null }[]>(
    `select (extract(epoch from private.next_send_window(c.zones, c.state, c.window_start,
       c.window_end, c.days, c.at)) * 1000)::float8 as next
     from ${CASES} order by c.i`,
    [JSON.stringify(cases.map(asRecord))],
  );
  return rows.map((r) => r.next);
}

function describe(c: WindowCase, at = c.at): string {
  const locals = c.zones.map((zone) => `${zone} ${formatInTimeZone(at, zone, "EEE HH:mm:ss.SSS")}`);
  return `${JSON.stringify({ ...asRecord(c, 0), i: undefined })} | local at ${
    new Date(at).toISOString()
  }: ${locals.join(", ")}`;
}

/** fc.assert, naming the seed that reproduces a failure. */
async function check<T>(name: string, property: fc.IAsyncProperty<T>, numRuns: number) {
  try {
    await fc.assert(property, { seed: SEED, numRuns, includeErrorInReport: true });
  } catch (error) {
    throw new Error(
      `${name} failed (seed ${SEED}; rerun with SEND_WINDOW_SEED=${SEED}):\n${
        (error as Error).message
      }`,
    );
  }
}

// -------------------------------------------------------------------------------------------
// The properties
// -------------------------------------------------------------------------------------------

Deno.test("sending windows: properties against an independent oracle", async (t) => {
  const sql = adminSql();
  try {
    const data = await loadData(sql);
    assert.ok(data.stateHours.size > 0 && data.zones.length > 0, "time zone and state data");
    const { open, legal } = oracle(data);
    const arb = arbitraries(data);
    const batch = (n: number) =>
      fc.array(arb.windowCase, { minLength: 1, maxLength: n, size: "max" });

    await t.step("send_window_open agrees with the oracle", async () => {
      const seen = { cases: 0, open: 0 };
      await check(
        "send_window_open = oracle",
        fc.asyncProperty(batch(200), async (cases) => {
          const got = await sqlOpen(sql, cases);
          cases.forEach((c, i) => {
            const expected = open(c, c.at);
            if (got[i] !== expected) {
              throw new Error(`SQL says ${got[i]}, the oracle ${expected}: ${describe(c)}`);
            }
            seen.cases++;
            if (expected) seen.open++;
          });
        }),
        40,
      );
      console.log(`  send_window_open: ${seen.cases} cases, ${seen.open} open`);
      assert.ok(seen.open > seen.cases / 10, "enough open cases to matter");
      assert.ok(seen.open < seen.cases * 0.9, "enough closed cases to matter");
    });

    await t.step("lead_time_zones: the ZIP's and the area code's zones, never none", async () => {
      const known = new Set([...data.zones, ...UNKNOWN_ZONES]);
      let seen = 0;
      await check(
        "lead_time_zones",
        fc.asyncProperty(
          fc.array(arb.lead, { minLength: 1, maxLength: 200, size: "max" }),
          async (leads) => {
            const rows = await sql.unsafe<{ zones: string[] }[]>(
              `select private.lead_time_zones(c.zip_zone, c.phone) as zones
               from jsonb_to_recordset($1::text::jsonb) as c (i integer, zip_zone text, phone text)
               order by c.i`,
              [JSON.stringify(leads.map((l, i) => ({ i, zip_zone: l.zipZone, phone: l.phone })))],
            );
            leads.forEach((lead, i) => {
              const zones = rows[i].zones;
              const what = `${JSON.stringify(lead)} → ${JSON.stringify(zones)}`;
              assert.ok(zones.length > 0, `never empty: ${what}`);
              assert.equal(new Set(zones).size, zones.length, `no zone twice: ${what}`);
              for (const z of zones) assert.ok(known.has(z), `${z} is in the data: ${what}`);
              if (lead.zipZone !== null) {
                assert.ok(zones.includes(lead.zipZone), `the ZIP's zone is kept: ${what}`);
              }
              assert.deepEqual(
                [...zones].sort(),
                leadZones(data, lead.zipZone, lead.phone),
                `exactly the known zones: ${what}`,
              );
              seen++;
            });
          },
        ),
        10,
      );
      console.log(`  lead_time_zones: ${seen} leads`);
    });

    await t.step("next_send_window: the first open instant, or none in 8 days", async () => {
      const STEP = 15 * MINUTE_MS;
      const seen = { cases: 0, now: 0, later: 0, never: 0 };
      await check(
        "next_send_window",
        fc.asyncProperty(batch(100), async (cases) => {
          const got = await sqlNext(sql, cases);
          cases.forEach((c, i) => {
            const next = got[i];
            const fail = (what: string) => {
              throw new Error(
                `next_send_window = ${
                  next === null ? "null" : new Date(next).toISOString()
                }: ${what}: ${describe(c, next ?? c.at)}`,
              );
            };
            if (next === null) {
              for (let at = c.at; at <= c.at + 8 * DAY_MS; at += STEP) {
                if (open(c, at)) fail(`but open at ${describe(c, at)}`);
              }
              seen.never++;
            } else {
              if (next < c.at) fail("before `at`");
              if (!open(c, next)) fail("not open then");
              if (next !== c.at && open(c, next - 1000)) fail("already open a second earlier");
              for (let at = c.at; at < next; at += STEP) {
                if (open(c, at)) fail(`but open earlier, at ${describe(c, at)}`);
              }
              if (next === c.at) seen.now++;
              else seen.later++;
            }
            seen.cases++;
          });
        }),
        15,
      );
      console.log(
        `  next_send_window: ${seen.cases} cases (${seen.now} open at once, ${seen.later} later, ` +
          `${seen.never} never)`,
      );
      assert.ok(seen.now > 0 && seen.later > 0 && seen.never > 0, "every kind of answer seen");
    });

    await t.step("compliance: open only within 8:00–21:00 local in every zone", async () => {
      const seen = { cases: 0, open: 0 };
      await check(
        "federal hours",
        fc.asyncProperty(
          fc.array(arb.leadCase, { minLength: 1, maxLength: 250, size: "max" }),
          async (cases) => {
            const rows = await sql.unsafe<
              { zones: string[]; open: boolean; next: number | null }[]
            >(
              `select z.zones,
                 private.send_window_open(z.zones, c.state, c.window_start, c.window_end, c.days,
                   c.at) as open,
                 (extract(epoch from private.next_send_window(z.zones, c.state, c.window_start,
                   c.window_end, c.days, c.at)) * 1000)::float8 as next
               from jsonb_to_recordset($1::text::jsonb) as c (i integer, zip_zone text, phone text,
                 state text, window_start time, window_end time, days smallint[],
                 at timestamptz)
               cross join lateral (select private.lead_time_zones(c.zip_zone, c.phone) as zones) z
               order by c.i`,
              [JSON.stringify(cases.map((c, i) => ({
                i,
                zip_zone: c.lead.zipZone,
                phone: c.lead.phone,
                state: c.state,
                window_start: secondsToTime(c.window.start),
                window_end: secondsToTime(c.window.end),
                days: c.days,
                at: new Date(c.at).toISOString(),
              })))],
            );
            cases.forEach((c, i) => {
              const { zones, open: isOpen, next } = rows[i];
              const claims = [...(isOpen ? [c.at] : []), ...(next === null ? [] : [next])];
              for (const at of claims) {
                for (const zone of zones) {
                  const local = localTime(at, zone);
                  const where = `${JSON.stringify(c)} zones ${zones.join(",")}: open at ${
                    new Date(at).toISOString()
                  }, ${formatInTimeZone(at, zone, "EEE HH:mm:ss")} in ${zone}`;
                  assert.ok(inside(FEDERAL, local.seconds), `outside 8:00–21:00: ${where}`);
                  assert.ok(legal(c.state, local), `outside the state's hours: ${where}`);
                }
              }
              seen.cases++;
              if (isOpen) seen.open++;
            });
          },
        ),
        20,
      );
      console.log(`  compliance: ${seen.cases} leads, ${seen.open} open at the instant`);
    });
  } finally {
    await sql.end();
  }
});
