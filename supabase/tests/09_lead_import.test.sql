-- =============================================================================
-- The import pipeline in SQL: parsing helpers, the mapped rows preview and execute
-- show, the import lifecycle, set-based preparation equal to the per-row trigger's,
-- and the organization's private Realtime channel.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(32);
\ir _helpers.sql

-- ---------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------
select results_eq(
  $$select phone, problem from private.parse_phone('(415) 555-0123')$$,
  $$values ('+14155550123'::text, null::text)$$, 'parse_phone: a number');
select results_eq(
  $$select phone, problem from private.parse_phone('(415) 055-0123')$$,
  $$values (null::text, 'exchange code 055 starts with 0'::text)$$,
  'parse_phone: the problem instead of an error');
select throws_ok($$select private.normalize_phone('(415) 055-0123', 'US', 'leads.phone')$$,
  '22023', 'leads.phone: "(415) 055-0123" is not a valid phone number: exchange code 055 starts with 0',
  'normalize_phone raises what parse_phone finds');

select is(private.parse_timestamp(v.raw), v.at, format('parse_timestamp(%L)', v.raw))
from (values
  ('2024-03-01', '2024-03-01 00:00:00+00'::timestamptz),
  ('2024-03-01T14:30:00Z', '2024-03-01 14:30:00+00'),
  ('2024-03-01 14:30:15-05:00', '2024-03-01 19:30:15+00'),
  ('3/1/2024', '2024-03-01 00:00:00+00'),
  ('3/1/2024 2:30 PM', '2024-03-01 14:30:00+00'),
  ('12/31/24 12:05 am', '2024-12-31 00:05:00+00'),
  ('2024-02-30', null),
  ('13/1/2024', null),
  ('yesterday', null)
) as v (raw, at);

select is(private.import_tags(' Hot; buyer,VIP|hot ', '{Spring}'), '{buyer,hot,spring,vip}',
  'import_tags: split on , ; |, tidied, merged with the import''s tags');

-- ---------------------------------------------------------------------------
-- An import, staged as a campaign manager
-- ---------------------------------------------------------------------------
select tests.authenticate_as('manager@acme.test');
insert into public.lead_imports (org_id, file_name, columns, row_count)
values (tests.org_id('acme'), 'spring.csv', '{Cell,First,ST,Zip,Source}', 3);
insert into tests.ids select 'import', id from public.lead_imports where file_name = 'spring.csv';
insert into public.lead_import_rows (org_id, import_id, row_number, cells)
select tests.org_id('acme'), (select id from tests.ids where name = 'import'), n, c::jsonb
from (values
  (2, '["(602) 555-0161", "Pia", "arizona", "85001", "fair"]'),
  (3, '["808.555.0162", "Kai", "HI", "968131234", "web"]'),
  (4, '["555-0163", "Bad", "Atlantis", "1", ""]')
) as v (n, c);

select results_eq(
  $$select row_number, phone, state, zip, jsonb_array_length(problems)
    from private.mapped_import_rows((select id from tests.ids where name = 'import'),
      '{"phone": "Cell", "first_name": "First", "state": "ST", "zip": "Zip",
        "custom_fields": {"source": "Source"}}')$$,
  $$values (2, '+16025550161'::text, 'AZ'::text, '85001'::text, 0),
           (3, '+18085550162', 'HI', '96813-1234', 0),
           (4, null, null, '1', 3)$$,
  'mapped_import_rows: each row as it would be stored, with its problems');
select throws_ok(
  $$select * from private.mapped_import_rows((select id from tests.ids where name = 'import'), '{"phone": "Mobile"}')$$,
  '22023', 'mapping.phone: the file has no column "Mobile"', 'a mapping naming a missing column');
select throws_ok(
  $$select * from private.mapped_import_rows((select id from tests.ids where name = 'import'), '{"first_name": "First"}')$$,
  '22023', 'mapping.phone: say which column holds the phone number', 'a mapping without phone');
select throws_ok(
  $$select * from private.mapped_import_rows((select id from tests.ids where name = 'import'), '{"phone": "Cell", "nickname": "First"}')$$,
  '22023', 'mapping: "nickname" is not a lead field', 'a mapping with an unknown field');
