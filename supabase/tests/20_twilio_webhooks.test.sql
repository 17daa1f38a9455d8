-- =============================================================================
-- Twilio's webhooks in SQL (20261126140000_twilio_webhooks.sql): who may call the webhook
-- functions; what receive_inbound and record_message_status refuse or ignore; the Realtime
-- channels (org:<id> and campaign:<id>) readable by exactly the members of the
-- organization and writable by no client; one conversation.changed broadcast per change an
-- inbox shows, none for a campaign message that only moves last_message_at; and the
-- database webhook that wakes the sender when a member writes a reply (at most once a
-- second, never for campaign or inbound messages).
--
-- Seed data: Acme (a0…), its number +14155550100 (a1…01), Carla +16025550103 (a2…03) and
-- their conversation a7…01; Globex (b0…). The keyword engine's phrasings are in
-- 21_keyword_engine; the HTTP side in tests/twilio-*.test.ts.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(33);
\ir _helpers.sql

-- ---------------------------------------------------------------------------
-- Who may call what
-- ---------------------------------------------------------------------------
select ok(
  has_function_privilege('sms_system',
    'private.receive_inbound(text, text, text, text, timestamptz)', 'execute')
  and has_function_privilege('sms_system', 'private.record_message_status(text, text, integer, text, timestamptz, numeric, text)', 'execute'),
  'the webhook role may record inbound messages and status callbacks');
select ok(
  not has_function_privilege('authenticated',
    'private.receive_inbound(text, text, text, text, timestamptz)', 'execute')
  and not has_function_privilege('service_role',
    'private.receive_inbound(text, text, text, text, timestamptz)', 'execute')
  and not has_function_privilege('anon',
    'private.receive_inbound(text, text, text, text, timestamptz)', 'execute')
  and not has_function_privilege('authenticated', 'private.record_message_status(text, text, integer, text, timestamptz, numeric, text)', 'execute')
  and not has_function_privilege('authenticated',
    'private.cancel_pending_targets(uuid, text, text)', 'execute'),
  'members, the service role and anon may not');
select ok(
  has_column_privilege('authenticated', 'public.organizations', 'opt_out_keywords', 'update')
  and has_column_privilege('authenticated', 'public.organizations', 'help_text', 'update')
  and not has_column_privilege('authenticated', 'public.messages', 'intent', 'insert')
  and not has_column_privilege('authenticated', 'public.messages', 'status_times', 'insert'),
  'admins set their keywords and help text; members cannot forge an intent or a status time');

-- ---------------------------------------------------------------------------
-- receive_inbound and record_message_status: what they refuse or ignore
-- ---------------------------------------------------------------------------
select throws_ok(
  $$select * from private.receive_inbound('SM123', '+16025550103', '+14155550100', 'hi')$$,
  '22023', null, 'a MessageSid that is not a SID is refused');
select results_eq(
  $$select outcome, org_id from private.receive_inbound('SM' || md5('bad sender'), 'Alice',
      '+14155550100', 'hi')$$,
  $$values ('bad_sender', 'a0000000-0000-4000-8000-000000000000'::uuid)$$,
  'a From that is not a phone number writes nothing');
select results_eq(
  $$select outcome from private.receive_inbound('SM' || md5('stranger number'), '+16025550103',
      '+19995550100', 'STOP')$$,
  $$values ('unknown_number')$$,
  'a To that is none of our numbers writes nothing');
select is_empty(
  $$select 1 from public.messages where twilio_sid in ('SM' || md5('bad sender'),
      'SM' || md5('stranger number'))$$,
  'neither left a message');
select is(private.record_message_status('SMa8000000000000000000000000000001', 'delivered'),
  'unknown', 'a status callback for an inbound message''s SID is not ours to apply');
select is(private.record_message_status('SM' || md5('nobody'), 'read'), 'ignored',
  'a status we do not track (WhatsApp''s read) is ignored');
select is(private.record_message_status('SM' || md5('nobody'), 'delivered'), 'unknown',
  'an unknown SID is reported unknown');

