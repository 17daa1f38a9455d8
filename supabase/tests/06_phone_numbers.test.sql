-- =============================================================================
-- Phone numbers: every spelling of a number becomes one E.164 value; invalid ones
-- are refused with the field and the reason; non-NANP numbers follow the
-- organization's default country; the triggers apply it on every write.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(75);
\ir _helpers.sql

-- ---------------------------------------------------------------------------
-- Valid spellings (US organization)
-- ---------------------------------------------------------------------------
select is(private.normalize_phone(v.raw, 'US'), v.e164, format('US: %s → %s', to_json(v.raw), v.e164))
from (values
  ('(415) 555-0123', '+14155550123'),
  ('415.555.0123', '+14155550123'),
  ('+1 415 555 0123', '+14155550123'),
  ('1-415-555-0123', '+14155550123'),
  ('4155550123', '+14155550123'),
  ('14155550123', '+14155550123'),
  ('+14155550123', '+14155550123'),
  ('  415 555 0123  ', '+14155550123'),
  ('415/555-0123', '+14155550123'),
  ('(415)555-0123', '+14155550123'),
  ('1 (415) 555-0123', '+14155550123'),
  ('+1 (415) 555-0123', '+14155550123'),
  ('+1-415-555-0123', '+14155550123'),
  ('+1.415.555.0123', '+14155550123'),
  ('212 555 0199', '+12125550199'),
  ('(907) 555-0100', '+19075550100'),
  ('416-555-0100', '+14165550100'),
  ('(787) 555-0100', '+17875550100'),
  ('809 555 0100', '+18095550100'),
  ('+1 268 555 0100', '+12685550100'),
  ('４１５５５５０１２３', '+14155550123'),
  ('415–555–0123', '+14155550123'),
  (E'\t415 555 0123\n', '+14155550123'),
  (chr(160) || '(415) 555-0123', '+14155550123'),
  ('＋1 415 555 0123', '+14155550123')
) as v (raw, e164);

-- ---------------------------------------------------------------------------
-- Invalid input, each with its reason
-- ---------------------------------------------------------------------------
select throws_ok(
  format('select private.normalize_phone(%L, %L, %L)', v.raw, 'US', 'leads.phone'),
  '22023',
  format('leads.phone: "%s" is not a valid phone number: %s', btrim(v.raw), v.reason),
  format('US refuses %s: %s', to_json(v.raw), v.reason)
)
from (values
  ('(015) 555-0123', 'area code 015 starts with 0'),
  ('(115) 555-0123', 'area code 115 starts with 1'),
  ('(911) 555-0123', 'area code 911 is an N11 service code'),
  ('(411) 555-0123', 'area code 411 is an N11 service code'),
  ('(415) 055-0123', 'exchange code 055 starts with 0'),
  ('(415) 155-0123', 'exchange code 155 starts with 1'),
  ('(415) 911-0123', 'exchange code 911 is an N11 service code'),
  ('555-0123', 'a North American number has 10 digits (or 11 starting with 1), not 7'),
  ('415 555 01234', 'a North American number has 10 digits (or 11 starting with 1), not 11'),
  ('24155550123', 'a North American number has 10 digits (or 11 starting with 1), not 11'),
  ('+1 415 555 012', 'a +1 (NANP) number has exactly 10 digits after the +1'),
  ('+1 415 555 01234', 'a +1 (NANP) number has exactly 10 digits after the +1'),
  ('415-555-CALL', 'it contains letters (extensions and vanity numbers cannot receive texts)'),
  ('415-555-0123 ext 4', 'it contains letters (extensions and vanity numbers cannot receive texts)'),
  ('415#555#0123', 'it contains characters other than digits, spaces and ( ) . - /'),
  ('415 555 0123 +1', 'a + may only lead the number'),
  ('', 'it is empty'),
  ('+44 20 7946 0958',
   'country code +44 is not accepted: the organization texts numbers of US (+1)'),
  ('+0 415 555 0123', 'an E.164 number has a country code and 8 to 15 digits in all'),
  ('+1234567', 'an E.164 number has a country code and 8 to 15 digits in all'),
  ('+999 1234 5678', 'its country code is not assigned'),
  ('+1234567890123456', 'an E.164 number has a country code and 8 to 15 digits in all'),
  ('(555) 555-0123', 'area code 555 is not a geographic area code'),
  ('(950) 555-0123', 'area code 950 is not a geographic area code'),
  ('(290) 555-0123', 'area code 290 is reserved and not in service'),
  ('(375) 555-0123', 'area code 375 is reserved and not in service')
) as v (raw, reason);

select is(private.normalize_phone(null, 'US'), null, 'null stays null (the column decides)');

-- ---------------------------------------------------------------------------
-- An organization whose default country is not in the NANP
-- ---------------------------------------------------------------------------
select is(private.normalize_phone('+44 20 7946 0958', 'GB'), '+442079460958',
  'GB: a UK number in E.164 form is accepted');
select is(private.normalize_phone('+44 (0)20 7946-0958', 'GB'), '+442079460958',
  'GB: the (0) trunk prefix written for local callers is dropped');
select throws_ok($$select private.normalize_phone('+44 020 7946 0958', 'GB')$$, '22023',
  'phone: "+44 020 7946 0958" is not a valid phone number: the 0 after +44 is a national trunk prefix: leave it out',
  'GB: a 0 right after the country code is refused, not kept as a different number');
