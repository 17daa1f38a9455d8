-- =============================================================================
-- Operator replies through the sender (20261126130100_operator_replies.sql): a member's
-- reply waits in the outbox, is claimed before campaign targets (earlier slots on the same
-- number) at any hour, never to a suppressed number (at the claim and just before the
-- send), held by a paused number, failed by a disabled one, and its outcomes are recorded
-- with its claim token: sent, retried with backoff, given up, opted out (21610), invalid
-- (21211), unknown, handed back, expired.
--
-- Seed data: Acme's conversation a7…01 between Carla (+16025550103) and Acme main
-- (+14155550100, 1 message a second). 2026-11-24 11:00 UTC is 3:00 in Los Angeles and
-- 4:00 in Phoenix: no campaign window is open. The sender's functions are called as their
-- owner here (as in 15_sender_claim); the tick calls them as sms_system end to end in
-- tests/campaign-tick-replies.test.ts.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(46);
\ir _helpers.sql

-- A reply as the operator would write it; its id.
create function tests.reply(body text,
  conversation uuid default 'a7000000-0000-4000-8000-000000000001') returns uuid
language plpgsql as $$
declare
  id uuid;
begin
  perform tests.authenticate_as('operator@acme.test');
  insert into public.messages (org_id, conversation_id, body)
  values (tests.org_id('acme'), conversation, body);
  reset role;
  -- Written before the fixed instants this file claims at, in the order written.
  update public.messages m set not_before = '2026-11-24 00:00:00+00'::timestamptz
    + (select count(*) from public.messages o where o.send_attempts > 0 or o.send_state is not null)
      * interval '1 millisecond'
  where m.body = reply.body returning m.id into id;
  return id;
end;
$$;

-- Carla's number may be texted again (suppressions are lifted, never deleted).
create function tests.lift_suppressions() returns void
language sql as $$
  update public.suppressions set lifted_at = now(), lift_reason = 'test'
  where org_id = tests.org_id('acme') and phone = '+16025550103' and lifted_at is null;
$$;

create table tests.claims as
  select ''::text as label, c.* from private.claim_replies(1) c with no data;

create function tests.claim(label text, n integer, at timestamptz,
  horizon timestamptz default null) returns integer
language plpgsql as $$
declare
  got integer;
begin
  insert into tests.claims
  select label, c.* from private.claim_replies(n, '30 seconds', at, horizon) c;
  get diagnostics got = row_count;
  return got;
end;
$$;

create function tests.msg(reply_id uuid) returns public.messages
language sql stable as $$ select * from public.messages where id = reply_id $$;

create function tests.token(reply_id uuid) returns uuid
language sql stable as $$ select claim_token from public.messages where id = reply_id $$;

-- ---------------------------------------------------------------------------
-- The outbox
-- ---------------------------------------------------------------------------
select tests.reply('Saturday 1-4pm, see you there!') as r1 \gset
select results_eq(
  format($$select send_state, status::text, send_attempts::integer, not_before is not null
    from public.messages where id = %L$$, :'r1'),
  $$values ('waiting', 'queued', 0, true)$$,
  'a member''s reply waits in the outbox, queued');

select tests.authenticate_as('operator@acme.test');
select throws_ok(
  format($$insert into public.messages (org_id, conversation_id, body, send_state)
    values (%L, 'a7000000-0000-4000-8000-000000000001', 'sneaky', 'claimed')$$,
    tests.org_id('acme')),
  '42501', null, 'members cannot set the sender''s columns');
reset role;

select tests.authenticate_as('admin@acme.test');
select throws_ok($$ select * from private.claim_replies(1) $$, '42501', null,
  'only the system claims replies');
reset role;

-- ---------------------------------------------------------------------------
-- The claim: any hour, the number's next slot, before campaign targets
-- ---------------------------------------------------------------------------
select is(tests.claim('first', 10, '2026-11-24 11:00:00+00'), 1,
  'a reply is claimed at 3 AM (no campaign window applies to it)');
select results_eq(
  $$select to_phone, from_phone, body, not_before, send_by - not_before from tests.claims
    where label = 'first'$$,
  $$values ('+16025550103', '+14155550100', 'Saturday 1-4pm, see you there!',
    '2026-11-24 11:00:00+00'::timestamptz, '15 ms'::interval)$$,
  'with its text, its conversation''s numbers, a slot and a latest start');
