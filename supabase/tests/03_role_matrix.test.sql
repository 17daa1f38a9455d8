-- =============================================================================
-- The role matrix: every public table × {anon, each role of Acme acting on Acme's
-- rows, each role of Globex trying Acme's rows} × {select, insert, update, delete}.
-- Each cell runs in its own subtransaction (rolled back), as that user exactly as
-- PostgREST would; "allowed" means the statement saw or changed at least one row,
-- "denied" that it saw or changed none or was refused. Any other error fails the cell.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(1 + 22 * 4 * 9);
\ir _helpers.sql

-- Fixtures the cells act on, beyond the seed: an import, an unused template, a
-- queued target, a staged row with an error and an open invitation in Acme.
insert into public.lead_imports (id, org_id, file_name)
values ('a9000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000', 'october.csv');
insert into public.lead_import_rows (org_id, import_id, row_number, cells)
values ('a0000000-0000-4000-8000-000000000000', 'a9000000-0000-4000-8000-000000000001', 2,
        '["(415) 555-0190", "Pat"]');
insert into public.lead_import_errors (org_id, import_id, row_number, field, value, message)
values ('a0000000-0000-4000-8000-000000000000', 'a9000000-0000-4000-8000-000000000001', 3,
        'phone', '555', 'not a valid phone number');
insert into public.templates (id, org_id, name)
values ('a9000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000000', 'Unused');
insert into public.campaign_targets (org_id, campaign_id, lead_id, phone)
values ('a0000000-0000-4000-8000-000000000000', 'a6000000-0000-4000-8000-000000000001',
        'a2000000-0000-4000-8000-000000000001', '+14155550101');
insert into public.delivery_problems (org_id, message_id, phone_number_id, lead_id, error_code,
  kind, occurred_at)
values ('a0000000-0000-4000-8000-000000000000', 'a8000000-0000-4000-8000-000000000001',
        'a1000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000003', 30003,
        'unreachable', now());
insert into public.dnc_lists (org_id, name, kind, numbers)
values ('a0000000-0000-4000-8000-000000000000', 'Litigators', 'litigator', 0);
insert into public.privacy_requests (org_id, kind, phone_digest)
values ('a0000000-0000-4000-8000-000000000000', 'export', '\x00');
-- The seed's messages in the rollups.
select private.fold_metrics();
insert into public.invitations (org_id, email, role, invited_by)
values ('a0000000-0000-4000-8000-000000000000', 'new@acme.test', 'viewer',
        'a0000000-0000-4000-8000-000000000001');

-- What each role of Acme may do to Acme's rows; everyone else may do nothing.
create table tests.matrix (
  table_name text not null,
  operation text not null,
  allowed text[] not null,
  statement text not null,
  primary key (table_name, operation)
);

insert into tests.matrix (table_name, operation, allowed, statement) values
  ('organizations', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.organizations where id = ''a0000000-0000-4000-8000-000000000000'''),
  ('organizations', 'insert', '{}',
   'insert into public.organizations (name, slug) values (''Matrix'', ''matrix'')'),
  ('organizations', 'update', '{admin}',
   'update public.organizations set name = ''Acme Realty'' where id = ''a0000000-0000-4000-8000-000000000000'''),
  ('organizations', 'delete', '{}',
   'delete from public.organizations where id = ''a0000000-0000-4000-8000-000000000000'''),
  ('profiles', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.profiles where id = ''a0000000-0000-4000-8000-000000000003'''),
  ('profiles', 'insert', '{}',
   'insert into public.profiles (id) values (gen_random_uuid())'),
  ('profiles', 'update', '{viewer}',
   'update public.profiles set full_name = ''Vic V.'' where id = ''a0000000-0000-4000-8000-000000000004'''),
  ('profiles', 'delete', '{}',
   'delete from public.profiles where id = ''a0000000-0000-4000-8000-000000000004'''),
  ('memberships', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.memberships where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('memberships', 'insert', '{}',
   'insert into public.memberships (org_id, user_id, role) values (''a0000000-0000-4000-8000-000000000000'', ''b0000000-0000-4000-8000-000000000001'', ''viewer'')'),
  ('memberships', 'update', '{admin}',
   'update public.memberships set role = ''viewer'' where org_id = ''a0000000-0000-4000-8000-000000000000'' and user_id = ''a0000000-0000-4000-8000-000000000002'''),
  ('memberships', 'delete', '{admin,operator}',
   'delete from public.memberships where org_id = ''a0000000-0000-4000-8000-000000000000'' and user_id = ''a0000000-0000-4000-8000-000000000003'''),
  ('invitations', 'select', '{admin}',
   'select count(*) from public.invitations where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('invitations', 'insert', '{}',
   'insert into public.invitations (org_id, email, role) values (''a0000000-0000-4000-8000-000000000000'', ''new@acme.test'', ''viewer'')'),
  ('invitations', 'update', '{}',
   'update public.invitations set role = ''admin'' where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('invitations', 'delete', '{admin}',
   'delete from public.invitations where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('leads', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.leads where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('leads', 'insert', '{admin,manager}',
   'insert into public.leads (org_id, phone) values (''a0000000-0000-4000-8000-000000000000'', ''(415) 555-0177'')'),
  ('leads', 'update', '{admin,manager,operator}',
   'update public.leads set notes = ''Called back'' where id = ''a2000000-0000-4000-8000-000000000001'''),
  ('leads', 'delete', '{admin,manager}',
   'delete from public.leads where id = ''a2000000-0000-4000-8000-000000000001'''),
  ('lead_imports', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.lead_imports where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('lead_imports', 'insert', '{admin,manager}',
   'insert into public.lead_imports (org_id, file_name) values (''a0000000-0000-4000-8000-000000000000'', ''open-house.csv'')'),
  ('lead_imports', 'update', '{admin,manager}',
   'update public.lead_imports set file_name = ''renamed.csv'' where id = ''a9000000-0000-4000-8000-000000000001'''),
  ('lead_imports', 'delete', '{admin,manager}',
   'delete from public.lead_imports where id = ''a9000000-0000-4000-8000-000000000001'''),
  ('lead_import_rows', 'select', '{admin,manager}',
   'select count(*) from public.lead_import_rows where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('lead_import_rows', 'insert', '{admin,manager}',
   'insert into public.lead_import_rows (org_id, import_id, row_number, cells) values (''a0000000-0000-4000-8000-000000000000'', ''a9000000-0000-4000-8000-000000000001'', 9, ''["x"]'')'),
  ('lead_import_rows', 'update', '{}',
   'update public.lead_import_rows set cells = ''[]'' where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('lead_import_rows', 'delete', '{admin,manager}',
   'delete from public.lead_import_rows where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('lead_import_errors', 'select', '{admin,manager}',
   'select count(*) from public.lead_import_errors where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('lead_import_errors', 'insert', '{admin,manager}',
   'insert into public.lead_import_errors (org_id, import_id, row_number, field, message) values (''a0000000-0000-4000-8000-000000000000'', ''a9000000-0000-4000-8000-000000000001'', 9, ''zip'', ''not a ZIP code'')'),
  ('lead_import_errors', 'update', '{}',
   'update public.lead_import_errors set message = ''edited'' where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('lead_import_errors', 'delete', '{admin,manager}',
   'delete from public.lead_import_errors where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('phone_numbers', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.phone_numbers where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('phone_numbers', 'insert', '{admin}',
   'insert into public.phone_numbers (org_id, phone, twilio_sid) values (''a0000000-0000-4000-8000-000000000000'', ''415-555-0188'', ''PNa9000000000000000000000000000088'')'),
  ('phone_numbers', 'update', '{admin}',
   'update public.phone_numbers set friendly_name = ''Acme east coast'' where id = ''a1000000-0000-4000-8000-000000000002'''),
  ('phone_numbers', 'delete', '{admin}',
   'delete from public.phone_numbers where id = ''a1000000-0000-4000-8000-000000000002'''),
  ('suppressions', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.suppressions where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('suppressions', 'insert', '{admin,manager,operator}',
   'insert into public.suppressions (org_id, phone, source, reason) values (''a0000000-0000-4000-8000-000000000000'', ''415 555 0166'', ''manual'', ''Asked at the open house'')'),
  ('suppressions', 'update', '{admin}',
   'update public.suppressions set lifted_at = now(), lift_reason = ''Added by mistake'' where id = ''a3000000-0000-4000-8000-000000000002'''),
  ('suppressions', 'delete', '{}',
   'delete from public.suppressions where id = ''a3000000-0000-4000-8000-000000000002'''),
  ('consent_events', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.consent_events where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('consent_events', 'insert', '{admin,manager}',
   'insert into public.consent_events (org_id, lead_id, phone, kind, channel, raw_text) values (''a0000000-0000-4000-8000-000000000000'', ''a2000000-0000-4000-8000-000000000001'', ''+14155550101'', ''captured'', ''phone_call'', ''Agreed on a call to receive listings by text'')'),
  ('consent_events', 'update', '{}',
   'update public.consent_events set raw_text = ''edited'' where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('consent_events', 'delete', '{}',
   'delete from public.consent_events where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('templates', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.templates where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('templates', 'insert', '{admin,manager}',
   'insert into public.templates (org_id, name) values (''a0000000-0000-4000-8000-000000000000'', ''Price drop'')'),
  ('templates', 'update', '{admin,manager}',
   'update public.templates set description = ''Weekend invite'' where id = ''a4000000-0000-4000-8000-000000000001'''),
  ('templates', 'delete', '{admin,manager}',
   'delete from public.templates where id = ''a9000000-0000-4000-8000-000000000002'''),
  ('template_variants', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.template_variants where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('template_variants', 'insert', '{admin,manager}',
   'insert into public.template_variants (org_id, template_id, label, body) values (''a0000000-0000-4000-8000-000000000000'', ''a4000000-0000-4000-8000-000000000001'', ''C'', ''Hi {{first_name|there}}, open house Saturday!'')'),
  ('template_variants', 'update', '{admin,manager}',
   'update public.template_variants set weight = 3 where id = ''a5000000-0000-4000-8000-000000000002'''),
  ('template_variants', 'delete', '{admin,manager}',
   'delete from public.template_variants where id = ''a5000000-0000-4000-8000-000000000002'''),
  ('campaigns', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.campaigns where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('campaigns', 'insert', '{admin,manager}',
   'insert into public.campaigns (org_id, name, template_id) values (''a0000000-0000-4000-8000-000000000000'', ''Price drop blast'', ''a4000000-0000-4000-8000-000000000001'')'),
  ('campaigns', 'update', '{admin,manager}',
   'update public.campaigns set name = ''Saturday open house (v2)'' where id = ''a6000000-0000-4000-8000-000000000001'''),
  ('campaigns', 'delete', '{admin,manager}',
   'delete from public.campaigns where id = ''a6000000-0000-4000-8000-000000000001'''),
  ('campaign_targets', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.campaign_targets where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('campaign_targets', 'insert', '{}',
   'insert into public.campaign_targets (org_id, campaign_id, lead_id, phone) values (''a0000000-0000-4000-8000-000000000000'', ''a6000000-0000-4000-8000-000000000001'', ''a2000000-0000-4000-8000-000000000003'', ''+16025550103'')'),
  ('campaign_targets', 'update', '{}',
   'update public.campaign_targets set status = ''canceled'' where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('campaign_targets', 'delete', '{}',
   'delete from public.campaign_targets where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('conversations', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.conversations where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('conversations', 'insert', '{}',
   'insert into public.conversations (org_id, lead_id, phone_number_id) values (''a0000000-0000-4000-8000-000000000000'', ''a2000000-0000-4000-8000-000000000002'', ''a1000000-0000-4000-8000-000000000002'')'),
  ('conversations', 'update', '{admin,manager,operator}',
   'update public.conversations set status = ''closed'' where id = ''a7000000-0000-4000-8000-000000000001'''),
  ('conversations', 'delete', '{}',
   'delete from public.conversations where id = ''a7000000-0000-4000-8000-000000000001'''),
  ('messages', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.messages where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('messages', 'insert', '{admin,manager,operator}',
   'insert into public.messages (org_id, conversation_id, body) values (''a0000000-0000-4000-8000-000000000000'', ''a7000000-0000-4000-8000-000000000001'', ''Saturday 1-4pm. See you there!'')'),
  ('messages', 'update', '{}',
   'update public.messages set body = ''edited'' where id = ''a8000000-0000-4000-8000-000000000001'''),
  ('messages', 'delete', '{}',
   'delete from public.messages where id = ''a8000000-0000-4000-8000-000000000001'''),
  ('metric_rollups', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.metric_rollups where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('metric_rollups', 'insert', '{}',
   'insert into public.metric_rollups (org_id, dimension, bucket) values (''a0000000-0000-4000-8000-000000000000'', ''org_hour'', ''2026-01-01'')'),
  ('metric_rollups', 'update', '{}',
   'update public.metric_rollups set sent = 99 where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('metric_rollups', 'delete', '{}',
   'delete from public.metric_rollups where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('privacy_requests', 'select', '{admin}',
   'select count(*) from public.privacy_requests where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('privacy_requests', 'insert', '{}',
   'insert into public.privacy_requests (org_id, kind, phone_digest) values (''a0000000-0000-4000-8000-000000000000'', ''export'', ''\x01'')'),
  ('privacy_requests', 'update', '{}',
   'update public.privacy_requests set reason = ''x'' where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('privacy_requests', 'delete', '{}',
   'delete from public.privacy_requests where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('dnc_lists', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.dnc_lists where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('dnc_lists', 'insert', '{}',
   'insert into public.dnc_lists (org_id, name, kind) values (''a0000000-0000-4000-8000-000000000000'', ''Mine'', ''internal'')'),
  ('dnc_lists', 'update', '{}',
   'update public.dnc_lists set name = ''x'' where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('dnc_lists', 'delete', '{}',
   'delete from public.dnc_lists where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('delivery_problems', 'select', '{admin,manager,operator,viewer}',
   'select count(*) from public.delivery_problems where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('delivery_problems', 'insert', '{}',
   'insert into public.delivery_problems (org_id, message_id, error_code, kind, occurred_at) values (''a0000000-0000-4000-8000-000000000000'', ''a8000000-0000-4000-8000-000000000002'', 30007, ''carrier_filtered'', now())'),
  ('delivery_problems', 'update', '{}',
   'update public.delivery_problems set error_code = 30004 where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('delivery_problems', 'delete', '{}',
   'delete from public.delivery_problems where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('audit_log', 'select', '{admin}',
   'select count(*) from public.audit_log where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('audit_log', 'insert', '{}',
   'insert into public.audit_log (org_id, actor_role, table_name, row_id, action) values (''a0000000-0000-4000-8000-000000000000'', ''authenticated'', ''leads'', ''x'', ''insert'')'),
  ('audit_log', 'update', '{}',
   'update public.audit_log set after = null where org_id = ''a0000000-0000-4000-8000-000000000000'''),
  ('audit_log', 'delete', '{}',
   'delete from public.audit_log where org_id = ''a0000000-0000-4000-8000-000000000000''');

-- Runs one statement as one actor ('anon' or an email) and says what happened.
create function tests.attempt(actor text, statement text) returns text
language plpgsql as $$
declare
  affected bigint;
  outcome text;
begin
  begin
    if actor = 'anon' then
      perform set_config('request.jwt.claims', '{"role": "anon"}', true);
      perform set_config('role', 'anon', true);
    else
      perform tests.authenticate_as(actor);
    end if;
    if statement ~* '^select' then
      execute statement into affected;
    else
      execute statement;
      get diagnostics affected = row_count;
    end if;
    outcome := case when affected > 0 then 'allowed' else 'denied' end;
    raise exception using errcode = 'TSTRB', message = 'undo the cell';
  exception
    when sqlstate 'TSTRB' then null;
    when insufficient_privilege then outcome := 'denied';
    when others then outcome := 'error: ' || sqlerrm;
  end;
  return outcome;
end;
$$;

select is(
  array(
    select c.relname::text from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and (select count(*) from tests.matrix m where m.table_name = c.relname) <> 4
    order by 1
  ),
  '{}'::text[],
  'every public table has its four rows in the role matrix'
);

select is(
  tests.attempt(a.actor, m.statement),
  case when a.org = 'acme' and a.role = any (m.allowed) then 'allowed' else 'denied' end,
  format('%s %s by %s', m.table_name, m.operation, a.actor)
)
from tests.matrix m
cross join (values
  (1, 'anon', null, 'anon'),
  (2, 'acme', 'admin', 'admin@acme.test'),
  (3, 'acme', 'manager', 'manager@acme.test'),
  (4, 'acme', 'operator', 'operator@acme.test'),
  (5, 'acme', 'viewer', 'viewer@acme.test'),
  (6, 'globex', 'admin', 'admin@globex.test'),
  (7, 'globex', 'manager', 'manager@globex.test'),
  (8, 'globex', 'operator', 'operator@globex.test'),
  (9, 'globex', 'viewer', 'viewer@globex.test')
) as a (n, org, role, actor)
order by m.table_name, array_position('{select,insert,update,delete}', m.operation), a.n;

select * from finish();
rollback;
