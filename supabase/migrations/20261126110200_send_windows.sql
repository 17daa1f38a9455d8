-- =============================================================================
-- When a recipient may be texted, in the recipient's local time: the federal quiet hours
-- (47 CFR 64.1200(c)(1): no telephone solicitation before 8:00 or after 21:00), stricter
-- state rules from a data table, and the campaign's own days and hours, all intersected.
--
-- - The local time is computed from IANA zones (DST and Arizona follow the zone rules,
--   never a fixed offset). When a lead's ZIP and area code give different zones, or the
--   area code spans several, the window must be open in every one of them; a lead with no
--   known zone must be inside the window across the United States (Puerto Rico/Virgin
--   Islands time in the east to Hawaii time in the west).
-- - A lead's state rules apply by its address state; a lead with no state gets the
--   strictest rule of every state in the table for that day (no state means no proof that
--   a stricter state's law does not apply).
-- - The sender calls send_window_open when it claims a target; next_send_window tells the
--   forecast (and the backoff) when a closed window opens.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- State rules (data)
-- -----------------------------------------------------------------------------

create table private.state_send_hours (
  state text not null references private.us_states (code),
  iso_dow smallint not null constraint state_send_hours_dow check (iso_dow between 1 and 7),
  local_start time not null,
  local_end time not null,
  primary key (state, iso_dow),
  constraint state_send_hours_order check (local_start < local_end)
);
comment on table private.state_send_hours is
  'Stricter state hours for marketing texts, per ISO day of week (1 = Monday). A state with
   rows here and none for a day forbids that day; a state without rows follows the federal
   8:00–21:00. Holidays are not modelled.';

create table private.state_send_rules (
  state text primary key references private.us_states (code),
  max_messages_24h smallint constraint state_send_rules_max_positive
    check (max_messages_24h > 0),
  law text not null constraint state_send_rules_law_length check (char_length(law) <= 300)
);
comment on table private.state_send_rules is
  'Where each state''s rules come from, and its cap of marketing messages per recipient in a
   rolling 24 hours (null: no state cap). A starting set to be kept under legal review.';

insert into private.state_send_rules (state, max_messages_24h, law) values
  ('FL', 3, 'Florida Telephone Solicitation Act, Fla. Stat. § 501.616 (8:00–20:00; 3 per 24 h)'),
  ('OK', 3, 'Oklahoma Telephone Solicitation Act, 15 O.S. § 775C.4 (8:00–20:00; 3 per 24 h)'),
  ('MD', 3, 'Maryland Stop the Spam Calls Act, Md. Code Com. Law § 14-4503 (8:00–20:00; 3 per 24 h)'),
  ('WA', null, 'Wash. Rev. Code § 80.36.390 (8:00–20:00)'),
  ('TX', null, 'Tex. Bus. & Com. Code § 301.051 (Mon–Sat 9:00–21:00, Sun 12:00–21:00)'),
  ('AL', null, 'Alabama telephone solicitation rules (8:00–20:00, no Sundays)'),
  ('LA', null, 'La. R.S. 45:844.14 (8:00–20:00, no Sundays)'),
  ('MS', null, 'Miss. Code § 77-3-725 (8:00–20:00, no Sundays)'),
  ('RI', null, 'R.I. Gen. Laws § 5-61-3.4 (Mon–Fri 9:00–18:00, Sat 10:00–17:00, no Sundays)'),
  ('CT', null, 'Conn. Gen. Stat. § 42-288a (9:00–20:00)');

insert into private.state_send_hours (state, iso_dow, local_start, local_end)
select s.state, d.dow, s.local_start, s.local_end
from (values
  ('FL', '08:00'::time, '20:00'::time, 7),
  ('OK', '08:00', '20:00', 7),
  ('MD', '08:00', '20:00', 7),
  ('WA', '08:00', '20:00', 7),
  ('TX', '09:00', '21:00', 6),
  ('AL', '08:00', '20:00', 6),
  ('LA', '08:00', '20:00', 6),
  ('MS', '08:00', '20:00', 6),
  ('RI', '09:00', '18:00', 5),
  ('CT', '09:00', '20:00', 7)
) as s (state, local_start, local_end, days)
cross join lateral generate_series(1, s.days) as d (dow);
insert into private.state_send_hours (state, iso_dow, local_start, local_end) values
  ('TX', 7, '12:00', '21:00'),
  ('RI', 6, '10:00', '17:00');

revoke all on private.state_send_hours, private.state_send_rules
  from anon, authenticated, service_role;
grant select on private.state_send_hours, private.state_send_rules
  to authenticated, service_role, sms_system;

-- -----------------------------------------------------------------------------
-- The window of one day
-- -----------------------------------------------------------------------------

-- The legal hours of a day (ISO day of week) for a state: the federal 8:00–21:00 within
-- the state's own hours; no state: the strictest of every state for that day. Null when
-- the day allows no sending.
create function private.legal_send_hours(state text, iso_dow integer)
returns table (local_start time, local_end time)
language sql
stable
parallel safe
set search_path = ''
as $$
  with rules as (
    select r.state,
      (select h.local_start from private.state_send_hours h
       where h.state = r.state and h.iso_dow = legal_send_hours.iso_dow) as local_start,
      (select h.local_end from private.state_send_hours h
       where h.state = r.state and h.iso_dow = legal_send_hours.iso_dow) as local_end
    from (select distinct h.state from private.state_send_hours h) r
    where legal_send_hours.state is null or r.state = legal_send_hours.state
  ),
  day as (
    select
      greatest('08:00'::time, max(r.local_start)) as local_start,
      least('21:00'::time, min(r.local_end)) as local_end,
      bool_or(r.local_start is null) as forbidden
    from rules r
  )
  select d.local_start, d.local_end
  from day d
  where not coalesce(d.forbidden, false) and d.local_start < d.local_end;
$$;
comment on function private.legal_send_hours(text, integer) is
  'Federal and state hours of one day for a state (no state: the strictest state); no row
   when sending is not allowed that day.';

-- -----------------------------------------------------------------------------
-- Open now?
-- -----------------------------------------------------------------------------

-- The zones a lead's window must be open in: its ZIP's and its area code's (every zone an
-- area code spans when it spans several); none known: the east and west ends of the US.
create function private.lead_time_zones(zip_time_zone text, phone text)
returns text[]
language sql
stable
parallel safe
set search_path = ''
as $$
  select coalesce(
    nullif(array(
      select distinct z from unnest(
        array[zip_time_zone] || coalesce(private.time_zones_for_phone(phone), '{}')) z
      where z is not null
      order by 1
    ), '{}'),
    '{America/Puerto_Rico,Pacific/Honolulu}');