select results_eq(
  format($$select send_state, send_attempts::integer, lease_expires_at - not_before,
      claim_token is not null
    from public.messages where id = %L$$, :'r1'),
  $$values ('claimed', 1, '30 seconds'::interval, true)$$,
  'the reply is claimed under a lease, one attempt counted');
select is(tests.claim('again', 10, '2026-11-24 11:00:00.5+00'), 0,
  'a claimed reply is not claimed twice');
select is((select next_slot_at from private.sending_number_slots
    where phone_number_id = 'a1000000-0000-4000-8000-000000000001'),
  '2026-11-24 11:00:01.03+00'::timestamptz,
  'the reply took the number''s slot: the next is (1 s + 30 ms) later at 1 a second');

select tests.reply('Two') as r2 \gset
select tests.reply('Three') as r3 \gset
select is(tests.claim('horizon', 10, '2026-11-24 11:00:00.6+00', '2026-11-24 11:00:02+00'), 1,
  'a horizon bounds the slots: one of two replies fits');
select results_eq($$select body, not_before from tests.claims where label = 'horizon'$$,
  $$values ('Two', '2026-11-24 11:00:01.03+00'::timestamptz)$$,
  'the first waiting one, at the number''s next slot');
select is((tests.msg(:'r3')).send_state, 'waiting', 'the other stays waiting');

-- A running campaign with a target on the same number: the reply's slot comes first.
insert into public.campaigns (id, org_id, name, template_id, status, send_window_start,
  send_window_end)
values ('a6000000-0000-4000-8000-0000000000f1', tests.org_id('acme'), 'Replies first',
  'a4000000-0000-4000-8000-000000000001', 'running', '00:00', '23:59');
insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, template_variant_id)
select l.org_id, 'a6000000-0000-4000-8000-0000000000f1', l.id, l.phone,
  (select v.id from public.template_variants v
   where v.template_id = 'a4000000-0000-4000-8000-000000000001' order by v.id limit 1)
from public.leads l where l.id = 'a2000000-0000-4000-8000-000000000001';
create temporary table both_claims on commit drop as
  select 'reply' as kind, r.not_before, r.phone_number_id
  from private.claim_replies(10, '30 seconds', '2026-11-24 18:00:00+00') r
  union all
  select 'target', t.not_before, t.phone_number_id
  from private.claim_targets(10, '30 seconds', '2026-11-24 18:00:00+00') t;
reset role;
select results_eq(
  $$select kind, not_before from both_claims order by not_before$$,
  $$values ('reply', '2026-11-24 18:00:00+00'::timestamptz),
           ('target', '2026-11-24 18:00:01.03+00'::timestamptz)$$,
  'claimed in one transaction, the reply gets the number''s first slot, the target the next');
update public.campaigns set status = 'paused' where id = 'a6000000-0000-4000-8000-0000000000f1';

-- ---------------------------------------------------------------------------
-- Suppression, paused and disabled numbers
-- ---------------------------------------------------------------------------
select tests.reply('Are you still looking?') as r4 \gset
insert into public.suppressions (org_id, phone, source)
values (tests.org_id('acme'), '+16025550103', 'manual');
select is(tests.claim('suppressed', 10, '2026-11-24 18:01:00+00'), 0,
  'a reply to a number suppressed after it was written is not claimed');
select results_eq(
  format($$select status::text, send_state, error_message from public.messages where id = %L$$,
    :'r4'),
  $$values ('canceled', null::text, 'not sent: the recipient opted out or is suppressed')$$,
  'it is canceled with the reason');
select tests.authenticate_as('operator@acme.test');
select throws_ok(
  $$insert into public.messages (org_id, conversation_id, body)
    values (tests.org_id('acme'), 'a7000000-0000-4000-8000-000000000001', 'Hello?')$$,
  'PT409', 'this recipient opted out or is suppressed: no message can be sent',
  'a new reply to a suppressed number is refused with a conflict');
reset role;
select tests.lift_suppressions();

update public.phone_numbers set status = 'paused'
where id = 'a1000000-0000-4000-8000-000000000001';
select tests.reply('Held while paused') as r5 \gset
select is(tests.claim('paused', 10, '2026-11-24 18:02:00+00'), 0,
  'a paused number''s replies are not claimed');
