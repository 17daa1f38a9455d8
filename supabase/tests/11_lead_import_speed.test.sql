-- =============================================================================
-- The faster import paths give the answers the slower ones gave: parse_timestamp's
-- forms told apart without capture groups (valid and invalid dates, offsets, AM/PM,
-- two-digit years, limits), and mapped_import_rows' state maps, tags of rows without a
-- tags cell and problems built only for failing rows.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(42);
\ir _helpers.sql

-- ---------------------------------------------------------------------------
-- parse_timestamp
-- ---------------------------------------------------------------------------
select is(private.parse_timestamp(v.raw), v.at, format('parse_timestamp(%L)', v.raw))
from (values
  -- ISO dates: the calendar decides.
  ('2024-02-29', '2024-02-29 00:00:00+00'::timestamptz),
  ('2023-02-29', null),
  ('2000-02-29', '2000-02-29 00:00:00+00'),
  ('1900-02-29', null),
  ('2024-04-31', null),
  ('2024-12-31', '2024-12-31 00:00:00+00'),
  ('2024-00-10', null),
  ('2024-01-00', null),
  ('2024-3-1', null),
  ('  2024-03-01  ', '2024-03-01 00:00:00+00'),
  -- ISO date-times: naive is UTC, offsets with or without a colon, fractions kept.
  ('2024-03-01T14:30', '2024-03-01 14:30:00+00'),
  ('2024-03-01 14:30:15', '2024-03-01 14:30:15+00'),
  ('2024-03-01T14:30:00Z', '2024-03-01 14:30:00+00'),
  ('2024-03-01T14:30:00.250+05:30', '2024-03-01 09:00:00.25+00'),
  ('2024-03-01T14:30-0800', '2024-03-01 22:30:00+00'),
  ('2024-03-01+02:00', '2024-02-29 22:00:00+00'),
  ('2024-03-01Z', '2024-03-01 00:00:00+00'),
  ('2024-03-01T24:00:00Z', null),
  ('2024-03-01T23:60:00Z', null),
  ('2024-03-01T23:59:60Z', null),
  ('2024-03-01t14:30:00z', null),
  -- US dates: month first, two-digit years in the 2000s.
  ('2/29/2024', '2024-02-29 00:00:00+00'),
  ('2/29/2023', null),
  ('13/01/2024', null),
  ('01/13/2024', '2024-01-13 00:00:00+00'),
  ('3/1/24', '2024-03-01 00:00:00+00'),
  ('3/1/202', null),
  -- US times: 12 AM is midnight, 12 PM noon, seconds and a missing space allowed.
  ('1/1/2024 12:00 AM', '2024-01-01 00:00:00+00'),
  ('1/1/2024 12:00 PM', '2024-01-01 12:00:00+00'),
  ('12/31/24 12:05 am', '2024-12-31 00:05:00+00'),
  ('3/1/2024 2:30:15PM', '2024-03-01 14:30:15+00'),
  ('3/1/2024 14:30', '2024-03-01 14:30:00+00'),
  ('3/1/2024 24:00', null),
  ('3/1/2024 2:30 XM', null),
  -- Neither.
  ('March 1, 2024', null),
  ('', null),
  (null, null)
) as v (raw, at);

set local timezone = 'America/New_York';
select is(private.parse_timestamp('2024-03-01 14:30'), '2024-03-01 14:30:00+00'::timestamptz,
  'parse_timestamp: a naive time is UTC whatever the session''s time zone');
reset timezone;

-- ---------------------------------------------------------------------------
-- mapped_import_rows
-- ---------------------------------------------------------------------------
select tests.authenticate_as('manager@acme.test');
insert into public.lead_imports (org_id, file_name, columns, row_count)
values (tests.org_id('acme'), 'speed.csv', '{Cell,ST,Tags,Date,Mail}', 5);
insert into tests.ids select 'import', id from public.lead_imports where file_name = 'speed.csv';
insert into public.lead_import_rows (org_id, import_id, row_number, cells)
select tests.org_id('acme'), (select id from tests.ids where name = 'import'), n, c::jsonb
from (values
  (2, '["(602) 555-0161", "az", "", "3/1/2024", ""]'),
  (3, '["808.555.0162", "new YORK", "Hot; vip", "2024-03-01T14:30:00Z", "kai@example.com"]'),
  (4, '["555-0163", "Atlantis", "", "2023-02-29", "not-an-email"]'),
  (5, '["415 555 0164", "District of Columbia", "buyer", "", ""]'),
  (6, '["415 555 0165", "", "", "", ""]')
) as v (n, c);

select results_eq(
  $$select row_number, phone, state, tags, consent_at, problems
    from private.mapped_import_rows((select id from tests.ids where name = 'import'),
      '{"phone": "Cell", "state": "ST", "tags": "Tags", "consent_at": "Date", "email": "Mail"}',
      '{Spring}')$$,
  $$values
    (2, '+16025550161'::text, 'AZ'::text, '{spring}'::text[],
     '2024-03-01 00:00:00+00'::timestamptz, '[]'::jsonb),
    (3, '+18085550162', 'NY', '{hot,spring,vip}', '2024-03-01 14:30:00+00', '[]'),
    (4, null, null, '{spring}', null,
     '[{"field": "consent_at", "value": "2023-02-29",
        "message": "not a date (use 2024-03-01, 2024-03-01T14:30:00Z or 3/1/2024 2:30 PM)"},
       {"field": "email", "value": "not-an-email", "message": "not an email address"},
       {"field": "phone", "value": "555-0163",
        "message": "not a valid phone number: a North American number has 10 digits (or 11 starting with 1), not 7"},
       {"field": "state", "value": "Atlantis",
        "message": "not a US state, territory or military code"}]'),
    (5, '+14155550164', 'DC', '{buyer,spring}', null, '[]'),
    (6, '+14155550165', null, '{spring}', null, '[]')$$,
  'mapped_import_rows: states by code or name, the import''s tags, problems only when a check fails');

select results_eq(
  $$select row_number, tags
    from private.mapped_import_rows((select id from tests.ids where name = 'import'),
      '{"phone": "Cell", "tags": "Tags"}', '{}', 3)$$,
  $$values (2, '{}'::text[]), (3, '{hot,vip}'), (4, '{}')$$,
  'mapped_import_rows: without import tags an empty tags cell is no tags; max_rows limits');

select is(
  (select count(*)::int
   from private.mapped_import_rows((select id from tests.ids where name = 'import'),
     '{"phone": "Cell", "tags": "Tags"}', '{"", " "}')
   where tags = '{}'),
  3, 'mapped_import_rows: blank import tags are dropped as blank cell tags are');
reset role;

-- ---------------------------------------------------------------------------
-- Execution settings
-- ---------------------------------------------------------------------------
select is(
  (select count(*)::int from pg_proc
   where oid in ('private.validate_lead_import(uuid, jsonb, text[])'::regprocedure,
                 'private.commit_lead_import(uuid, jsonb, text, text[], boolean)'::regprocedure)
     and proconfig @> array['search_path=""', 'work_mem=64MB', 'jit=off']),
  2, 'validate and commit pin search_path and keep an upload''s sorts in memory, without JIT');

select * from finish();
rollback;