$$;
comment on function private.lead_time_zones(text, text) is
  'IANA zones a lead''s sending window must be open in: ZIP and area code zones, or the
   east and west ends of the US when none is known.';

-- Whether a message may go out at `at`: in every zone, the local day is a campaign day
-- and the local time is inside the campaign's window and the day's legal hours.
create function private.send_window_open(
  zones text[],
  state text,
  window_start time,
  window_end time,
  days smallint[],
  at timestamptz
) returns boolean
language plpgsql
stable
parallel safe
set search_path = ''
as $$
declare
  zone text;
  local timestamp;
  dow integer;
  legal_start time;
  legal_end time;
begin
  -- No zone proves nothing about the recipient's local time (lead_time_zones never
  -- answers none): closed, never vacuously open.
  if coalesce(cardinality(zones), 0) = 0 then
    return false;
  end if;
  foreach zone in array zones loop
    local := at at time zone zone;
    dow := extract(isodow from local)::integer;
    if not (dow = any (days)) then
      return false;
    end if;
    select h.local_start, h.local_end into legal_start, legal_end
    from private.legal_send_hours(state, dow) h;
    if not found
      or local::time < greatest(legal_start, window_start)
      or local::time >= least(legal_end, window_end) then
      return false;
    end if;
  end loop;
  return true;
end;
$$;
comment on function private.send_window_open(text[], text, time, time, smallint[], timestamptz) is
  'True when `at` is inside the campaign window and the legal hours in every one of the
   zones (see lead_time_zones), false when no zone is given: the rule the sender checks
   when it claims a target.';

-- When the window next opens at or after `at` (`at` itself when open), within 8 days;
-- null when it never does (a campaign whose days and hours never meet the law's).
-- The intersection of the zones' windows opens when one zone's window opens, so the
-- candidates are each zone's local opening times and `at` itself.
create function private.next_send_window(
  zones text[],
  state text,
  window_start time,
  window_end time,
  days smallint[],
  at timestamptz
) returns timestamptz
language sql
stable
parallel safe
set search_path = ''
-- Planned at every call; the planner's row guess for legal_send_hours put it over
-- jit_above_cost, and LLVM compilation made a call take ~90 ms instead of ~13 ms.
set jit = off
as $$
  select min(c.candidate)
  from (
    select at as candidate
    union all
    select ((local_day + greatest(h.local_start, window_start)) at time zone z.zone)
    from unnest(zones) as z (zone)
    cross join lateral generate_series(
      date_trunc('day', at at time zone z.zone), date_trunc('day', at at time zone z.zone)
        + interval '8 days', interval '1 day') as local_day
    cross join lateral private.legal_send_hours(state, extract(isodow from local_day)::integer) h
  ) c
  where c.candidate >= at
    and private.send_window_open(zones, state, window_start, window_end, days, c.candidate);
$$;
comment on function private.next_send_window(text[], text, time, time, smallint[], timestamptz) is
  'The first instant at or after `at` when send_window_open is true (within 8 days), or null.';

revoke all on function private.legal_send_hours(text, integer) from public;
revoke all on function private.lead_time_zones(text, text) from public;
revoke all on function private.send_window_open(text[], text, time, time, smallint[], timestamptz)
  from public;
revoke all on function private.next_send_window(text[], text, time, time, smallint[], timestamptz)
  from public;
grant execute on function private.legal_send_hours(text, integer)
  to authenticated, service_role, sms_system;
grant execute on function private.lead_time_zones(text, text)
  to authenticated, service_role, sms_system;
grant execute on function private.send_window_open(text[], text, time, time, smallint[], timestamptz)
  to authenticated, service_role, sms_system;
grant execute on function private.next_send_window(text[], text, time, time, smallint[], timestamptz)
  to authenticated, service_role, sms_system;