-- A message from Carla, its outcome and the thread's counters.
create temporary table unread_before as
  select unread_count as n from public.conversations
  where id = 'a7000000-0000-4000-8000-000000000001';
select results_eq(
  $$select outcome, intent, reply is null from private.receive_inbound('SM' || md5('q1'),
      '+16025550103', '+14155550100', 'Is the Elm St house still available?')$$,
  $$values ('received', null::text, true)$$,
  'a question is received, with no intent and no answer');
select results_eq(
  $$select unread_count, status from public.conversations
    where id = 'a7000000-0000-4000-8000-000000000001'$$,
  $$select n + 1, 'open'::text from unread_before$$,
  'its thread counts one more unread message and is open');

-- ---------------------------------------------------------------------------
-- Conversation broadcasts: one per change an inbox shows
-- ---------------------------------------------------------------------------
create temporary table seen as
  select count(*) as n from realtime.messages
  where topic = 'org:a0000000-0000-4000-8000-000000000000' and event = 'conversation.changed';
create function tests.new_broadcasts() returns bigint language sql as $$
  select (select count(*) from realtime.messages
          where topic = 'org:a0000000-0000-4000-8000-000000000000'
            and event = 'conversation.changed') - (select n from seen)
$$;
update public.conversations set last_message_at = now() + interval '1 minute'
where id = 'a7000000-0000-4000-8000-000000000001';
select is(tests.new_broadcasts(), 0::bigint,
  'a campaign message that only moves last_message_at broadcasts nothing');
select tests.authenticate_as('operator@acme.test');
update public.conversations set unread_count = 0 where id = 'a7000000-0000-4000-8000-000000000001';
reset role;
select is(tests.new_broadcasts(), 1::bigint, 'marking a thread read broadcasts once');
select tests.authenticate_as('operator@acme.test');
update public.conversations set status = 'closed', assignee_id = tests.user_id('operator@acme.test')
where id = 'a7000000-0000-4000-8000-000000000001';
reset role;
select is(tests.new_broadcasts(), 2::bigint, 'closing and assigning it in one update: once more');
select results_eq(
  $$select payload ->> 'status', payload ->> 'assignee_id', payload ->> 'unread_count'
    from realtime.messages where topic = 'org:a0000000-0000-4000-8000-000000000000'
      and event = 'conversation.changed'
      and payload ->> 'conversation_id' = 'a7000000-0000-4000-8000-000000000001'
    order by (payload ->> 'unread_count')::int, payload ->> 'status' limit 1$$,
  $$values ('closed', tests.user_id('operator@acme.test')::text, '0')$$,
  'the broadcast says what the inbox needs: status, assignee, unread count');
select lives_ok(
  $$select * from private.receive_inbound('SM' || md5('q2'), '+16025550103', '+14155550100',
      'Hello again')$$,
  'a new message in the closed thread');
select is(tests.new_broadcasts(), 3::bigint, 'reopens it with one broadcast');
insert into public.conversations (org_id, lead_id, phone_number_id)
values ('a0000000-0000-4000-8000-000000000000', 'a2000000-0000-4000-8000-000000000001',
        'a1000000-0000-4000-8000-000000000001')
on conflict do nothing;
select is(tests.new_broadcasts(), 3::bigint,
  'a thread a campaign message opens, with nothing unread, broadcasts nothing');

-- ---------------------------------------------------------------------------
-- Realtime channels: members read, nobody else reads, nobody sends
-- ---------------------------------------------------------------------------
select set_config('tests.campaign', 'a6000000-0000-4000-8000-000000000001', false);
select realtime.send('{"probe": 1}', 'campaign.progress',
  'campaign:' || current_setting('tests.campaign'), true);
select tests.authenticate_as('viewer@acme.test');
select set_config('realtime.topic', 'org:a0000000-0000-4000-8000-000000000000', true);
select isnt_empty($$select 1 from realtime.messages where event = 'conversation.changed'$$,
  'a member of the organization reads org:<id>');
