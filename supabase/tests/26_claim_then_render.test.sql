-- =============================================================================
-- The claim decides, the render gives the text, the outcome keeps it
-- (20261127090000_claim_then_render): a claim has no text; private.render_claims checks
-- the claim token, puts the opt-out text on a lead's first message only, refuses a text
-- over the organization's maximum of segments and writes nothing else; the text goes on
-- the target with its outcome (record_sent, record_send_unknown). The number a target is
-- claimed for is one of its organization's, for every writer; a deleted number leaves
-- its targets; PostgREST can still embed it (public.phone_numbers(campaign_targets)).
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(25);
\ir _helpers.sql

\ir _sender_helpers.sql

select tests.org('cr');
select tests.number('cr:415', 'cr', '+14155670100');
select tests.lead('cr:first', 'cr', '+14155570101');
select tests.lead('cr:known', 'cr', '+14155570102');
select tests.lead('cr:late', 'cr', '+14155570103');
select tests.campaign('cr:c', 'cr');
select tests.target('cr:first', 'cr:c', 'cr:first');
select tests.target('cr:known', 'cr:c', 'cr:known');
-- cr:known was texted before (by hand, a week ago): its campaign message is not its first.
select tests.message('cr:known', 'cr:415', '2026-11-17 18:00:00+00');

create temporary table claims as
  select * from private.claim_targets(1) with no data;
grant all on claims to sms_system;
create function pg_temp.claim(at timestamptz) returns integer
language plpgsql as $$
declare
  got integer;
begin
  perform tests.as_system();
  insert into claims select * from private.claim_targets(10, '30 seconds', at);
  get diagnostics got = row_count;
  reset role;
  return got;
end;
$$;
-- Renders the named claims (with wrong tokens if asked) as the tick does, into rendered;
-- returns how many were rendered.
create temporary table rendered as
  select ''::text as name, r.* from private.render_claims('{}', '{}') r with no data;
grant all on rendered to sms_system;
create function pg_temp.render(names text[], wrong_token boolean default false)
returns integer
language plpgsql as $$
declare
  ids bigint[] := array(select c.target_id from claims c
    where c.target_id in (select tests.tid(n) from unnest(names) n) order by c.target_id);
  tokens uuid[] := array(select case when wrong_token then gen_random_uuid() else c.claim_token end
    from claims c where c.target_id = any (ids) order by c.target_id);
  label text := array_to_string(names, ',');
  got integer;
begin
  perform tests.as_system();
  insert into rendered select label, r.* from private.render_claims(ids, tokens) r;
  get diagnostics got = row_count;
  reset role;
  return got;
end;
$$;

-- The claim: numbers and slots, no text.
select is(pg_temp.claim('2026-11-24 18:00:00+00'), 2, 'both targets are claimed');
reset role;
select ok((select bool_and(t.status = 'claimed' and t.body is null and t.encoding is null
    and t.segments is null and t.phone_number_id = tests.id('cr:415'))
  from public.campaign_targets t where t.id in (tests.tid('cr:first'), tests.tid('cr:known'))),
  'a claimed target has its number and no text yet');
select ok(not exists (select 1 from pg_proc p, unnest(p.proargnames) a (name)
    where p.oid = 'private.claim_targets(integer, interval, timestamptz, timestamptz)'::regprocedure
      and a.name = 'body'),
  'the claim returns no text');

-- The render: token checked.
select is(pg_temp.render('{cr:first,cr:known}', wrong_token => true), 0,
  'a wrong claim token renders nothing');
select is((select count(*) from public.campaign_targets
  where id in (tests.tid('cr:first'), tests.tid('cr:known')) and body is not null), 0::bigint,
  'and writes nothing');
select is(pg_temp.render('{cr:first,cr:known}'), 2, 'the right tokens render both');
select is((select body from rendered where target_id = tests.tid('cr:first')),
  'Hi Pat, a new listing is out.' || chr(10) || 'Reply STOP to opt out.',
  'the lead''s first message carries the opt-out text');
select is((select body from rendered where target_id = tests.tid('cr:known')),
  'Hi Pat, a new listing is out.',
  'a lead texted before gets the text alone');
select ok((select bool_and(r.encoding = 'gsm7' and r.segments = 1 and t.status = 'claimed'
    and t.body is null)
  from rendered r join public.campaign_targets t on t.id = r.target_id),
  'with encoding and segments; the render writes nothing (the text goes with the outcome)');
