-- =============================================================================
-- The campaign lifecycle: who may move a campaign, every move from every state, what
-- starting needs, the targets it makes (who is left out, which variant each gets),
-- what pause, resume and cancel do to them, the system's start and completion, and the
-- audit trail and broadcasts every move leaves.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(113);
\ir _helpers.sql

-- Runs one lifecycle action as one user in a subtransaction (rolled back) and says what
-- happened: 'ok' or '<sqlstate>: <message>'. Call as postgres.
create function tests.try_campaign(actor text, action text, campaign uuid) returns text
language plpgsql as $$
declare
  outcome text;
begin
  begin
    perform tests.authenticate_as(actor);
    execute format(case action
      when 'schedule' then 'select public.schedule_campaign(%L, now() + interval ''1 day'')'
      else 'select public.' || action || '_campaign(%L)' end, campaign);
    raise exception using errcode = 'TSTRB', message = 'undo the attempt';
  exception
    when sqlstate 'TSTRB' then outcome := 'ok';
    when others then outcome := sqlstate || ': ' || sqlerrm;
  end;
  return outcome;
end;
$$;

-- Acts as the system, as the tick does: role sms_system, no user claims.
create function tests.as_system() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', '', true);
  perform set_config('role', 'sms_system', true);
end;
$$;

-- A campaign in Acme with the seed's template (A/B, tag buyer) in a given state.
create function tests.acme_campaign(label text, status text default 'draft',
  audience jsonb default '{"tags": ["buyer"]}', template uuid default 'a4000000-0000-4000-8000-000000000001',
  rotation public.rotation_strategy default 'ab_test') returns uuid
language sql as $$
  with c as (
    insert into public.campaigns (org_id, name, template_id, rotation_strategy, audience, status)
    values (tests.org_id('acme'), label, template, rotation, audience, status)
    returning id
  )
  insert into tests.ids (name, id) select label, c.id from c
  returning id;
$$;

create function tests.id(label text) returns uuid
language sql stable as $$ select id from tests.ids where name = label $$;

grant execute on all functions in schema tests to authenticated, service_role;
-- The system's checks below name campaigns by label too.
grant usage on schema tests to sms_system;
grant select on tests.ids to sms_system;
grant execute on all functions in schema tests to sms_system;

-- What the system's calls answered (sms_system cannot run pgTAP: it has no extensions).
create table tests.system_calls (
  n integer generated always as identity primary key,
  call text not null,
  campaign_id uuid,
  started boolean,
  targets integer,
  problem text
);
grant insert on tests.system_calls to sms_system;

-- ---------------------------------------------------------------------------
-- Who may call: admins and campaign managers of the campaign's organization
-- ---------------------------------------------------------------------------
select is(
  array(select p::text from unnest(array[
      'public.schedule_campaign(uuid,timestamptz)', 'public.start_campaign(uuid)',
      'public.pause_campaign(uuid,text)', 'public.resume_campaign(uuid)',
      'public.cancel_campaign(uuid,text)']::regprocedure[]) p
    where has_function_privilege('anon', p, 'execute')
       or not has_function_privilege('authenticated', p, 'execute')),
  '{}'::text[], 'the five RPCs: authenticated may execute them, anon may not');
select is(
  array(select p::text from unnest(array[
      'private.start_due_campaigns(integer)', 'private.complete_campaign_if_done(uuid)',
      'private.change_campaign_status(uuid,text,text,timestamptz)']::regprocedure[]) p
    where has_function_privilege('authenticated', p, 'execute')
       or has_function_privilege('service_role', p, 'execute')),
  '{}'::text[], 'the system''s functions and the mover are not for API roles');
select ok(has_function_privilege('sms_system', 'private.start_due_campaigns(integer)', 'execute')
  and has_function_privilege('sms_system', 'private.complete_campaign_if_done(uuid)', 'execute'),
  'sms_system may start due campaigns and complete finished ones');

select is(tests.try_campaign('operator@acme.test', 'start', 'a6000000-0000-4000-8000-000000000001'),
  '42501: Starting campaign a6000000-0000-4000-8000-000000000001 needs the admin or campaign_manager role in its organization',
  'an operator may not start a campaign');
select is(tests.try_campaign('viewer@acme.test', 'schedule', 'a6000000-0000-4000-8000-000000000001'),
  '42501: Scheduling campaign a6000000-0000-4000-8000-000000000001 needs the admin or campaign_manager role in its organization',
  'a viewer may not schedule a campaign');