select throws_ok(
  $$select private.execute_lead_import((select id from tests.ids where name = 'import'), '{"phone": "Cell"}')$$,
  '55000', null, 'execute needs the import to be executing');

update public.lead_imports set status = 'executing'
where id = (select id from tests.ids where name = 'import');
select throws_ok(
  $$select private.commit_lead_import((select id from tests.ids where name = 'import'), '{"phone": "Cell"}')$$,
  '55000', null, 'phase 2 needs phase 1 in the same transaction');
select is(
  (private.execute_lead_import((select id from tests.ids where name = 'import'),
    '{"phone": "Cell", "first_name": "First", "state": "ST", "zip": "Zip",
      "custom_fields": {"source": "Source"}}', 'skip', '{spring}') ->> 'inserted')::int,
  2, 'execute inserts the two valid rows');

-- The set-based preparation gives what the per-row trigger gives.
insert into public.leads (org_id, phone, state, zip, tags)
values (tests.org_id('acme'), '(602) 555-0171', 'arizona', '85001', '{spring}'),
       (tests.org_id('acme'), '808.555.0172', 'HI', '968131234', '{spring}');
select results_eq(
  $$select state, zip, time_zone, zip_time_zone, phone_time_zone, tags, suppressed,
      created_by is not null
    from public.leads where phone in ('+16025550161', '+18085550162') order by phone$$,
  $$select state, zip, time_zone, zip_time_zone, phone_time_zone, tags, suppressed,
      created_by is not null
    from public.leads where phone in ('+16025550171', '+18085550172') order by phone$$,
  'imported leads are prepared exactly as the trigger prepares a lead');
select is(
  (select custom_fields ->> 'source' from public.leads where phone = '+16025550161'), 'fair',
  'custom fields are imported');
select is(current_setting('sct.prepared_import_id', true), '',
  'the import clears its setting: later inserts are prepared by the trigger again');
select results_eq(
  $$select status, inserted, invalid, error_count from public.lead_imports
    where id = (select id from tests.ids where name = 'import')$$,
  $$values ('completed'::public.import_status, 2, 1, 3)$$,
  'the import row shows the outcome');
select is_empty(
  $$select 1 from public.lead_import_rows where import_id = (select id from tests.ids where name = 'import')$$,
  'the staged rows are gone once committed');
select throws_ok(
  $$update public.lead_imports set status = 'executing' where id = (select id from tests.ids where name = 'import')$$,
  'PT409', null, 'a completed import is final');
reset role;
select is(
  (select count(*)::int from public.audit_log
   where row_id = 'import:' || (select id from tests.ids where name = 'import')::text),
  1, 'the import is audited as one entry');
select is(
  (select count(*)::int from public.audit_log
   where table_name = 'leads' and action = 'insert' and row_id not like 'import:%'
     and after ->> 'import_id' = (select id from tests.ids where name = 'import')::text),
  0, 'not one entry per imported lead');

-- ---------------------------------------------------------------------------
-- The organization's private channel
-- ---------------------------------------------------------------------------
select isnt_empty(
  $$select 1 from realtime.messages where topic = 'org:' || tests.org_id('acme')
      and event = 'lead_import.completed'
      and payload ->> 'import_id' = (select id from tests.ids where name = 'import')::text$$,
  'completion is broadcast on org:<id>');
select tests.authenticate_as('viewer@acme.test');
select set_config('realtime.topic', 'org:' || tests.org_id('acme'), true);
select isnt_empty($$select 1 from realtime.messages where event = 'lead_import.completed'$$,
  'members receive their organization''s broadcasts');
reset role;
select tests.authenticate_as('viewer@globex.test');
select set_config('realtime.topic', 'org:' || tests.org_id('acme'), true);
select is_empty($$select 1 from realtime.messages where event = 'lead_import.completed'$$,
  'other organizations'' members do not');
select throws_ok(
  format($$select private.broadcast_to_org(%L, 'x', '{}')$$, tests.org_id('acme')),
  '42501', null, 'nor can they send on its channel');
reset role;

select * from finish();
rollback;