select is(private.normalize_phone('+39 06 1234 5678', 'IT'), '+390612345678',
  'IT: Italian numbers keep their leading 0');
select is(private.normalize_phone('+44 7700 900123', 'US', 'suppressions.phone', true),
  '+447700900123', 'any_country (suppressions, consent): any country''s E.164 number is accepted');
select throws_ok($$select private.normalize_phone('020 7946 0958', 'GB')$$, '22023',
  'phone: "020 7946 0958" is not a valid phone number: write numbers outside North America in E.164 form (+44…)',
  'GB: a national spelling is refused with how to write it');
select throws_ok($$select private.normalize_phone('+1 415 555 0123', 'GB')$$, '22023',
  'phone: "+1 415 555 0123" is not a valid phone number: country code +1 is not accepted: the organization texts numbers of GB (+44)',
  'GB: a North American number is refused');

-- ---------------------------------------------------------------------------
-- The triggers: every table that stores a number normalises it, naming the field
-- ---------------------------------------------------------------------------
select tests.authenticate_as('manager@acme.test');

insert into public.leads (org_id, phone) values (tests.org_id('acme'), '1 (628) 555-0140');
select is((select phone from public.leads where phone like '+1628%'), '+16285550140',
  'a lead''s phone is stored in E.164');
select throws_ok(
  $$insert into public.leads (org_id, phone) values (tests.org_id('acme'), '628 555 014')$$,
  '22023',
  'leads.phone: "628 555 014" is not a valid phone number: a North American number has 10 digits (or 11 starting with 1), not 9',
  'a bad lead phone is refused naming leads.phone');
select throws_ok(
  $$insert into public.leads (org_id, phone) values (tests.org_id('acme'), '628.555.0140')$$,
  '23505', null,
  'the same number spelled differently is the same lead (unique per organization)');
select throws_ok(
  $$update public.leads set phone = '(415) 555-0101' where phone = '+16285550140'$$,
  '23505', null,
  'changing a lead''s phone to another lead''s number, however spelled, is refused');

insert into public.suppressions (org_id, phone, source) values (tests.org_id('acme'), '628-555-0141', 'manual');
select is((select count(*)::int from public.suppressions where phone = '+16285550141'), 1,
  'a suppression''s phone is stored in E.164');
select throws_ok(
  $$insert into public.suppressions (org_id, phone, source) values (tests.org_id('acme'), 'STOP', 'manual')$$,
  '22023', null, 'a bad suppression phone is refused');

reset role;
select tests.authenticate_as('admin@acme.test');
insert into public.phone_numbers (org_id, phone, twilio_sid)
values (tests.org_id('acme'), '(628) 555-0100', 'PN00000000000000000000000000000628');
select is((select count(*)::int from public.phone_numbers where phone = '+16285550100'), 1,
  'a sending number is stored in E.164');
select throws_ok(
  $$insert into public.phone_numbers (org_id, phone, twilio_sid) values (tests.org_id('acme'), '(628) 155-0100', 'PN00000000000000000000000000000629')$$,
  '22023',
  'phone_numbers.phone: "(628) 155-0100" is not a valid phone number: exchange code 155 starts with 1',
  'a bad sending number is refused naming phone_numbers.phone');
select is(public.normalize_phone('628.555.0199', tests.org_id('acme')), '+16285550199',
  'the public normalize_phone RPC previews what will be stored');

-- An admin switches the organization to the UK: UK numbers in E.164 pass, US ones no longer.
update public.organizations set default_country = 'GB' where id = tests.org_id('acme');
reset role;
select tests.authenticate_as('manager@acme.test');
insert into public.leads (org_id, phone) values (tests.org_id('acme'), '+44 7700 900123');
select is((select count(*)::int from public.leads where phone = '+447700900123'), 1,
  'after the switch a UK mobile in E.164 is accepted');
select throws_ok(
  $$insert into public.leads (org_id, phone) values (tests.org_id('acme'), '(415) 555-0150')$$,
  '22023', null, 'and a national US spelling is refused');
update public.organizations set default_country = 'US' where id = tests.org_id('acme');
reset role;
select is((select default_country from public.organizations where slug = 'acme'), 'GB',
  'a manager cannot change the default country (RLS: admins only)');
select throws_ok(
  $$update public.organizations set default_country = 'XX' where id = tests.org_id('acme')$$,
  '23503', null, 'an unknown country is refused');

-- After the switch, the organization's North American numbers can still be suppressed and
-- their consent recorded: a STOP must never be refused.
select tests.authenticate_as('operator@acme.test');
insert into public.suppressions (org_id, phone, source, reason)
values (tests.org_id('acme'), '+14155550101', 'manual', 'Asked by email');
reset role;
select is((select suppressed from public.leads where id = 'a2000000-0000-4000-8000-000000000001'),
  true, 'a +1 number is suppressed after the country switch, and its lead flagged');
insert into public.consent_events (org_id, phone, kind, channel, raw_text)
values (tests.org_id('acme'), '+14155550101', 'revoked', 'sms', 'STOP');
select is((select count(*)::int from public.consent_events where raw_text = 'STOP' and phone = '+14155550101'),
  1, 'and its revocation recorded');

-- A member of one organization does not learn another's setting from the preview.
select tests.authenticate_as('viewer@globex.test');
select is(public.normalize_phone('(415) 555-0123', tests.org_id('acme')), '+14155550123',
  'another organization''s default country is not applied (nor revealed) to a non-member');
reset role;

select * from finish();
rollback;