select is(tests.try_campaign('viewer@acme.test', 'cancel', 'a6000000-0000-4000-8000-000000000001'),
  '42501: Canceling campaign a6000000-0000-4000-8000-000000000001 needs the admin or campaign_manager role in its organization',
  'a viewer may not cancel a campaign');
select is(tests.try_campaign('admin@globex.test', 'start', 'a6000000-0000-4000-8000-000000000001'),
  'PT404: campaign a6000000-0000-4000-8000-000000000001 not found',
  'another organization''s admin does not see the campaign');
select is(tests.try_campaign('manager@globex.test', 'cancel', 'a6000000-0000-4000-8000-000000000001'),
  'PT404: campaign a6000000-0000-4000-8000-000000000001 not found',
  'another organization''s campaign manager cannot cancel it');
select is(tests.try_campaign('manager@acme.test', 'start', '00000000-0000-4000-8000-00000000dead'),
  'PT404: campaign 00000000-0000-4000-8000-00000000dead not found',
  'a campaign that does not exist reads the same as another organization''s');
select is(tests.try_campaign('manager@acme.test', 'start', 'a6000000-0000-4000-8000-000000000001'),
  'ok', 'a campaign manager may start a campaign');
select is(tests.try_campaign('admin@acme.test', 'start', 'a6000000-0000-4000-8000-000000000001'),
  'ok', 'an admin may start a campaign');
select is(tests.try_campaign('admin@globex.test', 'start', 'b6000000-0000-4000-8000-000000000001'),
  'ok', 'and so may Globex''s admin, on Globex''s campaign');
set local role anon;
select set_config('request.jwt.claims', '{"role": "anon"}', true);
select throws_ok($$select public.start_campaign('a6000000-0000-4000-8000-000000000001')$$,
  '42501', null, 'anon cannot execute start_campaign');
reset role;

-- ---------------------------------------------------------------------------
-- A campaign's life, as Acme's campaign manager and admin
-- ---------------------------------------------------------------------------
select is(
  (select count(*)::integer from pg_locks l where l.locktype = 'advisory' and l.pid = pg_backend_pid()),
  0, 'before starting: no advisory lock is held');
select tests.authenticate_as('manager@acme.test');
select results_eq(
  $$select status, scheduled_at > now(), status_reason
    from public.schedule_campaign('a6000000-0000-4000-8000-000000000001', now() + interval '2 days')$$,
  $$values ('scheduled'::text, true, null::text)$$, 'schedule: draft → scheduled, at the time given');
select is(
  (select scheduled_at from public.schedule_campaign('a6000000-0000-4000-8000-000000000001',
    '2099-01-01 09:00+00')),
  '2099-01-01 09:00+00'::timestamptz, 'scheduling again moves a scheduled campaign''s time');
select throws_ok(
  $$select public.schedule_campaign('a6000000-0000-4000-8000-000000000001', now() - interval '1 minute')$$,
  '22023', null, 'a time in the past is refused');
select results_eq(
  $$select status, started_at = now(), scheduled_at
    from public.start_campaign('a6000000-0000-4000-8000-000000000001')$$,
  $$values ('running'::text, true, '2099-01-01 09:00+00'::timestamptz)$$,
  'start: scheduled → running now, before its time');
reset role;
select is(
  (select count(*)::integer from pg_locks l
   where l.locktype = 'advisory' and l.mode = 'ShareLock' and l.pid = pg_backend_pid()
     and ((l.classid::bigint << 32) | l.objid::bigint)
         = private.suppression_lock_key(tests.org_id('acme'))),
  1, 'starting holds the organization''s suppression lock, shared, until commit');
select results_eq(
  $$select lead_id, phone, status from public.campaign_targets
    where campaign_id = 'a6000000-0000-4000-8000-000000000001' order by phone$$,
  $$values ('a2000000-0000-4000-8000-000000000001'::uuid, '+14155550101'::text, 'pending'::text),
           ('a2000000-0000-4000-8000-000000000003', '+16025550103', 'pending')$$,
  'the targets: the buyers Alice and Carla, with their phones, pending');

-- A buyer added while the campaign runs is not targeted by pausing and resuming.
insert into public.leads (org_id, phone, first_name, tags)
values (tests.org_id('acme'), '+15125550131', 'Late', '{buyer}');
select tests.authenticate_as('manager@acme.test');
select results_eq(
  $$select status, paused_at = now(), status_reason
    from public.pause_campaign('a6000000-0000-4000-8000-000000000001', '  waiting for the photos ')$$,
  $$values ('paused'::text, true, 'waiting for the photos'::text)$$,
  'pause: running → paused, with the time and the reason');
