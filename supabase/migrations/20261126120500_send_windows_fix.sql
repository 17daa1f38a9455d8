-- =============================================================================
-- Sending windows, two fixes (found by tests/send-window-properties.test.ts; the shipped
-- 20261126110200_send_windows.sql is not edited):
--
-- - send_window_open answered true for an empty zone array: "open in every zone" held
--   vacuously, so a caller that passed '{}' (instead of lead_time_zones' answer) could text
--   at 3:00 on a Sunday. A null array raised an error instead, failing a whole claim. Both
--   now answer false (closed), and next_send_window, which only asks send_window_open, null.
-- - next_send_window took about 90 ms a call: as a SQL function with a SET clause it is
--   planned at every call, the planner's guess for legal_send_hours (111 rows) put the
--   plan over jit_above_cost, and every call paid for LLVM compilation. Without JIT a call
--   takes about 13 ms, the same answer.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Open now? (no zone: closed)
-- -----------------------------------------------------------------------------

create or replace function private.send_window_open(
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

-- -----------------------------------------------------------------------------
-- When next (no JIT: it compiled at every call)
-- -----------------------------------------------------------------------------

alter function private.next_send_window(text[], text, time, time, smallint[], timestamptz)
  set jit = off;
