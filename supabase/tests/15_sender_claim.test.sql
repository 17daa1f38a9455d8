-- =============================================================================
-- The sender's claim: every recipient rule checked at the claim (suppression, invalid
-- numbers, paused campaigns, the send window at the claim and at the end of the lease,
-- the 24-hour caps of the organization and the state, the campaign interval), the sender
-- pool (sticky number, area code, paused and poor numbers), throughput (send slots spaced
-- 1/messages_per_second, the lease horizon, daily caps, the organization's per-minute cap),
-- max_segments, one target per lead per claim, and the outcomes: record_sent,
-- record_send_failure (opt-out, invalid number, backoff, giving up), expire_leases, claim
-- tokens and canceled targets.
--
-- Each scenario has its own organization and pauses its campaigns when done, so later
-- claims leave it alone. Instants are fixed: 2026-11-24 18:00 UTC is a Tuesday, 10:00 in
-- Los Angeles. Two sessions (SKIP LOCKED, concurrent claims) cannot meet in pgTAP: see
-- tests/sender-claim-race.test.ts.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(86);
\ir _helpers.sql

\ir _sender_helpers.sql

-- Every claim the tick would send, with its label and text: claimed, then rendered in the
-- same transaction (a claim refused by the render is not in it).
create table tests.claims as
  select ''::text as label, c.*, r.body, r.encoding, r.segments
  from private.claim_targets(1) c, private.render_claims('{}', '{}') r with no data;

create function tests.claim_until(label text, n integer, at timestamptz, horizon timestamptz,
  lease interval default '30 seconds')
returns integer
language plpgsql as $$
declare
  got integer;
begin
  create temporary table claimed_now on commit drop as
  select * from private.claim_targets(n, lease, at, horizon);
  insert into tests.claims
  select label, c.*, r.body, r.encoding, r.segments
  from claimed_now c
  join private.render_claims(array(select k.target_id from claimed_now k),
    array(select k.claim_token from claimed_now k)) r on r.target_id = c.target_id;
  get diagnostics got = row_count;
  drop table claimed_now;
  return got;
end;
$$;

create function tests.claim(label text, n integer, at timestamptz,
  lease interval default '30 seconds') returns integer
language sql as $$ select tests.claim_until(label, n, at, null, lease) $$;

-- Records a claim as sent, as the tick does: with its token and the text it was sent with.
create function tests.record(label text, target text, sid text, status text default 'queued',
  at timestamptz default now(), token uuid default null) returns text
language sql as $$
  select private.record_sent(c.target_id, coalesce(token, c.claim_token), sid, status, at,
    c.body, c.encoding, c.segments)
  from tests.claims c where c.label = record.label and c.target_id = tests.tid(target)
$$;

create function tests.claimed(label text, target text) returns tests.claims
language sql stable as $$
  select * from tests.claims c where c.label = claimed.label and c.target_id = tests.tid(target)
$$;

-- The seed's campaigns are drafts; nothing else runs.
select is((select count(*) from public.campaigns where status = 'running'), 0::bigint,
  'no campaign runs before the scenarios');

-- =============================================================================
-- Recipient rules and the sender pool
-- =============================================================================

select tests.org('rules');
select tests.number('rules:415', 'rules', '+14155650100');
select tests.number('rules:646', 'rules', '+16465560100');
select tests.lead('r:sf', 'rules', '+14155550101');
select tests.lead('r:ny', 'rules', '+16465550102', 'NY', '10001');
select tests.lead('r:sticky', 'rules', '+14155550103', sticky => 'rules:646');
insert into public.suppressions (org_id, phone, source, reason)
values (tests.id('rules'), '+14155550104', 'manual', 'asked not to be texted');
select tests.lead('r:suppressed', 'rules', '+14155550104');
select tests.lead('r:invalid', 'rules', '+14155550105', status => 'invalid');
select tests.campaign('rules:c', 'rules');
select tests.target('r:sf', 'rules:c', 'r:sf');
select tests.target('r:ny', 'rules:c', 'r:ny');
select tests.target('r:sticky', 'rules:c', 'r:sticky');
select tests.target('r:suppressed', 'rules:c', 'r:suppressed');
select tests.target('r:invalid', 'rules:c', 'r:invalid');

select is(tests.claim('rules', 10, '2026-11-24 18:00:00+00'), 3,
  'the three sendable targets are claimed');
select is((tests.target_row('r:suppressed')).status || ': ' || (tests.target_row('r:suppressed')).status_reason,
  'skipped: suppressed: the number opted out or is on a do-not-contact list',
  'a suppressed lead''s target is skipped for good, with the reason');
select is((tests.target_row('r:invalid')).status || ': ' || (tests.target_row('r:invalid')).status_reason,
  'skipped: lead invalid: the number cannot receive texts',
  'an invalid lead''s target is skipped for good');
select is((tests.claimed('rules', 'r:sf')).phone_number_id, tests.id('rules:415'),
  'a lead without a sticky number gets the number with its area code (415)');
select is((tests.claimed('rules', 'r:ny')).phone_number_id, tests.id('rules:646'),
  'and a 646 lead the 646 number');
select is((tests.claimed('rules', 'r:sticky')).phone_number_id, tests.id('rules:646'),
  'a lead keeps its sticky number over the area code');
select is((select phone_number_id from public.leads where id = tests.id('r:sf')), null,
  'the claim alone gives the lead no sticky number');
select is((tests.claimed('rules', 'r:sf')).body,
  'Hi Pat, a new listing is out.' || chr(10) || 'Reply STOP to opt out.',
  'the text is rendered for the lead, with the opt-out language on a first message');
select ok((select t.status = 'claimed' and t.claim_token = (tests.claimed('rules', 'r:sf')).claim_token
    and t.lease_expires_at = t.not_before + interval '30 seconds' and t.attempts = 1
    and t.claimed_at = '2026-11-24 18:00:00+00'
  from public.campaign_targets t where t.id = tests.tid('r:sf')),
  'a claimed target holds its token, slot, lease and attempt');
select is((tests.claimed('rules', 'r:sf')).from_phone || ' ' || (tests.claimed('rules', 'r:sf')).to_phone
  || ' ' || (tests.claimed('rules', 'r:sf')).twilio_number_sid,
  '+14155650100 +14155550101 PN' || md5('rules:415'),
  'the claim returns the numbers to send from and to, and the Twilio number SID');
select is(tests.claim('rules again', 10, '2026-11-24 18:00:05+00'), 0,
  'nothing is claimed twice');
select tests.record('rules', 'r:sf', 'SM' || repeat('5', 32));
select is((select phone_number_id from public.leads where id = tests.id('r:sf')),
  tests.id('rules:415'), 'the number that sent becomes the lead''s sticky number');
select tests.done('rules');

-- Paused campaign.
select tests.org('paused');
select tests.number('paused:415', 'paused', '+14155650200');
select tests.lead('p:lead', 'paused', '+14155550201');
select tests.campaign('paused:c', 'paused', 'paused');
select tests.target('p:t', 'paused:c', 'p:lead');
select is(tests.claim('paused', 10, '2026-11-24 18:00:00+00'), 0,
  'a paused campaign''s targets are not claimed');
select is((tests.target_row('p:t')).status, 'pending', 'and stay pending');

-- Send window.
select tests.org('window');
select tests.number('window:415', 'window', '+14155650300');
select tests.lead('w:lead', 'window', '+14155550301');
select tests.lead('w:late', 'window', '+14155550302');
select tests.campaign('window:c', 'window');
select tests.target('w:t', 'window:c', 'w:lead');
select is(tests.claim('window early', 10, '2026-11-24 12:00:00+00'), 0,
  'nothing is claimed at 04:00 in Los Angeles');
select is((tests.target_row('w:t')).status || ' until ' || (tests.target_row('w:t')).not_before,
  'pending until 2026-11-24 17:00:00+00',
  'the target waits, pending, until the window opens at 09:00 local');
select is((tests.target_row('w:t')).status_reason, 'held: outside the send window',
  'with the reason');
select is(tests.claim('window open', 10, '2026-11-24 17:00:00+00'), 1,
  'it is claimed when the window opens');
select tests.target('w:late', 'window:c', 'w:late');
select is(tests.claim('window closing', 10, '2026-11-25 03:59:50+00'), 0,
  'not at 19:59:50 local, when the window closes before the lease ends');
select is((tests.target_row('w:late')).not_before, '2026-11-25 17:00:00+00'::timestamptz,
  'it waits for the next day''s window');
select tests.done('window');

-- The 24-hour caps: the organization's (2), Florida's (3), claims in flight count.
select tests.org('caps', lead_cap => 2::smallint, gap => '0');
select tests.number('caps:415', 'caps', '+14155650400', mps => 10);
select tests.lead('k:full', 'caps', '+14155550401');
select tests.lead('k:one', 'caps', '+14155550402');
select tests.lead('k:fl3', 'caps', '+13055550403', 'FL', '33101');
select tests.message('k:full', 'caps:415', '2026-11-24 08:00:00+00');
select tests.message('k:full', 'caps:415', '2026-11-24 09:00:00+00');
select tests.message('k:one', 'caps:415', '2026-11-23 17:00:00+00');  -- over 24 h ago
select tests.message('k:one', 'caps:415', '2026-11-24 09:00:00+00');
select tests.campaign('caps:c', 'caps');
select tests.target('k:full', 'caps:c', 'k:full');
select tests.target('k:one', 'caps:c', 'k:one');
select is(tests.claim('caps', 10, '2026-11-24 18:00:00+00'), 1,
  'only the lead under its cap is claimed');
select is((tests.target_row('k:full')).status_reason || ' until ' || (tests.target_row('k:full')).not_before,
  'held: the lead reached its 24-hour message cap until 2026-11-25 08:00:00+00',
  'the lead at the organization''s cap (2) waits until its oldest message is 24 hours old');
select ok((tests.claimed('caps', 'k:one')).target_id is not null,
  'a message older than 24 hours does not count');
-- k:one now has one message and one claim in flight: at the cap of 2.
select tests.campaign('caps:c2', 'caps');
select tests.target('k:one2', 'caps:c2', 'k:one');
select is(tests.claim('caps in flight', 10, '2026-11-24 18:00:10+00'), 0,
  'a claim in flight counts against the cap');
update public.organizations set lead_daily_cap = null where id = tests.id('caps');
select tests.message('k:fl3', 'caps:415', '2026-11-24 10:00:00+00');
select tests.message('k:fl3', 'caps:415', '2026-11-24 11:00:00+00');
select tests.target('k:fl3', 'caps:c', 'k:fl3');
select is(tests.claim('caps florida 2', 10, '2026-11-24 18:00:20+00'), 1,
  'without an organization cap, a Florida lead with 2 messages in 24 hours is claimed');
select tests.campaign('caps:c3', 'caps');
select tests.target('k:fl3b', 'caps:c3', 'k:fl3');
select is(tests.claim('caps florida 3', 10, '2026-11-24 18:00:30+00'), 0,
  'Florida''s cap of 3 in 24 hours holds its third');
select tests.done('caps');

-- The campaign interval (24 hours by default, across campaigns).
select tests.org('gap');
select tests.number('gap:415', 'gap', '+14155650500');
select tests.lead('g:recent', 'gap', '+14155550501');
select tests.lead('g:old', 'gap', '+14155550502');
select tests.campaign('gap:old', 'gap', 'completed');
select tests.target('g:recent:old', 'gap:old', 'g:recent');
select tests.target('g:old:old', 'gap:old', 'g:old');
update public.campaign_targets set status = 'sent', claimed_at = '2026-11-24 16:00:00+00',
  sent_at = '2026-11-24 16:00:01+00' where id = tests.tid('g:recent:old');
update public.campaign_targets set status = 'sent', claimed_at = '2026-11-23 17:00:00+00',
  sent_at = '2026-11-23 17:00:01+00' where id = tests.tid('g:old:old');
select tests.campaign('gap:c', 'gap');
select tests.target('g:recent', 'gap:c', 'g:recent');
select tests.target('g:old', 'gap:c', 'g:old');
select is(tests.claim('gap', 10, '2026-11-24 18:00:00+00'), 1,
  'only the lead without a campaign message in 24 hours is claimed');
select ok((tests.claimed('gap', 'g:old')).target_id is not null, 'the one messaged 25 hours ago');
select is((tests.target_row('g:recent')).not_before, '2026-11-25 16:00:01+00'::timestamptz,
  'the other waits until the interval has passed');
select tests.done('gap');

-- The sender pool: paused and poor numbers are skipped; the sticky choice moves.
select tests.org('pool');
select tests.number('pool:paused', 'pool', '+14155650600', status => 'paused');
select tests.number('pool:poor', 'pool', '+14155650601', health => 'poor');
select tests.number('pool:moderate', 'pool', '+12125560602', health => 'moderate');
select tests.number('pool:good', 'pool', '+12125560603', health => 'good');
select tests.lead('o:lead', 'pool', '+14155550604', sticky => 'pool:paused');
select tests.campaign('pool:c', 'pool');
select tests.target('o:t', 'pool:c', 'o:lead');
select is(tests.claim('pool', 10, '2026-11-24 18:00:00+00'), 1, 'the pool''s lead is claimed');
select is((tests.claimed('pool', 'o:t')).phone_number_id, tests.id('pool:good'),
  'a paused sticky number is replaced, skipping the poor one, by the healthiest');
select tests.record('pool', 'o:t', 'SM' || repeat('6', 32));
select is((select phone_number_id from public.leads where id = tests.id('o:lead')),
  tests.id('pool:good'), 'and once it sends, the lead''s sticky number follows');
select tests.done('pool');

-- =============================================================================
-- Throughput
-- =============================================================================

-- Slots 1/mps apart, continued by the next claim, within the lease horizon.
select tests.org('slots', gap => '0');
select tests.number('slots:415', 'slots', '+14155650700', mps => 2);
select tests.campaign('slots:c', 'slots');
select tests.lead('s:' || i, 'slots', '+141555507' || lpad(i::text, 2, '0'))
from generate_series(1, 6) i;
select tests.target('s:' || i, 'slots:c', 's:' || i) from generate_series(1, 4) i;
select is(tests.claim('slots', 10, '2026-11-24 18:00:00+00'), 4, 'four targets claimed');
select is(array(select c.not_before - '2026-11-24 18:00:00+00' from tests.claims c
    where c.label = 'slots' order by c.not_before),
  array['0 s', '0.515 s', '1.03 s', '1.545 s']::interval[],
  'at 2 messages a second, their slots are (1 s + twice the 15 ms tolerance) / 2 apart');
select is(array(select c.send_by - c.not_before from tests.claims c where c.label = 'slots'),
  array_fill('15 ms'::interval, array[4]), 'each send must start within 15 ms of its slot');
select tests.target('s:' || i, 'slots:c', 's:' || i) from generate_series(5, 6) i;
select is(tests.claim('slots next', 10, '2026-11-24 18:00:00.1+00'), 2,
  'a concurrent-tick claim gets the next two');
select is(array(select c.not_before - '2026-11-24 18:00:00+00' from tests.claims c
    where c.label = 'slots next' order by c.not_before),
  array['2.06 s', '2.575 s']::interval[], 'continuing after the slots already given');
select tests.lead('s:h' || i, 'slots', '+141555517' || lpad(i::text, 2, '0'))
from generate_series(1, 3) i;
select tests.target('s:h' || i, 'slots:c', 's:h' || i) from generate_series(1, 3) i;
select is(tests.claim_until('slots horizon', 10, '2026-11-24 18:00:02.6+00',
    '2026-11-24 18:00:04+00'), 2,
  'a horizon bounds the slots: only those before it are given');
select is(array(select c.not_before - '2026-11-24 18:00:00+00' from tests.claims c
    where c.label = 'slots horizon' order by c.not_before),
  array['3.09 s', '3.605 s']::interval[], 'the two slots before the horizon');
select is((select count(*)::integer from public.campaign_targets t
    where t.campaign_id = tests.id('slots:c') and t.status = 'pending'), 1,
  'the third stays pending for a later claim');
select throws_ok($$ select private.claim_targets(1, '30 seconds', '2026-11-24 18:00:00+00',
    '2026-11-24 18:00:00+00') $$, '22023', null, 'a horizon not after the claim is refused');
update public.campaign_targets set status = 'canceled'
where campaign_id = tests.id('slots:c') and status = 'pending';
update public.phone_numbers set messages_per_second = 0.1 where id = tests.id('slots:415');
select tests.lead('s:' || i, 'slots', '+141555507' || lpad(i::text, 2, '0'))
from generate_series(7, 12) i;
select tests.target('s:' || i, 'slots:c', 's:' || i) from generate_series(7, 12) i;
select is(tests.claim('slots slow', 10, '2026-11-24 18:01:00+00'), 3,
  'one message per 10 s: only the three slots within the 30 s lease are given');
select tests.done('slots');

-- The daily cap per UTC day.
select tests.org('daily', gap => '0');
select tests.number('daily:415', 'daily', '+14155650800', mps => 10, cap => 2);
select tests.campaign('daily:c', 'daily');
select tests.lead('d:' || i, 'daily', '+141555508' || lpad(i::text, 2, '0'))
from generate_series(1, 4) i;
select tests.target('d:' || i, 'daily:c', 'd:' || i) from generate_series(1, 4) i;
-- d:3 already has the number as its sticky number; d:4 is new.
update public.leads set phone_number_id = tests.id('daily:415') where id = tests.id('d:3');
select is(tests.claim('daily', 10, '2026-11-24 18:00:00+00'), 2, 'a daily cap of 2: two claimed');
select is((tests.target_row('d:3')).status || ' until ' || (tests.target_row('d:3')).not_before
    || ': ' || (tests.target_row('d:3')).status_reason,
  'pending until 2026-11-25 00:00:00+00: held: the sending number reached its daily cap',
  'a lead sticky to the capped number waits for the next UTC day, saying why');
select is((tests.target_row('d:4')).status_reason, null,
  'a new lead with no slot left today is left for a later claim');
select is(tests.claim('daily later', 10, '2026-11-24 19:00:00+00'), 0, 'and no more that day');
select is(tests.claim('daily tomorrow', 10, '2026-11-25 18:00:00+00'), 2,
  'the next UTC day the number sends again');
select tests.done('daily');

-- The organization's per-minute cap: 6 a minute over two numbers: each one every 20 s.
select tests.org('minute', mpm => 6, gap => '0');
select tests.number('minute:415', 'minute', '+14155650900', mps => 10);
select tests.number('minute:212', 'minute', '+12125560900', mps => 10);
select tests.campaign('minute:c', 'minute');
select tests.lead('m:' || i, 'minute',
  case when i <= 5 then '+141555509' else '+121255509' end || lpad(i::text, 2, '0'))
from generate_series(1, 10) i;
select tests.target('m:' || i, 'minute:c', 'm:' || i) from generate_series(1, 10) i;
select is(tests.claim('minute', 10, '2026-11-24 18:00:00+00'), 4,
  'two slots per number within the 30 s lease');
select is(array(select distinct c.not_before - '2026-11-24 18:00:00+00' from tests.claims c
    where c.label = 'minute' order by 1),
  array['0 s', '20.01 s']::interval[],
  'each number''s slots are (60 s + 30 ms) / 3 apart, not 0.1 s');
select tests.done('minute');

-- =============================================================================
-- The text: max_segments; one target per lead per claim
-- =============================================================================

select tests.org('long', max_seg => 1::smallint,
  body => 'Hi {{first_name|there}}, ' || repeat('this listing is worth a long look. ', 6));
select tests.number('long:415', 'long', '+14155651000');
select tests.lead('l:lead', 'long', '+14155551001');
select tests.campaign('long:c', 'long');
select tests.target('l:t', 'long:c', 'l:lead');
select is(tests.claim('long', 10, '2026-11-24 18:00:00+00'), 0,
  'a text longer than max_segments is not claimed');
select is((tests.target_row('l:t')).status || ': ' || (tests.target_row('l:t')).status_reason,
  'skipped: the message is 2 segments, over the organization''s maximum of 1',
  'it is skipped with the reason');
select tests.done('long');

select tests.org('twice', gap => '0');
select tests.number('twice:415', 'twice', '+14155651100');
select tests.lead('t:lead', 'twice', '+14155551101');
select tests.campaign('twice:a', 'twice');
select tests.campaign('twice:b', 'twice');
select tests.target('t:a', 'twice:a', 't:lead');
select tests.target('t:b', 'twice:b', 't:lead');
select is(tests.claim('twice', 10, '2026-11-24 18:00:00+00'), 1,
  'two campaigns'' targets of one lead: one claim at a time');
select tests.done('twice');

-- =============================================================================
-- Outcomes
-- =============================================================================

select tests.org('out', gap => '0');
select tests.number('out:415', 'out', '+14155651200', mps => 100);
select tests.campaign('out:c', 'out');
select tests.lead('u:' || i, 'out', '+141555512' || lpad(i::text, 2, '0'))
from generate_series(1, 8) i;
select tests.target('u:' || i, 'out:c', 'u:' || i) from generate_series(1, 8) i;
select is(tests.claim('out', 10, '2026-11-24 18:00:00+00'), 8, 'eight claimed for the outcomes');

-- Sent.
select is(tests.record('out', 'u:1', 'SM' || md5('u:1'), 'queued', '2026-11-24 18:00:01+00',
  gen_random_uuid()), 'stale', 'record_sent with another token changes nothing');
select throws_ok(format($$select private.record_sent(%s, %L, 'SM1', 'queued', now())$$,
    tests.tid('u:1'), (tests.claimed('out', 'u:1')).claim_token),
  '22023', null, 'record_sent without the text that was sent is refused');
select is((tests.target_row('u:1')).status, 'claimed', '(still claimed)');
select is(tests.record('out', 'u:1', 'SM' || md5('u:1'),
  'queued', '2026-11-24 18:00:01+00'), 'sent', 'record_sent with its token');
select ok((select m.direction = 'outbound' and m.status = 'queued'
    and m.body = (tests.claimed('out', 'u:1')).body and m.from_phone = '+14155651200'
    and m.campaign_id = tests.id('out:c') and m.conversation_id = c.id
    and m.created_at = '2026-11-24 18:00:01+00'
  from public.messages m
  join public.conversations c on c.lead_id = m.lead_id and c.phone_number_id = m.phone_number_id
  where m.campaign_target_id = tests.tid('u:1')),
  'the message is recorded in the lead''s conversation with the number');
select is((tests.target_row('u:1')).status || ' ' || (tests.target_row('u:1')).sent_at,
  'sent 2026-11-24 18:00:01+00', 'the target is sent');
select ok((select t.body = c.body and t.encoding = c.encoding and t.segments = c.segments
  from public.campaign_targets t, tests.claims c
  where t.id = tests.tid('u:1') and c.label = 'out' and c.target_id = t.id),
  'the target keeps the text it was sent with');
select is(tests.record('out', 'u:1', 'SM' || md5('u:1'),
  'queued', '2026-11-24 18:00:02+00'), 'duplicate',
  'recording it again changes nothing');

-- Opt-out (21610).
select is(private.record_send_failure(tests.tid('u:2'), (tests.claimed('out', 'u:2')).claim_token,
  21610, 'Attempt to send to unsubscribed recipient', '2026-11-24 18:00:02+00'), 'failed',
  '21610 fails the target');
select ok((select l.suppressed from public.leads l where l.id = tests.id('u:2'))
  and exists (select 1 from public.suppressions s where s.phone = '+14155551202'
    and s.source = 'recipient_stop' and s.lifted_at is null and s.org_id = tests.id('out')),
  'and suppresses the number as the recipient''s opt-out');
select ok(exists (select 1 from public.consent_events e where e.lead_id = tests.id('u:2')
    and e.kind = 'revoked' and e.channel = 'sms'),
  'with a revoked entry in the consent ledger');

-- Invalid numbers (21211, 21614).
select is(private.record_send_failure(tests.tid('u:3'), (tests.claimed('out', 'u:3')).claim_token,
  21614, 'not a mobile number', '2026-11-24 18:00:02+00'), 'failed', '21614 fails the target');
select is((select status from public.leads where id = tests.id('u:3')), 'invalid',
  'and marks the lead invalid');

-- Retries with backoff: 30 s, then 60 s; a stale token after the re-claim.
select is(private.record_send_failure(tests.tid('u:4'), (tests.claimed('out', 'u:4')).claim_token,
  20429, 'Too Many Requests', '2026-11-24 18:00:02+00'), 'retry', '20429 is retried');
select is((tests.target_row('u:4')).status || ' until ' || (tests.target_row('u:4')).not_before,
  'pending until 2026-11-24 18:00:32+00', 'pending again, 30 s later');
select is(tests.claim('out retry early', 10, '2026-11-24 18:00:20+00'), 0,
  'not claimed before its backoff ends');
select is(tests.claim('out retry', 10, '2026-11-24 18:00:40+00'), 1, 'claimed again after it');
select is(tests.record('out', 'u:4', 'SM' || md5('u:4'),
  'queued', '2026-11-24 18:00:41+00'), 'stale',
  'the first claim''s token can no longer record an outcome');
select is(private.record_send_failure(tests.tid('u:4'), (tests.claimed('out retry', 'u:4')).claim_token,
  null, 'timeout', '2026-11-24 18:00:41+00'), 'retry', 'a timeout before sending is retried');
select is((tests.target_row('u:4')).not_before, '2026-11-24 18:01:41+00'::timestamptz,
  'after 60 s on the second attempt');
update public.campaign_targets set attempts = 5, status = 'claimed',
  lease_expires_at = '2026-11-24 18:05:00+00' where id = tests.tid('u:4');
select is(private.record_send_failure(tests.tid('u:4'), (tests.claimed('out retry', 'u:4')).claim_token,
  503, 'Service Unavailable', '2026-11-24 18:01:00+00'), 'failed', 'the fifth attempt is the last');
select is((tests.target_row('u:4')).status_reason,
  'gave up after 5 attempts (error 503: Service Unavailable)', 'failed with the reason');

-- Expired leases: unknown, never claimed again, resolved by a late record_sent.
select private.expire_leases('2026-11-24 18:00:29+00');
select is((select count(*) from public.campaign_targets
    where org_id = tests.id('out') and status = 'unknown'), 0::bigint,
  'no lease of these claims has expired 29 s after the claim');
select private.expire_leases('2026-11-24 18:01:00+00');
select is((select count(*) from public.campaign_targets
    where org_id = tests.id('out') and status = 'unknown'), 4::bigint,
  'the four unrecorded claims expire after their lease');
select is((tests.target_row('u:5')).status, 'unknown', 'their outcome is unknown');
select is(tests.claim('out after expiry', 10, '2026-11-24 19:00:00+00'), 0,
  'an unknown outcome is never claimed again');
select is(tests.record('out', 'u:5', 'SM' || md5('u:5'), 'sent', '2026-11-24 18:00:10+00'), 'sent',
  'a late record_sent with its token resolves it');

-- A campaign canceled while its target is claimed.
select tests.lead('u:9', 'out', '+14155551209');
select tests.target('u:9', 'out:c', 'u:9');
select is(tests.claim('out cancel', 10, '2026-11-24 19:00:00+00'), 1, 'one more claimed');
select private.change_campaign_status(tests.id('out:c'), 'cancel', 'test');
select is(tests.record('out cancel', 'u:9', 'SM' || md5('u:9'),
  'queued', '2026-11-24 19:00:01+00'), 'canceled',
  'a send that raced a cancel is recorded');
select is((tests.target_row('u:9')).status, 'canceled', 'and the target stays canceled');

-- =============================================================================
-- Who may call them
-- =============================================================================

select tests.as_system();
select set_config('tests.system_claim',
  (select count(*)::text from private.claim_targets(1, '30 seconds', '2026-11-24 18:00:00+00')),
  true);
reset role;
select is(current_setting('tests.system_claim'), '0', 'sms_system may claim');
select tests.authenticate_as('admin@acme.test');
select throws_ok($$ select private.claim_targets(1) $$, '42501', null,
  'a member cannot call the claim');
reset role;

select * from finish();
rollback;