select is(
  (select array_agg(status order by phone) from public.campaign_targets
   where campaign_id = 'a6000000-0000-4000-8000-000000000001'),
  '{pending,pending}', 'pausing leaves the targets pending');
select results_eq(
  $$select status, paused_at is not null, status_reason
    from public.resume_campaign('a6000000-0000-4000-8000-000000000001')$$,
  $$values ('running'::text, true, 'waiting for the photos'::text)$$,
  'resume: paused → running (the last pause stays on record)');
select is(
  (select count(*)::integer from public.campaign_targets
   where campaign_id = 'a6000000-0000-4000-8000-000000000001'),
  2, 'resuming does not make targets again: the later buyer is not added');
reset role;

-- One target sent, one claimed by a tick, one pending: cancel stops all but the sent.
update public.campaign_targets set status = 'sent', sent_at = now()
where campaign_id = 'a6000000-0000-4000-8000-000000000001' and phone = '+14155550101';
update public.campaign_targets set status = 'claimed', claimed_at = now()
where campaign_id = 'a6000000-0000-4000-8000-000000000001' and phone = '+16025550103';
insert into public.campaign_targets (org_id, campaign_id, lead_id, phone)
select org_id, 'a6000000-0000-4000-8000-000000000001', id, phone
from public.leads where phone = '+15125550131';
select tests.authenticate_as('admin@acme.test');
select results_eq(
  $$select status, canceled_at = now(), status_reason
    from public.cancel_campaign('a6000000-0000-4000-8000-000000000001', 'Open house moved')$$,
  $$values ('canceled'::text, true, 'Open house moved'::text)$$,
  'cancel: running → canceled, with the time and the reason');
select results_eq(
  $$select phone, status, status_reason from public.campaign_targets
    where campaign_id = 'a6000000-0000-4000-8000-000000000001' order by phone$$,
  $$values ('+14155550101'::text, 'sent'::text, null::text),
           ('+15125550131', 'canceled', 'campaign canceled: Open house moved'),
           ('+16025550103', 'canceled', 'campaign canceled: Open house moved')$$,
  'cancel marks pending and claimed targets canceled with the reason; sent ones stay sent');
select throws_ok($$select public.resume_campaign('a6000000-0000-4000-8000-000000000001')$$,
  'PT409', 'campaign a6000000-0000-4000-8000-000000000001 is canceled: it cannot be resumed',
  'a canceled campaign is final');
reset role;

-- Every move is in the audit log, with its actor.
select results_eq(
  $$select after ->> 'status', after ->> 'status_reason', actor_id, actor_role
    from public.audit_log
    where table_name = 'campaigns' and row_id = 'a6000000-0000-4000-8000-000000000001'
      and action = 'update'
    order by id$$,
  $$values ('scheduled'::text, null::text, tests.user_id('manager@acme.test'), 'authenticated'::text),
           (null, null, tests.user_id('manager@acme.test'), 'authenticated'),
           ('running', null, tests.user_id('manager@acme.test'), 'authenticated'),
           ('paused', 'waiting for the photos', tests.user_id('manager@acme.test'), 'authenticated'),
           ('running', null, tests.user_id('manager@acme.test'), 'authenticated'),
           ('canceled', 'Open house moved', tests.user_id('admin@acme.test'), 'authenticated')$$,
  'each move is audited with the user who made it (the reschedule as a time change)');

-- And broadcast on the organization's channel.
select bag_eq(
  $$select payload ->> 'status' as status, payload ->> 'previous_status' as previous,
      payload ->> 'reason' as reason, (payload ->> 'targets')::integer as targets,
      (payload ->> 'canceled_targets')::integer as canceled
    from realtime.messages
    where topic = 'org:' || tests.org_id('acme') and event = 'campaign.status' and private
      and payload ->> 'campaign_id' = 'a6000000-0000-4000-8000-000000000001'$$,
  $$values ('scheduled'::text, 'draft'::text, null::text, null::integer, null::integer),
           ('scheduled', 'scheduled', null, null, null),
           ('running', 'scheduled', null, 2, null),
           ('paused', 'running', 'waiting for the photos', null, null),
           ('running', 'paused', 'waiting for the photos', null, null),
           ('canceled', 'running', 'Open house moved', null, 2)$$,
  'each move is broadcast as campaign.status on org:<id>, with what changed');
select tests.authenticate_as('viewer@acme.test');
select set_config('realtime.topic', 'org:' || tests.org_id('acme'), true);
select is(
  (select count(*)::integer from realtime.messages where event = 'campaign.status'),
  6, 'every member of the organization receives them');
