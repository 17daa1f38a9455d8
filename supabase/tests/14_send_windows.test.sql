-- =============================================================================
-- Sending windows in the recipient's local time: federal 8:00–21:00, state rules,
-- campaign hours and days, several zones, unknown zones, DST and Arizona, and when a
-- closed window opens next. (2026-11-26 is a Thursday; 2026-03-08 the US spring change.)
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(36);

create function pg_temp.open_at(zones text[], state text, at timestamptz,
  window_start time default '00:00', window_end time default '23:59:59',
  days smallint[] default '{1,2,3,4,5,6,7}') returns boolean
language sql as $$
  select private.send_window_open(zones, state, window_start, window_end, days, at)
$$;

-- Federal hours, California (Pacific time).
select is(pg_temp.open_at('{America/Los_Angeles}', 'CA', '2026-11-26 16:00Z'), true,
  'CA: open at 8:00 PST');
select is(pg_temp.open_at('{America/Los_Angeles}', 'CA', '2026-11-26 15:59Z'), false,
  'CA: closed at 7:59 PST');
select is(pg_temp.open_at('{America/Los_Angeles}', 'CA', '2026-11-27 04:59Z'), true,
  'CA: open at 20:59 PST');
select is(pg_temp.open_at('{America/Los_Angeles}', 'CA', '2026-11-27 05:00Z'), false,
  'CA: closed at 21:00 PST');

-- Florida closes at 20:00.
select is(pg_temp.open_at('{America/New_York}', 'FL', '2026-11-27 00:59Z'), true,
  'FL: open at 19:59 EST');
select is(pg_temp.open_at('{America/New_York}', 'FL', '2026-11-27 01:00Z'), false,
  'FL: closed at 20:00 EST');

-- Texas: Monday–Saturday from 9:00, Sunday from 12:00.
select is(pg_temp.open_at('{America/Chicago}', 'TX', '2026-11-28 14:59Z'), false,
  'TX Saturday: closed at 8:59 CST');
select is(pg_temp.open_at('{America/Chicago}', 'TX', '2026-11-28 15:00Z'), true,
  'TX Saturday: open at 9:00 CST');
select is(pg_temp.open_at('{America/Chicago}', 'TX', '2026-11-29 17:59Z'), false,
  'TX Sunday: closed at 11:59 CST');
select is(pg_temp.open_at('{America/Chicago}', 'TX', '2026-11-29 18:00Z'), true,
  'TX Sunday: open at 12:00 CST');

-- No Sundays in Alabama; Rhode Island's Saturday hours.
select is(pg_temp.open_at('{America/Chicago}', 'AL', '2026-11-29 18:00Z'), false,
  'AL: closed all Sunday');
select is(pg_temp.open_at('{America/New_York}', 'RI', '2026-11-28 14:59Z'), false,
  'RI Saturday: closed at 9:59 EST');
select is(pg_temp.open_at('{America/New_York}', 'RI', '2026-11-28 15:00Z'), true,
  'RI Saturday: open at 10:00 EST');
select is(pg_temp.open_at('{America/New_York}', 'RI', '2026-11-28 22:00Z'), false,
  'RI Saturday: closed at 17:00 EST');

-- No state: the strictest state for the day.
select results_eq($$select * from private.legal_send_hours(null, 1)$$,
  $$values ('09:00'::time, '18:00'::time)$$, 'no state, Monday: 9:00–18:00 (the strictest)');
select results_eq($$select * from private.legal_send_hours(null, 6)$$,
  $$values ('10:00'::time, '17:00'::time)$$, 'no state, Saturday: 10:00–17:00');
select is_empty($$select * from private.legal_send_hours(null, 7)$$,
  'no state, Sunday: no sending');
select results_eq($$select * from private.legal_send_hours('CA', 7)$$,
  $$values ('08:00'::time, '21:00'::time)$$, 'a state without rules: federal hours');

-- DST: New York's 8:00 is 13:00 UTC before the change and 12:00 UTC after it.
select is(pg_temp.open_at('{America/New_York}', 'GA', '2026-03-07 12:30Z'), false,
  'before the change: 12:30 UTC is 7:30 EST, closed');