select is((select count(*) from private.sendable_claims(
    array(select c.target_id from claims c), array(select c.claim_token from claims c))),
  2::bigint, 'rendered claims are sendable');

-- A claim's second target of the same lead is not first either, once the first is claimed.
select tests.campaign('cr:c2', 'cr');
select tests.target('cr:first again', 'cr:c2', 'cr:first');
select tests.target('cr:late', 'cr:c2', 'cr:late');
select is(pg_temp.claim('2026-11-25 18:00:00+00'), 2,
  'a day later, the second campaign''s targets are claimed');
select is(pg_temp.render('{cr:first again}'), 1, 'its first target is rendered');
select is((select body from rendered where target_id = tests.tid('cr:first again')),
  'Hi Pat, a new listing is out.',
  'a lead with a campaign message claimed before gets no second opt-out text');

-- A send of unknown outcome keeps the text that may have been sent; a lease that runs out
-- leaves a claim of unknown outcome too.
select is(private.record_send_unknown(array[tests.tid('cr:late')],
    array[(select c.claim_token from claims c where c.target_id = tests.tid('cr:late'))],
    array['timed out after the request left'], array['Hi Pat, a new listing is out.'],
    array['gsm7']::public.message_encoding[], array[1]::smallint[]), 1,
  'a send whose fate is unknown is recorded');
select ok((select t.status = 'unknown' and t.body = 'Hi Pat, a new listing is out.'
    and t.encoding = 'gsm7' and t.segments = 1
  from public.campaign_targets t where t.id = tests.tid('cr:late')),
  'with the text that may have been sent');
select ok(private.expire_leases('2026-11-26 00:00:00+00') >= 1, 'a lease runs out');
select is((tests.target_row('cr:first again')).status, 'unknown',
  'its claim is of unknown outcome, never sent again');
select tests.done('cr');

-- A text over the organization's maximum of segments is refused at the render.
select tests.org('crl', max_seg => 1::smallint,
  body => 'Hi {{first_name|there}}, ' || repeat('this listing is worth a long look. ', 6));
select tests.number('crl:415', 'crl', '+14155670200');
select tests.lead('crl:a', 'crl', '+14155570201');
select tests.campaign('crl:c', 'crl');
select tests.target('crl:a', 'crl:c', 'crl:a');
select is(pg_temp.claim('2026-11-24 18:00:00+00'), 1, 'the long text''s target is claimed');
select is(pg_temp.render('{crl:a}'), 0, 'but not rendered');
select is((tests.target_row('crl:a')).status || ': ' || (tests.target_row('crl:a')).status_reason,
  'skipped: the message is 2 segments, over the organization''s maximum of 1',
  'it is skipped, with the reason');
select tests.done('crl');

-- The number of a target: its organization's, whoever writes it; a deleted one leaves.
select throws_ok(
  format($$update public.campaign_targets set phone_number_id = %L where id = %s$$,
    'a1000000-0000-4000-8000-000000000001', tests.tid('crl:a')),
  '23503', null, 'a number of another organization is refused');
select throws_ok(
  format($$update public.campaign_targets set phone_number_id = %L where id = %s$$,
    gen_random_uuid(), tests.tid('crl:a')),
  '23503', null, 'and a number that does not exist');
-- The embedding PostgREST offers (campaign_targets?select=*,phone_numbers(phone)), under
-- the caller's RLS.
create temporary table acme_target as
with made as (
  insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, phone_number_id)
  select l.org_id, 'a6000000-0000-4000-8000-000000000001', l.id, l.phone,
    'a1000000-0000-4000-8000-000000000001'
  from public.leads l where l.id = 'a2000000-0000-4000-8000-000000000001'
  returning *
)
select m::public.campaign_targets as t from made m;
grant select on acme_target to authenticated;
select tests.authenticate_as('manager@acme.test');
select is((select n.phone from acme_target a, public.phone_numbers(a.t) n), '+14155550100',
  'a member sees the number a target was claimed for through phone_numbers(target)');
reset role;
select tests.authenticate_as('admin@globex.test');
select is((select count(*) from acme_target a, public.phone_numbers(a.t) n), 0::bigint,
  'another organization''s member does not');
reset role;

delete from public.phone_numbers where id = tests.id('cr:415');
select is((select count(*) from public.campaign_targets
  where org_id = tests.id('cr') and phone_number_id is not null), 0::bigint,
  'a deleted number is taken off the targets claimed for it');

select * from finish();
rollback;