reset role;
select tests.authenticate_as('viewer@globex.test');
select set_config('realtime.topic', 'org:' || tests.org_id('acme'), true);
select is_empty($$select 1 from realtime.messages where event = 'campaign.status'$$,
  'other organizations'' members do not');
reset role;

-- ---------------------------------------------------------------------------
-- Every action from every state
-- ---------------------------------------------------------------------------
select tests.acme_campaign('state ' || s, s)
from unnest('{draft,scheduled,running,paused,completed,canceled}'::text[]) s;

select is(
  tests.try_campaign('manager@acme.test', a.action, tests.id('state ' || s.status)),
  case when (a.action, s.status) in (
      ('schedule', 'draft'), ('schedule', 'scheduled'), ('start', 'draft'),
      ('start', 'scheduled'), ('pause', 'running'), ('resume', 'paused'),
      ('cancel', 'draft'), ('cancel', 'scheduled'), ('cancel', 'running'),
      ('cancel', 'paused'))
    then 'ok'
    else format('PT409: campaign %s is %s: it cannot be %s', tests.id('state ' || s.status),
      s.status, a.done)
  end,
  format('%s a %s campaign', a.action, s.status))
from unnest('{draft,scheduled,running,paused,completed,canceled}'::text[])
  with ordinality as s (status, n)
cross join (values (1, 'schedule', 'scheduled'), (2, 'start', 'started'),
  (3, 'pause', 'paused'), (4, 'resume', 'resumed'), (5, 'cancel', 'canceled'))
  as a (n, action, done)
order by s.n, a.n;

select tests.authenticate_as('manager@acme.test');
select throws_ok($$select public.start_campaign(tests.id('state paused'))$$,
  'PT409', null, 'a paused campaign is resumed, not started');
select throws_like($$select public.start_campaign(tests.id('state completed'))$$,
  '%is completed: it cannot be started', 'a completed campaign is final');
reset role;

-- The status column moves only through the lifecycle, and only along it.
set local role service_role;
select throws_ok(
  $$update public.campaigns set status = 'running' where id = tests.id('state draft')$$,
  '42501', 'campaign "state draft": status changes only through schedule_campaign, start_campaign, pause_campaign, resume_campaign and cancel_campaign',
  'even the server key cannot update a status directly');
select throws_ok(
  $$insert into public.campaigns (org_id, name, status) values (tests.org_id('acme'), 'Instant', 'running')$$,
  '42501', null, 'nor insert a campaign that is already running');
select lives_ok(
  $$update public.campaigns set name = 'state draft' where id = tests.id('state draft')$$,
  'other columns stay writable for the server key');
reset role;
select tests.authenticate_as('manager@acme.test');
select throws_ok(
  $$update public.campaigns set status = 'canceled' where id = tests.id('state draft')$$,
  '42501', null, 'a user cannot update a status directly');
reset role;
select throws_ok(
  $$update public.campaigns set status = 'running' where id = tests.id('state completed')$$,
  'PT409', 'campaign "state completed" cannot go from completed to running',
  'no role, not even the owner, makes a move the lifecycle lacks');

-- ---------------------------------------------------------------------------
-- What starting and scheduling need, said exactly
-- ---------------------------------------------------------------------------
insert into public.templates (id, org_id, name) values
  ('a4000000-0000-4000-8000-0000000000e1', tests.org_id('acme'), 'No variants yet'),
  ('a4000000-0000-4000-8000-0000000000e2', tests.org_id('acme'), 'All paused');
insert into public.template_variants (org_id, template_id, label, body, weight, position) values
  (tests.org_id('acme'), 'a4000000-0000-4000-8000-0000000000e2', 'A', 'Hi there', 0, 0),
  (tests.org_id('acme'), 'a4000000-0000-4000-8000-0000000000e2', 'B', 'Hello there', 0, 1);
select tests.acme_campaign('no template', template => null);
select tests.acme_campaign('no variants', template => 'a4000000-0000-4000-8000-0000000000e1',
  rotation => 'round_robin');
select tests.acme_campaign('weights 0', template => 'a4000000-0000-4000-8000-0000000000e2',
  rotation => 'weighted');
select tests.acme_campaign('weights 0 a/b', template => 'a4000000-0000-4000-8000-0000000000e2',
  rotation => 'ab_test');
select tests.acme_campaign('weights 0 rr', template => 'a4000000-0000-4000-8000-0000000000e2',
  rotation => 'round_robin');
