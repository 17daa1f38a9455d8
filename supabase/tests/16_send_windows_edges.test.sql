-- =============================================================================
-- Sending windows at their edges, found by tests/send-window-properties.test.ts: no zone
-- is closed (never vacuously open), and next_send_window runs without JIT. (2026-11-26 is
-- a Thursday.)
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(7);

-- 2026-11-26 18:00Z: 13:00 in New York, 8:00 in Honolulu; 2026-11-29 08:00Z: 3:00 on a
-- Sunday in New York.
select is(private.send_window_open('{America/New_York}', 'GA', '00:00', '23:59:59',
  '{1,2,3,4,5,6,7}', '2026-11-26 18:00Z'), true, 'one zone, inside its hours: open (unchanged)');
select is(private.send_window_open('{}', 'GA', '00:00', '23:59:59',
  '{1,2,3,4,5,6,7}', '2026-11-26 18:00Z'), false, 'no zone: closed, even in daytime');
select is(private.send_window_open('{}', null, '00:00', '23:59:59',
  '{1,2,3,4,5,6,7}', '2026-11-29 08:00Z'), false, 'no zone: closed, not open at 3:00 on a Sunday');
select is(private.send_window_open(null, 'GA', '00:00', '23:59:59',
  '{1,2,3,4,5,6,7}', '2026-11-26 18:00Z'), false, 'a null zone array: closed, not an error');

select is(private.next_send_window('{}', 'GA', '00:00', '23:59:59',
  '{1,2,3,4,5,6,7}', '2026-11-26 18:00Z'), null::timestamptz, 'no zone: no next window');
select is(private.next_send_window('{America/New_York}', 'GA', '00:00', '23:59:59',
  '{1,2,3,4,5,6,7}', '2026-11-29 08:00Z'), '2026-11-29 13:00Z'::timestamptz,
  'one zone: the next window is 8:00 local (unchanged)');

select ok((select 'jit=off' = any (p.proconfig) from pg_proc p
  where p.oid = 'private.next_send_window(text[], text, time, time, smallint[], timestamptz)'
    ::regprocedure), 'next_send_window runs without JIT');

select * from finish();
rollback;