select results_eq(
  format($$select send_state, not_before from public.messages where id = %L$$, :'r5'),
  $$values ('waiting', '2026-11-24 18:03:00+00'::timestamptz)$$,
  'they wait, looked at again a minute later');
update public.phone_numbers set status = 'disabled'
where id = 'a1000000-0000-4000-8000-000000000001';
select is(tests.claim('disabled', 10, '2026-11-24 18:04:00+00'), 0,
  'a disabled number''s replies are not claimed');
select results_eq(
  format($$select status::text, send_state, error_message from public.messages where id = %L$$,
    :'r5'),
  $$values ('failed', null::text, 'not sent: the sending number +14155550100 is disabled')$$,
  'they fail with the reason');
update public.phone_numbers set status = 'active'
where id = 'a1000000-0000-4000-8000-000000000001';

-- ---------------------------------------------------------------------------
-- Just before the send
-- ---------------------------------------------------------------------------
select is(array(select private.sendable_replies(array[:'r1', :'r2']::uuid[],
    array[tests.token(:'r1'), tests.token(:'r2')]) order by 1)::text[],
  array(select unnest(array[:'r1', :'r2']) order by 1),
  'claimed replies are sendable');
reset role;
insert into public.suppressions (org_id, phone, source)
values (tests.org_id('acme'), '+16025550103', 'recipient_stop');
select is(cardinality(array(select private.sendable_replies(array[:'r1']::uuid[],
    array[tests.token(:'r1')]))), 0, 'not once the number is suppressed');
select is(cardinality(array(select private.sendable_replies(array[:'r2']::uuid[],
    array[gen_random_uuid()]))), 0, 'nor with another claim''s token');
reset role;
select tests.lift_suppressions();

-- ---------------------------------------------------------------------------
-- Outcomes
-- ---------------------------------------------------------------------------
select is(private.record_reply_sent(array[:'r1']::uuid[], array[gen_random_uuid()],
    array['SM' || md5('r1')], array['queued']), 0, 'a stale token records nothing');
select is(private.record_reply_sent(array[:'r1']::uuid[], array[tests.token(:'r1')],
    array['SM' || md5('r1')], array['sent'], '2026-11-24 18:05:00+00'), 1,
  'Twilio''s acceptance is recorded');
reset role;
select results_eq(
  format($$select twilio_sid, status::text, send_state, sent_at is not null
    from public.messages where id = %L$$, :'r1'),
  format($$values (%L, 'sent', null::text, true)$$, 'SM' || md5('r1')),
  'the reply has its SID and status and leaves the outbox');
select is((select last_message_at from public.conversations
    where id = 'a7000000-0000-4000-8000-000000000001'),
  '2026-11-24 18:05:00+00'::timestamptz, 'its conversation moves to the top');
select tests.authenticate_as('admin@acme.test');
select throws_ok(
  $$select private.record_reply_sent(array[gen_random_uuid()], array[gen_random_uuid()],
    array['SMx'], array['sent'])$$,
  '42501', null, 'only the system records outcomes');
reset role;

-- r2: a retryable failure (backoff), up to the last attempt.
select is(private.record_reply_failures(array[:'r2']::uuid[], array[tests.token(:'r2')],
    array[20429], array['Too Many Requests'], array['retry'], array[null::bigint],
    '2026-11-24 18:06:00+00'), 1, 'a 20429 is recorded');
reset role;
select results_eq(
  format($$select send_state, not_before, error_code, status::text
    from public.messages where id = %L$$, :'r2'),
  $$values ('waiting', '2026-11-24 18:06:30+00'::timestamptz, 20429, 'queued')$$,
  'the reply waits 30 s before its next attempt');
update public.messages set send_attempts = 5, send_state = 'claimed',
  claim_token = gen_random_uuid() where id = :'r2';
select private.record_reply_failures(array[:'r2']::uuid[], array[tests.token(:'r2')],
  array[null::integer], array['HTTP 503'], array['retry'], array[120000::bigint]);
reset role;
select results_eq(
  format($$select status::text, send_state, error_message from public.messages where id = %L$$,
    :'r2'),
  $$values ('failed', null::text, 'gave up after 5 attempts (error none: HTTP 503)')$$,
  'after the fifth attempt it fails for good');