select tests.acme_campaign('empty audience', audience => '{}');
select tests.acme_campaign('empty filters', audience => '{"tags": [], "states": []}');
select tests.acme_campaign('only suppressed', audience => '{"tags": ["hot"], "statuses": ["contacted"]}');
select tests.acme_campaign('unknown filter', audience => '{"colors": ["red"]}');
select tests.acme_campaign('unknown status', audience => '{"statuses": ["lost"]}');
select tests.acme_campaign('unknown state', audience => '{"states": ["ZZ"]}');
select tests.acme_campaign('not strings', audience => '{"tags": "buyer"}');

select tests.authenticate_as('manager@acme.test');
select throws_ok($$select public.start_campaign(tests.id('no template'))$$,
  'PT409', format('campaign %s has no template', tests.id('no template')),
  'start needs a template');
select throws_ok($$select public.schedule_campaign(tests.id('no template'), now() + interval '1 hour')$$,
  'PT409', format('campaign %s has no template', tests.id('no template')),
  'and so does schedule');
select throws_ok($$select public.start_campaign(tests.id('no variants'))$$,
  'PT409', format('campaign %s: template "No variants yet" has no variants', tests.id('no variants')),
  'start needs a variant');
select throws_ok($$select public.start_campaign(tests.id('weights 0'))$$,
  'PT409', format('campaign %s: template "All paused" has no variant with a weight above 0', tests.id('weights 0')),
  'weighted rotation needs a variant of weight above 0');
select throws_ok($$select public.schedule_campaign(tests.id('weights 0 a/b'), now() + interval '1 hour')$$,
  'PT409', format('campaign %s: template "All paused" has no variant with a weight above 0', tests.id('weights 0 a/b')),
  'so does an A/B test');
select is(
  (select status from public.start_campaign(tests.id('weights 0 rr'))), 'running',
  'round-robin takes any variant, whatever its weight');
select throws_ok($$select public.start_campaign(tests.id('empty audience'))$$,
  'PT409', format('campaign %s has an empty audience', tests.id('empty audience')),
  'start needs an audience');
select throws_ok($$select public.schedule_campaign(tests.id('empty filters'), now() + interval '1 hour')$$,
  'PT409', format('campaign %s has an empty audience', tests.id('empty filters')),
  'empty filters make an empty audience');
select throws_ok($$select public.start_campaign(tests.id('only suppressed'))$$,
  'PT409', format('campaign %s: no sendable lead matches its audience', tests.id('only suppressed')),
  'start needs a sendable lead (Dan, the only match, opted out)');
select throws_ok($$select public.schedule_campaign(tests.id('only suppressed'), now() + interval '1 hour')$$,
  'PT409', format('campaign %s: no sendable lead matches its audience', tests.id('only suppressed')),
  'schedule checks it too');
select throws_ok($$select public.start_campaign(tests.id('unknown filter'))$$,
  '22023', 'campaigns.audience: "colors" is not a filter', 'an unknown filter is named');
select throws_ok($$select public.start_campaign(tests.id('unknown status'))$$,
  '22023', 'campaigns.audience.statuses: "lost" is not a lead status', 'an unknown status is named');
select throws_ok($$select public.start_campaign(tests.id('unknown state'))$$,
  '22023', 'campaigns.audience.states: "ZZ" is not a USPS state code', 'an unknown state is named');
select throws_ok($$select public.start_campaign(tests.id('not strings'))$$,
  '22023', 'campaigns.audience.tags: must be an array of strings', 'a filter must be a list');
select is(
  (select array_agg(status order by name) from public.campaigns
   where id in (tests.id('no template'), tests.id('only suppressed'), tests.id('empty audience'))),
  '{draft,draft,draft}', 'a refused start leaves the campaign as it was');
select throws_ok(
  $$select public.pause_campaign(tests.id('state running'), repeat('x', 501))$$,
  '22023', 'reason: at most 500 characters (this one has 501)', 'a reason is at most 500 characters');
reset role;

