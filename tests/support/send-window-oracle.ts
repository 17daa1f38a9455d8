/**
 * An independent oracle of the sending windows (supabase/migrations/*_send_windows.sql),
 * shared by the property tests: the state hours, the ZIP and area-code zones come from the
 * database tables (read once, so the data is shared) but the rule does not (local
 * wall-clock time from the IANA zone through date-fns-tz, never a fixed offset; federal
 * 8:00–21:00; each state's own hours, or every state's when the lead has none; the
 * campaign's hours and days; every zone open).
 */
import assert from "node:assert/strict";
import { formatInTimeZone } from "date-fns-tz";
import type postgres from "postgres";

export const HOUR = 3_600;
export const FEDERAL: Hours = { start: 8 * HOUR, end: 21 * HOUR };
/** What lead_time_zones answers when no zone is known: the east and west ends of the US. */
export const UNKNOWN_ZONES = ["America/Puerto_Rico", "Pacific/Honolulu"];

// -------------------------------------------------------------------------------------------
// The data, read once
// -------------------------------------------------------------------------------------------

/** Seconds since local midnight, [start, end). */
export type Hours = { start: number; end: number };

export interface Data {
  /** state → ISO day of week → its hours (a state listed here forbids the days it lacks). */
  stateHours: Map<string, Map<number, Hours>>;
  statesWithoutRules: string[];
  zipZones: string[];
  areaCodes: Map<string, string[]>;
  /** Every zone either table names. */
  zones: string[];
}

export async function loadData(sql: postgres.Sql): Promise<Data> {
  const hours = await sql<{ state: string; iso_dow: number; start: number; end: number }[]>`
    select state, iso_dow, extract(epoch from local_start)::float8 as start,
      extract(epoch from local_end)::float8 as "end"
    from private.state_send_hours`;
  const stateHours = new Map<string, Map<number, Hours>>();
  for (const h of hours) {
    const days = stateHours.get(h.state) ?? new Map<number, Hours>();
    days.set(h.iso_dow, { start: h.start, end: h.end });
    stateHours.set(h.state, days);
  }
  const states = await sql<{ code: string }[]>`select code from private.us_states`;
  const zips = await sql<{ time_zone: string }[]>`
    select distinct time_zone from private.zip_time_zones`;
  const codes = await sql<{ area_code: string; time_zones: string[] }[]>`
    select area_code, time_zones from private.area_code_time_zones`;
  const areaCodes = new Map(codes.map((c) => [c.area_code, c.time_zones]));
  const zipZones = zips.map((z) => z.time_zone).sort();
  const zones = [...new Set([...zipZones, ...[...areaCodes.values()].flat()])].sort();
  return {
    stateHours,
    statesWithoutRules: states.map((s) => s.code).filter((s) => !stateHours.has(s)),
    zipZones,
    areaCodes,
    zones,
  };
}

/**
 * The zones a lead's window must be open in: its ZIP's zone and every zone of its NANP area
 * code; none known: UNKNOWN_ZONES. Sorted.
 */
export function leadZones(data: Data, zipZone: string | null, phone: string | null): string[] {
  const areaCode = /^\+1([0-9]{3})[0-9]{7}$/.exec(phone ?? "")?.[1];
  const zones = new Set([
    ...(zipZone === null ? [] : [zipZone]),
    ...(areaCode === undefined ? [] : data.areaCodes.get(areaCode) ?? []),
  ]);
  return zones.size === 0 ? [...UNKNOWN_ZONES] : [...zones].sort();
}

// -------------------------------------------------------------------------------------------
// The oracle
// -------------------------------------------------------------------------------------------

export interface LocalTime {
  isoDow: number;
  /** Seconds since local midnight, with milliseconds. */
  seconds: number;
}

/**
 * The wall clock in `zone` at `at` (epoch ms), from the zone's rules via date-fns-tz. (It
 * builds the wall time as a Date of the process's zone: under a process zone with DST, a
 * 2:xx wall time on that zone's spring change reads an hour later, closed all the same.)
 */
export function localTime(at: number, zone: string): LocalTime {
  const [isoDow, h, m, s, ms] = formatInTimeZone(at, zone, "i:HH:mm:ss:SSS").split(":").map(
    Number,
  );
  return { isoDow, seconds: h * HOUR + m * 60 + s + ms / 1000 };
}

export const inside = (hours: Hours, seconds: number) =>
  hours.start <= seconds && seconds < hours.end;

export interface WindowRule {
  zones: string[];
  state: string | null;
  window: Hours;
  days: number[];
}

export function oracle(data: Data) {
  /** Whether a state's own law allows this local time (a state without rules: always). */
  function stateAllows(state: string, local: LocalTime): boolean {
    const days = data.stateHours.get(state);
    if (days === undefined) return true;
    const hours = days.get(local.isoDow);
    return hours !== undefined && inside(hours, local.seconds);
  }
  /** Federal hours and the state's; no state: every state with rules must allow it. */
  function legal(state: string | null, local: LocalTime): boolean {
    if (!inside(FEDERAL, local.seconds)) return false;
    if (state !== null) return stateAllows(state, local);
    for (const s of data.stateHours.keys()) if (!stateAllows(s, local)) return false;
    return true;
  }
  /**
   * May a message go out at `at`: in every zone, a campaign day, its hours, the law's.
   * No zone at all proves nothing about the recipient's local time: closed.
   */
  function open(rule: WindowRule, at: number): boolean {
    return rule.zones.length > 0 && rule.zones.every((zone) => {
      const local = localTime(at, zone);
      return rule.days.includes(local.isoDow) && inside(rule.window, local.seconds) &&
        legal(rule.state, local);
    });
  }
  return { open, legal };
}

// -------------------------------------------------------------------------------------------
// Instants worth trying
// -------------------------------------------------------------------------------------------

/** US DST changes 2025–2028 (second Sunday of March, first of November, 2:00 local), ms. */
export function usDstTransitions(): number[] {
  const standardOffsets: Record<string, number> = {
    "America/Halifax": -4,
    "America/New_York": -5,
    "America/Chicago": -6,
    "America/Denver": -7,
    "America/Los_Angeles": -8,
    "America/Anchorage": -9,
    "America/Adak": -10,
  };
  const nthSunday = (year: number, month: number, n: number) => {
    const firstDow = new Date(Date.UTC(year, month, 1)).getUTCDay();
    return 1 + ((7 - firstDow) % 7) + 7 * (n - 1);
  };
  const instants: number[] = [];
  for (let year = 2025; year <= 2028; year++) {
    for (const [zone, offset] of Object.entries(standardOffsets)) {
      // Spring: 2:00 standard time; autumn: 2:00 daylight time (1:00 standard).
      const spring = Date.UTC(year, 2, nthSunday(year, 2, 2), 2 - offset);
      const autumn = Date.UTC(year, 10, nthSunday(year, 10, 1), 2 - offset - 1);
      for (const t of [spring, autumn]) {
        const before = formatInTimeZone(t - 1, zone, "xxx");
        const after = formatInTimeZone(t, zone, "xxx");
        assert.notEqual(
          before,
          after,
          `${zone} changes its offset at ${new Date(t).toISOString()}`,
        );
        instants.push(t);
      }
    }
  }
  return instants;
}

/** Seconds since midnight as a Postgres time ('HH:MM:SS'; 86400 is '24:00:00'). */
export function secondsToTime(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(seconds / HOUR))}:${pad(Math.floor(seconds / 60) % 60)}:${
    pad(seconds % 60)
  }`;
}
