-- =============================================================================
-- Rate limits (20261127130000_rate_limits): token buckets in Postgres. A bucket gives its
-- burst at once, then refills at its rate; an empty one says how long to wait and takes
-- nothing; a user's limit is the organization's setting, which only its admins change.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(11);
\ir _helpers.sql

-- The bucket: a burst of 3, one token a second.
select is(array[private.take_token('t', 3, 1, '2026-11-26 18:00:00+00'),
                private.take_token('t', 3, 1, '2026-11-26 18:00:00+00'),
                private.take_token('t', 3, 1, '2026-11-26 18:00:00+00')],
  array[0, 0, 0]::double precision[], 'a burst of three is served at once');
select is(private.take_token('t', 3, 1, '2026-11-26 18:00:00+00'), 1::double precision,
  'the fourth waits a second');
select is(private.take_token('t', 3, 1, '2026-11-26 18:00:00.5+00'), 0.5::double precision,
  'half a second later, half a second more (a refused request takes nothing)');
select is(private.take_token('t', 3, 1, '2026-11-26 18:00:01+00'), 0::double precision,
  'a second later, one more');
select is(private.take_token('t', 3, 1, '2026-11-26 18:10:00+00')
    + private.take_token('t', 3, 1, '2026-11-26 18:10:00+00')
    + private.take_token('t', 3, 1, '2026-11-26 18:10:00+00'),
  0::double precision, 'after a long pause the burst is back, never more');
select ok(private.take_token('t', 3, 1, '2026-11-26 18:10:00+00') > 0, 'and only the burst');

-- A user's limit for an organization is its setting.
update public.organizations set rate_limit_per_minute = 60, rate_limit_burst = 1
where id = tests.org_id('acme');
select is(array[private.take_request_token('user', 'u1', tests.org_id('acme'), '2026-11-26 18:00:00+00'),
                private.take_request_token('user', 'u1', tests.org_id('acme'), '2026-11-26 18:00:00+00')],
  array[0, 1]::double precision[], 'Acme''s users get one at once, one a second');
select is(private.take_request_token('user', 'u1', tests.org_id('globex'), '2026-11-26 18:00:00+00'),
  0::double precision, 'the same user for another organization has a bucket of its own');
select throws_ok($$select private.take_request_token('planet', 'x')$$, '22023', null,
  'an unknown scope is refused');

-- Who sets it.
select tests.authenticate_as('manager@acme.test');
update public.organizations set rate_limit_burst = 500 where id = tests.org_id('acme');
reset role;
select is((select rate_limit_burst from public.organizations where id = tests.org_id('acme')), 1,
  'a campaign manager cannot raise the limit');
select tests.authenticate_as('admin@acme.test');
update public.organizations set rate_limit_burst = 5 where id = tests.org_id('acme');
reset role;
select is((select rate_limit_burst from public.organizations where id = tests.org_id('acme')), 5,
  'an admin sets it');

select * from finish();
rollback;