-- ---------------------------------------------------------------------------
-- Who is targeted: every filter, any of the tags, nobody suppressed, invalid,
-- outside the audience, of another organization or already targeted
-- ---------------------------------------------------------------------------
insert into public.lead_imports (id, org_id, file_name)
values ('a9000000-0000-4000-8000-0000000000a1', tests.org_id('acme'), 'fair.csv');
insert into public.leads (org_id, phone, first_name, tags, status, state, import_id) values
  (tests.org_id('acme'), '+15125550141', 'In (vip)', '{vip}', 'new', 'TX', null),
  (tests.org_id('acme'), '+15125550142', 'In (gold)', '{gold,other}', 'contacted', 'TX', null),
  (tests.org_id('acme'), '+15125550143', 'Invalid', '{vip}', 'invalid', 'TX', null),
  (tests.org_id('acme'), '+15125550144', 'Suppressed', '{vip}', 'new', 'TX', null),
  (tests.org_id('acme'), '+15125550145', 'Other state', '{vip}', 'new', 'CA', null),
  (tests.org_id('acme'), '+15125550146', 'Other tag', '{other}', 'new', 'TX', null),
  (tests.org_id('acme'), '+15125550147', 'Other status', '{vip}', 'replied', 'TX', null),
  (tests.org_id('acme'), '+15125550148', 'Imported', '{fair}', 'new', 'TX',
   'a9000000-0000-4000-8000-0000000000a1'),
  (tests.org_id('globex'), '+15125550141', 'Globex twin', '{vip}', 'new', 'TX', null);
insert into public.suppressions (org_id, phone, source, reason)
values (tests.org_id('acme'), '+15125550144', 'manual', 'asked not to be texted');
select tests.acme_campaign('exclusions',
  audience => '{"tags": ["VIP ", "gold"], "statuses": ["new", "contacted", "invalid"], "states": ["tx"]}');
select tests.acme_campaign('by import',
  audience => '{"import_ids": ["a9000000-0000-4000-8000-0000000000a1"]}');
-- Already targeted before the start (the queue never holds a lead twice per campaign).
insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, status)
select org_id, tests.id('exclusions'), id, phone, 'sent'
from public.leads where org_id = tests.org_id('acme') and phone = '+15125550142';

select tests.authenticate_as('manager@acme.test');
select is((select status from public.start_campaign(tests.id('exclusions'))), 'running',
  'the exclusions campaign starts');
select is((select status from public.start_campaign(tests.id('by import'))), 'running',
  'the import campaign starts');
reset role;
select results_eq(
  $$select l.first_name, t.phone, t.status from public.campaign_targets t
    join public.leads l on l.id = t.lead_id
    where t.campaign_id = tests.id('exclusions') order by t.phone$$,
  $$values ('In (vip)'::text, '+15125550141'::text, 'pending'::text),
           ('In (gold)', '+15125550142', 'sent')$$,
  'every filter must match, any tag will do; invalid, suppressed, other states, tags, statuses and organizations are left out, and an existing target is not made again');
select results_eq(
  $$select l.first_name from public.campaign_targets t join public.leads l on l.id = t.lead_id
    where t.campaign_id = tests.id('by import')$$,
  $$values ('Imported'::text)$$, 'import_ids picks the leads of those imports');
select is(
  (select count(*)::integer from public.campaign_targets t
   where t.campaign_id = tests.id('weights 0 rr')),
  3, 'a campaign''s targets are made when it starts (the three sendable buyers)');

-- ---------------------------------------------------------------------------
-- Which variant each target gets
-- ---------------------------------------------------------------------------
insert into public.leads (org_id, phone, tags)
select tests.org_id('acme'), '+1512555' || lpad(i::text, 4, '0'), '{rotation}'
from generate_series(1000, 1299) i;
insert into public.templates (id, org_id, name)
values ('a4000000-0000-4000-8000-0000000000f1', tests.org_id('acme'), 'Rotation');
insert into public.template_variants (id, org_id, template_id, label, body, weight, position) values
  ('a5000000-0000-4000-8000-0000000000f1', tests.org_id('acme'), 'a4000000-0000-4000-8000-0000000000f1', 'One', 'One', 1, 2),
  ('a5000000-0000-4000-8000-0000000000f2', tests.org_id('acme'), 'a4000000-0000-4000-8000-0000000000f1', 'Three', 'Three', 3, 0),
  ('a5000000-0000-4000-8000-0000000000f3', tests.org_id('acme'), 'a4000000-0000-4000-8000-0000000000f1', 'Eight', 'Eight', 8, 1),
  ('a5000000-0000-4000-8000-0000000000f0', tests.org_id('acme'), 'a4000000-0000-4000-8000-0000000000f1', 'Off', 'Off', 0, 3);
select tests.acme_campaign('round robin', audience => '{"tags": ["rotation"]}',
  template => 'a4000000-0000-4000-8000-0000000000f1', rotation => 'round_robin');
select tests.acme_campaign('weighted', audience => '{"tags": ["rotation"]}',
  template => 'a4000000-0000-4000-8000-0000000000f1', rotation => 'weighted');