select is(pg_temp.open_at('{America/New_York}', 'GA', '2026-03-09 12:30Z'), true,
  'after the change: 12:30 UTC is 8:30 EDT, open');
select is(pg_temp.open_at('{America/New_York}', 'GA', '2026-03-08 11:59Z'), false,
  'on the day of the change: 7:59 EDT, closed');
select is(pg_temp.open_at('{America/New_York}', 'GA', '2026-03-08 12:00Z'), true,
  'on the day of the change: 8:00 EDT, open');

-- Arizona keeps standard time: 8:00 MST is 15:00 UTC in January and in July.
select is(pg_temp.open_at('{America/Phoenix}', 'AZ', '2026-07-01 15:00Z'), true,
  'Phoenix, July: 8:00 MST, open');
select is(pg_temp.open_at('{America/Phoenix}', 'AZ', '2026-07-01 14:59Z'), false,
  'Phoenix, July: 7:59 MST, closed');
select is(pg_temp.open_at('{America/Phoenix}', 'AZ', '2026-01-15 15:00Z'), true,
  'Phoenix, January: 8:00 MST, open');
select is(pg_temp.open_at('{America/Los_Angeles}', 'CA', '2026-01-15 15:00Z'), false,
  'Los Angeles, January: 7:00 PST, closed at the same instant');

-- Two zones (ZIP in Chicago, area code in New York): open only when open in both.
select is(pg_temp.open_at('{America/Chicago,America/New_York}', 'GA', '2026-11-26 13:59Z'), false,
  'two zones: 8:59 in New York but 7:59 in Chicago, closed');
select is(pg_temp.open_at('{America/Chicago,America/New_York}', 'GA', '2026-11-26 14:00Z'), true,
  'two zones: open from 8:00 in Chicago');
select is(pg_temp.open_at('{America/Chicago,America/New_York}', 'GA', '2026-11-27 02:00Z'), false,
  'two zones: closed from 21:00 in New York');

-- The zones of a lead.
select is(private.lead_time_zones('America/Chicago', '+14155550123'),
  '{America/Chicago,America/Los_Angeles}', 'ZIP and area code zones, both');
select is(private.lead_time_zones(null, null), '{America/Puerto_Rico,Pacific/Honolulu}',
  'no zone known: the east and west ends of the US');
select is(pg_temp.open_at(private.lead_time_zones(null, null), 'CA', '2026-11-26 17:59Z'), false,
  'unknown zone: 7:59 in Honolulu, closed');
select is(pg_temp.open_at(private.lead_time_zones(null, null), 'CA', '2026-11-26 18:00Z'), true,
  'unknown zone: 8:00 in Honolulu (14:00 in San Juan), open');

-- The campaign's own window and days.
select is(pg_temp.open_at('{America/New_York}', 'GA', '2026-11-26 14:59Z', '10:00', '12:00', '{1,2,3,4,5}'),
  false, 'campaign 10:00–12:00: closed at 9:59');
select is(pg_temp.open_at('{America/New_York}', 'GA', '2026-11-28 15:30Z', '10:00', '12:00', '{1,2,3,4,5}'),
  false, 'campaign on weekdays: closed on Saturday');

-- When a closed window opens next.
select results_eq(
  $$select private.next_send_window('{America/Chicago}', 'AL', '09:00', '20:00',
      '{1,2,3,4,5,6,7}', '2026-11-29 18:00Z'),
    private.next_send_window('{America/Chicago}', 'AL', '09:00', '20:00',
      '{1,2,3,4,5,6,7}', '2026-11-26 16:00Z'),
    private.next_send_window('{America/Chicago}', 'AL', '09:00', '20:00',
      '{7}', '2026-11-26 16:00Z')$$,
  $$values ('2026-11-30 15:00Z'::timestamptz, '2026-11-26 16:00Z'::timestamptz,
            null::timestamptz)$$,
  'next window: Monday 9:00 after an Alabama Sunday; now when open; never for Sundays only');

select * from finish();
rollback;