-- r3: opted out at Twilio (21610).
update public.messages set send_state = 'claimed', claim_token = gen_random_uuid()
where id = :'r3';
select private.record_reply_failures(array[:'r3']::uuid[], array[tests.token(:'r3')],
  array[21610], array['Attempt to send to unsubscribed recipient'], array['suppress'],
  array[null::bigint]);
reset role;
select results_eq(
  format($$select status::text, error_code from public.messages where id = %L$$, :'r3'),
  $$values ('failed', 21610)$$, 'a 21610 fails the reply');
select results_eq(
  format($$select s.source::text, c.kind::text from public.suppressions s
    join public.consent_events c on c.org_id = s.org_id and c.phone = s.phone
      and c.source = 'Twilio error 21610 on reply ' || %L
    where s.org_id = tests.org_id('acme') and s.phone = '+16025550103' and s.lifted_at is null$$,
    :'r3'),
  $$values ('recipient_stop', 'revoked')$$,
  'and records the opt-out: a suppression and a revoked consent');
select tests.lift_suppressions();

-- An invalid number (21211), unknown outcomes, releases, expired leases.
select tests.reply('Invalid?') as r6 \gset
select tests.reply('Unknown?') as r7 \gset
select tests.reply('Released?') as r8 \gset
select tests.reply('Expired?') as r9 \gset
select is(tests.claim('four', 10, '2026-11-24 18:10:00+00'), 4, 'four more replies claimed');
select private.record_reply_failures(array[:'r6']::uuid[], array[tests.token(:'r6')],
  array[21211], array['Invalid To number'], array['invalid_recipient'], array[null::bigint]);
select is(private.record_reply_unknown(array[:'r7']::uuid[], array[tests.token(:'r7')],
  array['read timeout']), 1, 'an unknown outcome is recorded');
select is(private.release_replies(array[:'r8']::uuid[], array[tests.token(:'r8')]), 1,
  'an unattempted reply is handed back');
select is(private.expire_leases('2026-11-24 18:11:00+00'), 2,
  'the leases left with no outcome expire: the reply''s and the campaign target''s above');
reset role;
select is((select status::text from public.leads where id = 'a2000000-0000-4000-8000-000000000003'),
  'invalid', 'a 21211 marks the lead invalid');
select results_eq(
  format($$select id, send_state, send_attempts::integer from public.messages
    where id in (%L, %L, %L) order by body$$, :'r9', :'r8', :'r7'),
  format($$values (%L::uuid, 'unknown', 1), (%L::uuid, 'waiting', 0), (%L::uuid, 'unknown', 1)$$,
    :'r9', :'r8', :'r7'),
  'expired and unknown replies are never sent again; the handed-back one waits, its attempt undone');
select is((tests.msg(:'r7')).error_message,
  'outcome unknown: read timeout; it may have been sent, so it is not sent again',
  'an unknown reply says why it is not sent again');
select is(tests.claim('after', 10, now() + interval '1 minute'), 1,
  'only the handed-back reply is claimed again');
select is(private.sender_has_due_work(now() + interval '1 minute'), false,
  'then nothing is due: no reply waits, no campaign runs');
select tests.reply('One more') as r10 \gset
select is(private.sender_has_due_work(now() + interval '1 minute'), true,
  'a waiting reply is due work');


-- An organization with a per-minute cap whose only active number is poor: a reply on it
-- still gets a slot (no division by an empty rotation).
update public.organizations set max_messages_per_minute = 60 where id = tests.org_id('acme');
update public.phone_numbers set health = 'poor' where org_id = tests.org_id('acme');
select lives_ok($$ select tests.claim('poor', 10, now() + interval '2 minutes') $$,
  'a reply on a poor number under a per-minute cap is claimed without error');
select is((tests.msg(:'r10')).send_state, 'claimed', 'and it is claimed');

-- A reply whose lead was deleted before it went out fails, saying why (it never waits on).
select tests.reply('Orphan') as r11 \gset
delete from public.leads where id = 'a2000000-0000-4000-8000-000000000003';
select is(tests.claim('orphan', 10, now() + interval '3 minutes'), 0,
  'a reply whose lead is gone is not claimed');
select results_eq(format($$select status::text, send_state, error_message
    from public.messages where id = %L$$, :'r11'),
  $$values ('failed', null::text, 'not sent: its lead was deleted')$$,
  'it fails with the reason');

select * from finish();
rollback;