select tests.acme_campaign('a/b', audience => '{"tags": ["rotation"]}',
  template => 'a4000000-0000-4000-8000-0000000000f1', rotation => 'ab_test');
select tests.authenticate_as('admin@acme.test');
select is(
  (select array_agg(status) from (
    select (public.start_campaign(tests.id(n))).status
    from unnest('{round robin,weighted,a/b}'::text[]) n) s),
  '{running,running,running}', 'the three rotation campaigns start');
reset role;

select results_eq(
  $$select v.label, count(*)::integer from public.campaign_targets t
    join public.template_variants v on v.id = t.template_variant_id
    where t.campaign_id = tests.id('round robin') group by v.label, v.position order by v.position$$,
  $$values ('Three'::text, 75), ('Eight', 75), ('One', 75), ('Off', 75)$$,
  'round-robin: every variant, in position order, the same number of times');
select is(
  (select count(*)::integer from (
    select v.position, row_number() over (order by l.created_at, l.id) - 1 as turn
    from public.campaign_targets t
    join public.leads l on l.id = t.lead_id
    join public.template_variants v on v.id = t.template_variant_id
    where t.campaign_id = tests.id('round robin')) x
   where x.position <> x.turn % 4),
  0, 'round-robin: the n-th lead (oldest first) gets the variant in position n mod 4');
select results_eq(
  $$select v.label, count(t.id)::integer from public.template_variants v
    left join public.campaign_targets t
      on t.template_variant_id = v.id and t.campaign_id = tests.id('weighted')
    where v.template_id = 'a4000000-0000-4000-8000-0000000000f1'
    group by v.label, v.position order by v.position$$,
  $$values ('Three'::text, 75), ('Eight', 200), ('One', 25), ('Off', 0)$$,
  'weighted: 3 : 8 : 1 of 300 targets, none for weight 0');
select ok(
  (select bool_and(abs(n - expected) <= 1) from (
    select count(*) as n, 300.0 * v.weight / 12 as expected
    from public.campaign_targets t join public.template_variants v on v.id = t.template_variant_id
    where t.campaign_id = tests.id('weighted') group by v.id, v.weight) x),
  'weighted: each share within one target of its weight''s');
select results_eq(
  $$select v.label, count(t.id)::integer from public.template_variants v
    left join public.campaign_targets t
      on t.template_variant_id = v.id and t.campaign_id = tests.id('a/b')
    where v.template_id = 'a4000000-0000-4000-8000-0000000000f1'
    group by v.label, v.position order by v.position$$,
  $$values ('Three'::text, 100), ('Eight', 100), ('One', 100), ('Off', 0)$$,
  'A/B: an even split across the variants in rotation, whatever their weights');
select cmp_ok(
  (select count(*)::integer from (
    select v.position, row_number() over (order by l.created_at, l.id) - 1 as turn
    from public.campaign_targets t
    join public.leads l on l.id = t.lead_id
    join public.template_variants v on v.id = t.template_variant_id
    where t.campaign_id = tests.id('a/b')) x
   where x.position <> x.turn % 3),
  '>', 0, 'A/B: assignment is shuffled by target, not dealt out in the order leads came in');
select cmp_ok(
  (select count(distinct t.template_variant_id)::integer from (
    select t.template_variant_id from public.campaign_targets t
    join public.leads l on l.id = t.lead_id
    where t.campaign_id = tests.id('weighted') order by l.created_at, l.id limit 75) t),
  '>', 1, 'weighted: the first leads to come in do not all get the first variant');
select ok(
  (select count(*) filter (where a.template_variant_id <> w.template_variant_id) > 0
   from public.campaign_targets a
   join public.campaign_targets w on w.lead_id = a.lead_id and w.campaign_id = tests.id('weighted')
   where a.campaign_id = tests.id('a/b')),
  'a target''s variant depends on its campaign and its lead, not on the lead alone');

-- ---------------------------------------------------------------------------
-- The system: starting what is due, completing what is done
-- ---------------------------------------------------------------------------
select tests.acme_campaign('due');
select tests.acme_campaign('later');
select tests.acme_campaign('due, broken', template => 'a4000000-0000-4000-8000-0000000000e2',
  rotation => 'round_robin');
select tests.authenticate_as('manager@acme.test');
select count(public.schedule_campaign(tests.id(n), now() + interval '1 hour'))
from unnest('{due,later,"due, broken"}'::text[]) n;
reset role;
-- Time passes for two of them; one's template loses its variants meanwhile.
update public.campaigns set scheduled_at = now() - interval '1 minute'
where id in (tests.id('due'), tests.id('due, broken'));
delete from public.template_variants where template_id = 'a4000000-0000-4000-8000-0000000000e2';