select set_config('realtime.topic', 'campaign:' || current_setting('tests.campaign'), true);
select isnt_empty($$select 1 from realtime.messages where event = 'campaign.progress'$$,
  'and campaign:<id> of its campaigns');
select throws_ok(
  $$insert into realtime.messages (topic, extension, event, payload, private)
    values ('org:a0000000-0000-4000-8000-000000000000', 'broadcast', 'conversation.changed',
            '{}', true)$$,
  '42501', null, 'but cannot send on org:<id>');
select throws_ok(
  format($$insert into realtime.messages (topic, extension, event, payload, private)
    values ('campaign:%s', 'broadcast', 'campaign.progress', '{}', true)$$,
    current_setting('tests.campaign')),
  '42501', null, 'nor on campaign:<id>');
reset role;
select tests.authenticate_as('admin@acme.test');
select throws_ok(
  $$insert into realtime.messages (topic, extension, event, payload, private)
    values ('org:a0000000-0000-4000-8000-000000000000', 'broadcast', 'lead.opted_out', '{}', true)$$,
  '42501', null, 'not even an admin sends');
reset role;
select tests.authenticate_as('admin@globex.test');
select set_config('realtime.topic', 'org:a0000000-0000-4000-8000-000000000000', true);
select is_empty($$select 1 from realtime.messages$$,
  'a member of another organization reads nothing of org:<id>');
select set_config('realtime.topic', 'campaign:' || current_setting('tests.campaign'), true);
select is_empty($$select 1 from realtime.messages$$, 'nor of campaign:<id>');
reset role;
set local role anon;
select set_config('realtime.topic', 'org:a0000000-0000-4000-8000-000000000000', true);
select is_empty($$select 1 from realtime.messages$$, 'anon reads nothing of org:<id>');
select set_config('realtime.topic', 'campaign:' || current_setting('tests.campaign'), true);
select is_empty($$select 1 from realtime.messages$$, 'nor of campaign:<id>');
select throws_ok(
  $$insert into realtime.messages (topic, extension, event, payload, private)
    values ('org:a0000000-0000-4000-8000-000000000000', 'broadcast', 'x', '{}', true)$$,
  '42501', null, 'and cannot send');
reset role;

-- ---------------------------------------------------------------------------
-- The database webhook: a reply wakes the sender
-- ---------------------------------------------------------------------------
delete from vault.secrets where name in ('campaign_tick_url', 'campaign_tick_secret');
select vault.create_secret('http://127.0.0.1:9/functions/v1/campaign-tick', 'campaign_tick_url');
select vault.create_secret(repeat('s', 40), 'campaign_tick_secret');
update private.sender_wakeups set last_at = '-infinity';
create temporary table queued_before as select coalesce(max(id), 0) as id from net.http_request_queue;
create function tests.wakeups() returns setof text language sql as $$
  select q.body::text from net.http_request_queue q where q.id > (select id from queued_before)
  order by q.id
$$;
select tests.authenticate_as('operator@acme.test');
insert into public.messages (org_id, conversation_id, body)
values ('a0000000-0000-4000-8000-000000000000', 'a7000000-0000-4000-8000-000000000001',
        'Yes, it is! Want to see it Saturday?');
reset role;
select results_eq($$select tests.wakeups()$$,
  $$values (convert_to('{"budget_ms": 5000}', 'UTF8')::text)$$,
  'a reply posts one short tick to campaign-tick');
select tests.authenticate_as('operator@acme.test');
insert into public.messages (org_id, conversation_id, body)
values ('a0000000-0000-4000-8000-000000000000', 'a7000000-0000-4000-8000-000000000001',
        'Or Sunday?');
reset role;
select is((select count(*) from tests.wakeups()), 1::bigint,
  'a second reply within the second does not post another');
update private.sender_wakeups set last_at = '-infinity';
select lives_ok(
  $$select * from private.receive_inbound('SM' || md5('q3'), '+16025550103', '+14155550100',
      'Saturday works')$$,
  'an inbound message');
select is((select count(*) from tests.wakeups()), 1::bigint, 'wakes nobody');

select * from finish();
rollback;
