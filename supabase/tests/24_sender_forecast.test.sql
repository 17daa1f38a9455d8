-- =============================================================================
-- campaign_forecast and why_not_sent (20261126150300_sender_forecast.sql) judge with the
-- claim's own rules: at the same instant, the targets the forecast calls sendable are
-- exactly those the next claim takes, and every other pending target is counted under the
-- rule that holds it (send window with when it opens, frequency cap, a number's daily cap,
-- no number in the rotation, deferred by an earlier hold, suppressed, invalid). Members
-- may ask; nobody else.
--
-- 2026-11-24 16:30 UTC is a Tuesday: 08:30 in Los Angeles (before the 09:00 window), 11:30
-- in New York.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(17);
\ir _helpers.sql

\ir _sender_helpers.sql

create function tests.forecast(campaign text, at timestamptz) returns jsonb
language sql as $$ select public.campaign_forecast(tests.id(campaign), at) $$;

create function tests.why(target text, at timestamptz) returns jsonb
language sql as $$ select public.why_not_sent(tests.tid(target), at) $$;

grant usage on schema tests to sms_system;
grant execute on all functions in schema tests to authenticated, sms_system;
grant select on tests.targets, tests.ids to authenticated, sms_system;

select tests.org('fc', lead_cap => 1::smallint);
insert into public.memberships (org_id, user_id, role)
values (tests.id('fc'), tests.user_id('viewer@acme.test'), 'viewer');
select tests.number('fc:fast', 'fc', '+16465560200', mps => 10);
select tests.number('fc:full', 'fc', '+14155650200', mps => 10, cap => 1);
insert into private.sending_number_slots (phone_number_id, next_slot_at, slot_day, slot_day_count)
values (tests.id('fc:full'), '2026-11-24 16:00:00+00', '2026-11-24', 1);
select tests.campaign('fc:c', 'fc');
-- Three New York leads sendable; four Los Angeles leads before their window.
select tests.lead('ny' || i, 'fc', '+1646555030' || i, 'NY', '10001') from generate_series(1, 3) i;
select tests.target('ny' || i, 'fc:c', 'ny' || i) from generate_series(1, 3) i;
select tests.lead('la' || i, 'fc', '+1213555030' || i, 'CA', '90012') from generate_series(1, 4) i;
select tests.target('la' || i, 'fc:c', 'la' || i) from generate_series(1, 4) i;
-- Suppressed, invalid, texted within 24 hours (the organization's cap is 1), sticky to a full
-- number,
-- and deferred by an earlier hold.
insert into public.suppressions (org_id, phone, source, reason)
values (tests.id('fc'), '+16465550311', 'manual', 'asked not to be texted');
select tests.lead('suppressed', 'fc', '+16465550311', 'NY', '10001');
select tests.target('suppressed', 'fc:c', 'suppressed');
select tests.lead('invalid', 'fc', '+16465550312', 'NY', '10001', status => 'invalid');
select tests.target('invalid', 'fc:c', 'invalid');
select tests.lead('capped', 'fc', '+16465550313', 'NY', '10001');
select tests.message('capped', 'fc:fast', '2026-11-24 10:00:00+00');
select tests.target('capped', 'fc:c', 'capped');
select tests.lead('full', 'fc', '+16465550314', 'NY', '10001', sticky => 'fc:full');
select tests.target('full', 'fc:c', 'full');
select tests.lead('later', 'fc', '+16465550315', 'NY', '10001');
select tests.target('later', 'fc:c', 'later');
update public.campaign_targets set not_before = '2026-11-24 19:00:00+00',
  status_reason = 'held: the lead reached its 24-hour message cap'
where id = tests.tid('later');

select tests.authenticate_as('viewer@acme.test');
select results_eq(
  $$select (f ->> 'pending')::int, (f ->> 'sendable_now')::int,
      (f -> 'categories' -> 'send_window' ->> 'targets')::int,
      (f -> 'categories' -> 'send_window' ->> 'next_at')::timestamptz,
      (f -> 'categories' -> 'frequency_cap' ->> 'targets')::int,
      (f -> 'categories' -> 'number_daily_cap' ->> 'targets')::int,
      (f -> 'categories' -> 'deferred' ->> 'targets')::int,
      (f -> 'categories' -> 'suppressed' ->> 'targets')::int,
      (f -> 'categories' -> 'invalid' ->> 'targets')::int,
      (f ->> 'sampled')::boolean
    from tests.forecast('fc:c', '2026-11-24 16:30:00+00') f$$,
  $$values (12, 3, 4, '2026-11-24 17:00:00+00'::timestamptz, 1, 1, 1, 1, 1, false)$$,
  'the forecast: 3 sendable now, 4 before their window (opening at 09:00 in Los Angeles), 1 by each other rule');
select is(tests.why('la1', '2026-11-24 16:30:00+00') ->> 'reason', 'held: outside the send window',
  'why_not_sent names the window');
select is((tests.why('la1', '2026-11-24 16:30:00+00') ->> 'until')::timestamptz,
  '2026-11-24 17:00:00+00', 'and when it opens');
select is(tests.why('capped', '2026-11-24 16:30:00+00') ->> 'rule', 'frequency_cap',
  'the 24-hour cap is a frequency cap');
select is(tests.why('full', '2026-11-24 16:30:00+00') ->> 'until', '2026-11-25T00:00:00+00:00',
  'a lead on a full number waits for the next UTC day');
select is(tests.why('later', '2026-11-24 16:30:00+00') ->> 'rule', 'deferred',
  'a target an earlier claim held waits for its time');
select is(tests.why('ny1', '2026-11-24 16:30:00+00') ->> 'reason', 'sendable now',
  'a sendable target says so');
reset role;

-- What the claim takes at the same instant is exactly what the forecast called sendable.
create table tests.sendable as
  select k.id from private.classify_targets(tests.id('fc'),
    array(select id from public.campaign_targets where campaign_id = tests.id('fc:c')),
    '2026-11-24 16:30:00+00', '2026-11-24 16:30:30+00') k
  where k.category = 'sendable';
select tests.as_system();
create temporary table claimed as
  select c.target_id from private.claim_targets(100, '30 seconds', '2026-11-24 16:30:00+00') c;
reset role;
select set_eq('select target_id from claimed', 'select id from tests.sendable',
  'the claim takes exactly the targets the forecast called sendable');
select is((select count(*) from claimed), 3::bigint, 'three of them');
select results_eq(
  $$select status from public.campaign_targets
    where id in (tests.tid('suppressed'), tests.tid('invalid')) order by id$$,
  $$values ('skipped'), ('skipped')$$,
  'and skips the suppressed and the invalid, as forecast');

select tests.authenticate_as('viewer@acme.test');
select is(tests.why('ny1', '2026-11-24 16:30:01+00') ->> 'rule', 'claimed',
  'a claimed target is being sent');
select is(tests.why('suppressed', '2026-11-24 16:30:01+00') ->> 'reason',
  'suppressed: the number opted out or is on a do-not-contact list',
  'a skipped one says why');
reset role;

-- No number in the rotation: held, and nothing is claimed.
select tests.org('fc2');
insert into public.memberships (org_id, user_id, role)
values (tests.id('fc2'), tests.user_id('viewer@acme.test'), 'viewer');
select tests.number('fc2:paused', 'fc2', '+16465560201', status => 'paused');
select tests.campaign('fc2:c', 'fc2');
select tests.lead('fc2:ny', 'fc2', '+16465550401', 'NY', '10001');
select tests.target('fc2:ny', 'fc2:c', 'fc2:ny');
select tests.authenticate_as('viewer@acme.test');
select is(
  (tests.forecast('fc2:c', '2026-11-24 16:30:00+00') -> 'categories' -> 'number_unavailable'
    ->> 'targets')::int,
  1, 'with its only number paused, the lead is held for want of a number');
reset role;
select tests.as_system();
create temporary table claimed2 as
  select c.campaign_id from private.claim_targets(100, '30 seconds', '2026-11-24 16:30:00+00') c;
reset role;
select is((select count(*) from claimed2 where campaign_id = tests.id('fc2:c')), 0::bigint,
  'and the claim agrees');

-- Who may ask.
select tests.authenticate_as('admin@globex.test');
select throws_ok($$select tests.forecast('fc:c', '2026-11-24 16:30:00+00')$$, 'PT404', null,
  'a member of another organization learns nothing');
select throws_ok($$select tests.why('ny2', '2026-11-24 16:30:00+00')$$, 'PT404', null,
  'not even about one target');
reset role;
set local role anon;
select throws_ok($$select public.campaign_forecast(gen_random_uuid())$$, '42501', null,
  'anon may not ask');
reset role;

select * from finish();
rollback;