select tests.as_system();
insert into tests.system_calls (call, campaign_id, started, targets, problem)
select 'tick 1', d.* from private.start_due_campaigns() d;
insert into tests.system_calls (call, campaign_id, started, targets, problem)
select 'tick 2', d.* from private.start_due_campaigns() d;
reset role;
select results_eq(
  $$select campaign_id, started, targets, problem from tests.system_calls
    where call = 'tick 1' order by started desc$$::text,
  format($$values (%L::uuid, true, 3, null::text),
                  (%L::uuid, false, 0, 'campaign %s: template "All paused" has no variants')$$,
    tests.id('due'), tests.id('due, broken'), tests.id('due, broken')),
  'start_due_campaigns starts the due campaign and reports the one that cannot start');
select is_empty($$select * from tests.system_calls where call = 'tick 2' and started$$,
  'a second tick starts nothing more');
select results_eq(
  $$select name, status, started_at is not null, status_reason from public.campaigns
    where id in (tests.id('due'), tests.id('later'), tests.id('due, broken')) order by name$$,
  $$values ('due'::text, 'running'::text, true, null::text),
           ('due, broken', 'scheduled', false, 'not started: campaign ' || tests.id('due, broken') || ': template "All paused" has no variants'),
           ('later', 'scheduled', false, null)$$,
  'the due one runs, the later one waits, the broken one waits with why');
select is(
  (select count(*)::integer from realtime.messages
   where event = 'campaign.status' and payload ->> 'campaign_id' = tests.id('due, broken')::text
     and payload ->> 'reason' like 'not started:%'),
  1, 'why a campaign did not start is broadcast once, not at every tick');
select results_eq(
  $$select actor_id, actor_role from public.audit_log
    where table_name = 'campaigns' and row_id = tests.id('due')::text
      and after ->> 'status' = 'running'$$,
  $$values (null::uuid, 'sms_system'::text)$$, 'the system''s start is audited as sms_system');
select is(
  (select count(*)::integer from public.campaign_targets where campaign_id = tests.id('due')),
  3, 'the system''s start makes the targets too');

-- Completion, for the sender.
select tests.as_system();
insert into tests.system_calls (call, started)
values ('pending', private.complete_campaign_if_done(tests.id('due')));
reset role;
update public.campaign_targets
set status = case when phone = '+14155550101' then 'claimed' else 'sent' end,
    claimed_at = now(), sent_at = case when phone = '+14155550101' then null else now() end
where campaign_id = tests.id('due');
select tests.as_system();
insert into tests.system_calls (call, started)
values ('claimed', private.complete_campaign_if_done(tests.id('due')));
reset role;
update public.campaign_targets set status = 'failed', status_reason = 'carrier rejected'
where campaign_id = tests.id('due') and phone = '+14155550101';
select tests.as_system();
insert into tests.system_calls (call, started)
values ('done', private.complete_campaign_if_done(tests.id('due'))),
       ('again', private.complete_campaign_if_done(tests.id('due'))),
       ('paused', private.complete_campaign_if_done(tests.id('state paused'))),
       ('missing', private.complete_campaign_if_done('00000000-0000-4000-8000-00000000dead'));
reset role;
select is((select started from tests.system_calls where call = 'pending'), false,
  'a running campaign with pending targets is not done');
select is((select started from tests.system_calls where call = 'claimed'), false,
  'nor one with a target claimed');
select is((select started from tests.system_calls where call = 'done'), true,
  'with nothing pending or claimed, it completes');
select is((select started from tests.system_calls where call = 'again'), false, 'once');
select is((select started from tests.system_calls where call = 'paused'), false,
  'a paused campaign is not completed by the sender');
select is((select started from tests.system_calls where call = 'missing'), false,
  'nor a campaign that does not exist');
select results_eq(
  $$select status, completed_at = now() from public.campaigns where id = tests.id('due')$$,
  $$values ('completed'::text, true)$$, 'completion is stamped');
select is(
  (select payload ->> 'previous_status' from realtime.messages
   where event = 'campaign.status' and payload ->> 'campaign_id' = tests.id('due')::text
     and payload ->> 'status' = 'completed'),
  'running', 'and broadcast');
select is(
  (select status from public.campaigns where id = tests.id('state paused')), 'paused',
  'the paused campaign stays paused');

select * from finish();
rollback;
