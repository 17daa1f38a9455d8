-- =============================================================================
-- Replayed webhooks (20261127120000_webhook_replays): a repeat of a Twilio webhook within
-- the window is its retry, answered as the first was; the same request later is a replay,
-- refused, and writes nothing.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(9);
\ir _helpers.sql

\ir _sender_helpers.sql

select tests.org('rp');
select tests.number('rp:415', 'rp', '+14155710100');
select tests.lead('rp:lead', 'rp', '+14155610101');
insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone, to_phone,
  body, status, twilio_sid, created_at)
select tests.id('rp'), 'outbound', tests.id('rp:lead'), tests.id('rp:415'), '+14155710100',
  '+14155610101', 'Open house Saturday', 'sent', 'SM' || md5('rp out'), '2026-11-26 18:00:00+00';

select is(private.webhook_replay_window(), interval '10 minutes', 'the window is 10 minutes');

-- Inbound.
select is((select outcome from private.receive_inbound_once('SM' || md5('rp in'), '+14155610101',
    '+14155710100', 'What time?', '2026-11-26 18:01:00+00')), 'received', 'a message is received');
update public.messages set created_at = '2026-11-26 18:01:00+00'
where twilio_sid = 'SM' || md5('rp in');
select is((select outcome from private.receive_inbound_once('SM' || md5('rp in'), '+14155610101',
    '+14155710100', 'What time?', '2026-11-26 18:05:00+00')), 'duplicate',
  'its repeat 4 minutes later is Twilio''s retry: answered as the first');
select is((select outcome || ' ' || first_at from private.receive_inbound_once('SM' || md5('rp in'),
    '+14155610101', '+14155710100', 'What time?', '2026-11-26 18:12:00+00')),
  'replayed 2026-11-26 18:01:00+00', 'the same request 11 minutes later is a replay');
select is((select count(*) from public.messages where twilio_sid = 'SM' || md5('rp in')), 1::bigint,
  'and wrote nothing');

-- Status callbacks.
select is(private.record_message_status_once('SM' || md5('rp out'), 'delivered', null, null,
  '2026-11-26 18:02:00+00'), 'updated', 'a status moves forward');
select is(private.record_message_status_once('SM' || md5('rp out'), 'delivered', null, null,
  '2026-11-26 18:03:00+00'), 'unchanged', 'its retry a minute later changes nothing');
select is(private.record_message_status_once('SM' || md5('rp out'), 'delivered', null, null,
  '2026-11-26 18:30:00+00'), 'replayed', 'the same callback half an hour later is a replay');
select is((select status::text || ' ' || (status_times ->> 'delivered') from public.messages
  where twilio_sid = 'SM' || md5('rp out')), 'delivered 2026-11-26T18:02:00+00:00',
  'the message is as the first callback left it');

select * from finish();
rollback;
