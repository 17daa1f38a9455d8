-- =============================================================================
-- The inbound keyword engine (20261126140000_twilio_webhooks.sql): what a recipient's reply
-- means for what we may send them. private.reply_intent is read against a corpus of real
-- phrasings, one row each (body, the organization's own keywords, whether the sender has
-- opted out, the expected intent), checked set-wise so a failure names every misread
-- phrasing:
--   opt_out  the FCC's keywords (stop, quit, end, revoke, opt out, cancel, unsubscribe) and
--            CTIA's / Twilio's (STOPALL, STOP ALL, OPTOUT, OPT-OUT) in every case, with
--            punctuation, emoji, spaces, newlines, smart quotes and politeness; revocation
--            in so many words inside longer replies;
--   not      what a real-estate lead writes that must not opt them out ("Can I stop by
--            Saturday?", "When does the open house end?", "Can I cancel my showing?");
--   opt_in   START, UNSTOP; YES / Y only from a recipient who opted out;
--   help     HELP, INFO;
--   custom   an organization's own keywords, alone or inside a short reply;
--   edge     empty, null, whitespace, punctuation or emoji only: nothing.
-- Rows with a `why` are phrasings a first version of the rules misread (the why says how),
-- expected as a reasonable recipient meant them (in doubt: an opt-out); they are checked
-- apart, as regressions.
-- Also: normalize_reply, the standard keyword list, and keyword_reply's answers (each names
-- the organization; the opt-out confirmation mentions START, sells nothing and fits one
-- segment; a custom help_text is used).
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(28);
\ir _helpers.sql

create table tests.corpus (
  id integer generated always as identity primary key,
  class text not null check (class in ('opt_out', 'not', 'opt_in', 'help', 'custom', 'edge')),
  body text,
  org_keywords text[] default '{}',
  opted_out boolean default false,
  expected text check (expected in ('opt_out', 'opt_in', 'help')),
  why text
);

-- Every row the engine reads differently from its expectation, named.
create function tests.misread(for_class text default null, suspects boolean default false)
returns table (phrasing text)
language sql as $$
  select format('#%s [%s] %L (keywords %s, opted_out %s): got %s, expected %s%s', c.id,
      c.class, c.body, c.org_keywords, coalesce(c.opted_out::text, 'null'),
      coalesce(private.reply_intent(c.body, c.org_keywords, c.opted_out), 'null'),
      coalesce(c.expected, 'null'), coalesce(' (' || c.why || ')', ''))
  from tests.corpus c
  where (for_class is null or c.class = for_class)
    and (c.why is not null) = suspects
    and private.reply_intent(c.body, c.org_keywords, c.opted_out) is distinct from c.expected
  order by c.id
$$;

-- ---------------------------------------------------------------------------
-- The corpus
-- ---------------------------------------------------------------------------

-- Standard keywords as the whole reply, however typed.
insert into tests.corpus (class, body, expected) values
  ('opt_out', 'STOP', 'opt_out'),
  ('opt_out', 'stop', 'opt_out'),
  ('opt_out', 'Stop', 'opt_out'),
  ('opt_out', 'sToP', 'opt_out'),
  ('opt_out', 'STOP!!!', 'opt_out'),
  ('opt_out', 'Stop.', 'opt_out'),
  ('opt_out', 'stop!', 'opt_out'),
  ('opt_out', '  stop  ', 'opt_out'),
  ('opt_out', E'STOP\n', 'opt_out'),
  ('opt_out', E'\n\nStop\n', 'opt_out'),
  ('opt_out', E'\tSTOP\r\n', 'opt_out'),
  ('opt_out', 'STOP 🛑', 'opt_out'),
  ('opt_out', '🛑 stop 🛑', 'opt_out'),
  ('opt_out', '“STOP”', 'opt_out'),
  ('opt_out', '‘stop’', 'opt_out'),
  ('opt_out', '(stop)', 'opt_out'),
  ('opt_out', 'Stop please', 'opt_out'),
  ('opt_out', 'Please stop!', 'opt_out'),
  ('opt_out', 'stop pls', 'opt_out'),
  ('opt_out', 'STOP NOW', 'opt_out'),
  ('opt_out', 'stop thank you', 'opt_out'),
  ('opt_out', 'Stop, thanks.', 'opt_out'),
  ('opt_out', 'STOP ASAP', 'opt_out'),
  ('opt_out', E'Please\nstop', 'opt_out'),
  ('opt_out', 'Stop it', 'opt_out'),
  ('opt_out', 'stop stop stop', 'opt_out'),
  ('opt_out', 'Stop!!!! 😡', 'opt_out'),
  ('opt_out', 'STOPALL', 'opt_out'),
  ('opt_out', 'stopall', 'opt_out'),
  ('opt_out', 'STOP ALL', 'opt_out'),
  ('opt_out', 'Stop all.', 'opt_out'),
  ('opt_out', 'Stop-all', 'opt_out'),
  ('opt_out', 'QUIT', 'opt_out'),
  ('opt_out', 'quit', 'opt_out'),
  ('opt_out', 'Quit!', 'opt_out'),
  ('opt_out', 'I quit', 'opt_out'),
  ('opt_out', 'END', 'opt_out'),
  ('opt_out', 'end', 'opt_out'),
  ('opt_out', 'End.', 'opt_out'),
  ('opt_out', 'ok END', 'opt_out'),
  ('opt_out', 'END please', 'opt_out'),
  ('opt_out', 'REVOKE', 'opt_out'),
  ('opt_out', 'revoke', 'opt_out'),
  ('opt_out', 'Revoke.', 'opt_out'),
  ('opt_out', 'OPT OUT', 'opt_out'),
  ('opt_out', 'opt out', 'opt_out'),
  ('opt_out', 'Opt Out!', 'opt_out'),
  ('opt_out', 'OPTOUT', 'opt_out'),
  ('opt_out', 'OptOut', 'opt_out'),
  ('opt_out', 'OPT-OUT', 'opt_out'),
  ('opt_out', 'opt-out please', 'opt_out'),
  ('opt_out', 'opt_out', 'opt_out'),
  ('opt_out', 'CANCEL', 'opt_out'),
  ('opt_out', 'cancel', 'opt_out'),
  ('opt_out', 'Cancel.', 'opt_out'),
  ('opt_out', 'Please cancel', 'opt_out'),
  ('opt_out', 'cancel it', 'opt_out'),
  ('opt_out', 'UNSUBSCRIBE', 'opt_out'),
  ('opt_out', 'unsubscribe', 'opt_out'),
  ('opt_out', 'Unsubscribe.', 'opt_out'),
  ('opt_out', 'Unsubscribe me', 'opt_out'),
  ('opt_out', 'unsubscribe me please', 'opt_out'),
  ('opt_out', 'Unsubscribe 👋', 'opt_out');

-- Revocation in so many words, short or inside a longer reply.
insert into tests.corpus (class, body, expected) values
  ('opt_out', 'Please stop texting me', 'opt_out'),
  ('opt_out', 'Remove me from your list', 'opt_out'),
  ('opt_out', 'Don''t text me again', 'opt_out'),
  ('opt_out', 'Don’t text me again', 'opt_out'),
  ('opt_out', 'DONT TEXT ME', 'opt_out'),
  ('opt_out', 'Do NOT text me!!!', 'opt_out'),
  ('opt_out', 'Do not contact me', 'opt_out'),
  ('opt_out', 'Wrong number', 'opt_out'),
  ('opt_out', 'You have the wrong number', 'opt_out'),
  ('opt_out', 'Sorry, wrong person', 'opt_out'),
  ('opt_out', 'No more messages', 'opt_out'),
  ('opt_out', 'No more texts please', 'opt_out'),
  ('opt_out', 'no texting', 'opt_out'),
  ('opt_out', 'Leave me alone', 'opt_out'),
  ('opt_out', 'LEAVE ME ALONE!!', 'opt_out'),
  ('opt_out', 'Take me off your list', 'opt_out'),
  ('opt_out', 'take me off the list', 'opt_out'),
  ('opt_out', 'Stop sending me these', 'opt_out'),
  ('opt_out', 'STOP SENDING ME MESSAGES', 'opt_out'),
  ('opt_out', 'I want to opt out', 'opt_out'),
  ('opt_out', 'Opt me out', 'opt_out'),
  ('opt_out', 'Please remove my number from your list', 'opt_out'),
  ('opt_out', 'Remove me', 'opt_out'),
  ('opt_out', 'Delete my number', 'opt_out'),
  ('opt_out', 'Please erase my info', 'opt_out'),
  ('opt_out', 'Stop texting this number', 'opt_out'),
  ('opt_out', 'Quit messaging me', 'opt_out'),
  ('opt_out', 'Stop contacting me', 'opt_out'),
  ('opt_out', 'Stop calling me', 'opt_out'),
  ('opt_out', 'Stop bothering me', 'opt_out'),
  ('opt_out', 'stop spamming me', 'opt_out'),
  ('opt_out', 'Quit harassing me', 'opt_out'),
  ('opt_out', 'Cease texting me', 'opt_out'),
  ('opt_out', 'Never text me again', 'opt_out'),
  ('opt_out', 'Do not text this number', 'opt_out'),
  ('opt_out', 'Don''t message me anymore', 'opt_out'),
  ('opt_out', 'Stop the texts', 'opt_out'),
  ('opt_out', 'Stop these messages', 'opt_out'),
  ('opt_out', 'Stop your messages now', 'opt_out'),
  ('opt_out', 'Stop with the texts', 'opt_out'),
  ('opt_out', 'I revoke my consent', 'opt_out'),
  ('opt_out', 'I want to unsubscribe', 'opt_out'),
  ('opt_out', 'How do I unsubscribe?', 'opt_out'),
  ('opt_out', 'Lose my number', 'opt_out'),
  ('opt_out', 'This is not my number', 'opt_out'),
  ('opt_out', 'Who is this? Stop texting me', 'opt_out'),
  ('opt_out', 'I never signed up for this, stop texting me', 'opt_out'),
  ('opt_out', 'I''m not selling, please stop contacting me.', 'opt_out'),
  ('opt_out', 'Not interested. Please don''t contact me again.', 'opt_out'),
  ('opt_out', 'I already bought a house, please take me off your list', 'opt_out'),
  ('opt_out', 'I''m not interested, remove me', 'opt_out'),
  ('opt_out', 'Wrong number, I''m not Carla', 'opt_out'),
  ('opt_out', 'Stop. I already found a place.', 'opt_out'),
  ('opt_out', 'Stop!! I''m not selling', 'opt_out'),
  ('opt_out', 'Stop help', 'opt_out'),
  ('opt_out', 'Stop texting me 🙄', 'opt_out'),
  ('opt_out', 'Please stop sending me texts about houses, I rent', 'opt_out');

-- Whoever already opted out and says it again is still opting out.
insert into tests.corpus (class, body, opted_out, expected) values
  ('opt_out', 'STOP', true, 'opt_out'),
  ('opt_out', 'unsubscribe', true, 'opt_out'),
  ('opt_out', 'Leave me alone', true, 'opt_out');

-- Revocations the rules as written miss (see `why`).
insert into tests.corpus (class, body, expected, why) values
  ('opt_out', 'STOP I already bought a house last year', 'opt_out',
   'a leading STOP, then more than six words'),
  ('opt_out', 'Why do you keep texting me? Stop.', 'opt_out',
   'a closing "Stop." after more than six words'),
  ('opt_out', 'I already bought a house last month so STOP', 'opt_out',
   'a shouted STOP after more than six words'),
  ('opt_out', 'Please stop with all these texts, I already bought a home', 'opt_out',
   'words between "stop" and "texts" in a long reply'),
  ('opt_out', 'Don''t text', 'opt_out', '"don''t text" needs " me", " again"… after it'),
  ('opt_out', 'Do not text.', 'opt_out', '"do not text" needs " me", " again"… after it'),
  ('opt_out', 'Do not contact', 'opt_out', '"do not contact" needs " me"… after it'),
  ('opt_out', 'I don''t want these texts', 'opt_out', '"don''t want … texts" is no pattern'),
  ('opt_out', 'I don''t want any more messages', 'opt_out',
   '"any more messages" is not "no more messages"'),
  ('opt_out', 'Cease and desist', 'opt_out', '"cease" only counts before "texting" and the like'),
  ('opt_out', 'Wrong #', 'opt_out', '"#" is dropped, "wrong" alone is no pattern'),
  ('opt_out', 'Remove', 'opt_out', '"remove" alone is not a standard keyword'),
  ('opt_out', 'Please remove', 'opt_out', '"remove" alone is not a standard keyword'),
  ('opt_out', 'Unsub', 'opt_out', 'the common abbreviation of unsubscribe'),
  ('opt_out', 'I already opted out', 'opt_out', '"opted out" is not "opt out"'),
  ('opt_out', 'I unsubscribed weeks ago', 'opt_out', '"unsubscribed" is not "unsubscribe"');

-- What a lead writes that is no opt-out.
insert into tests.corpus (class, body, expected) values
  ('not', 'Can I stop by Saturday?', null),
  ('not', 'When does the open house end?', null),
  ('not', 'Can I cancel my showing?', null),
  ('not', 'Is it still available?', null),
  ('not', 'What''s the price?', null),
  ('not', 'Yes', null),
  ('not', 'Sounds good', null),
  ('not', 'Call me after 5', null),
  ('not', 'I''d like to stop by at 2', null),
  ('not', 'I’d like to stop by at 2', null),
  ('not', 'Can we stop in tomorrow?', null),
  ('not', 'We''ll stop over after work', null),
  ('not', 'Can I stop past on my lunch break?', null),
  ('not', 'OK, I''ll stop by', null),
  ('not', 'Mind if we stop through Sunday?', null),
  ('not', 'Could we stop for a quick look at 3?', null),
  ('not', 'Can I stop by after 5?', null),
  ('not', 'Please stop by at 3', null),
  ('not', 'Love it, stop by at 3?', null),
  ('not', 'Weekend works for me', null),
  ('not', 'Does the open house end at 4?', null),
  ('not', 'What time does it end', null),
  ('not', 'Can we meet at the end of the street?', null),
  ('not', 'Is the end unit still for sale?', null),
  ('not', 'Ended up liking the second one', null),
  ('not', 'I have to cancel, can we do Sunday?', null),
  ('not', 'Need to cancel today, reschedule?', null),
  ('not', 'Did the seller cancel?', null),
  ('not', 'Is the open house cancelled?', null),
  ('not', 'My agent quit, can you help?', null),
  ('not', 'How many bedrooms?', null),
  ('not', 'Is the pool heated?', null),
  ('not', 'What are the HOA fees?', null),
  ('not', 'Is the price firm?', null),
  ('not', 'Can I bring my dog?', null),
  ('not', 'Is it pet friendly?', null),
  ('not', 'Who is this?', null),
  ('not', 'Thanks!', null),
  ('not', 'ok', null),
  ('not', 'Love it 😍', null),
  ('not', 'I''m interested!', null),
  ('not', 'Yes please send details', null),
  ('not', 'Send me the address please', null),
  ('not', 'Can you text me the address?', null),
  ('not', 'Text me when it''s ready', null),
  ('not', 'Do you ever text on weekends?', null),
  ('not', 'Don''t forget to send the address', null),
  ('not', 'No, I''m still looking', null),
  ('not', 'Call me after 5, I''m at work', null),
  ('not', 'I''ll take my chances, send the offer', null),
  ('not', 'Can you help me find a 3 bed?', null),
  ('not', 'More info please', null),
  ('not', 'Start date for the lease?', null);

-- Leads' questions the rules as written read as opt-outs (see `why`).
insert into tests.corpus (class, body, expected, why) values
  ('not', 'Could you take me through the house Saturday?', null,
   '"take me" with no "off" / "from"'),
  ('not', 'Can you drop me a line tomorrow?', null, '"drop me" with no "off" / "from"'),
  ('not', 'No, call me after 5', null, '"no" then "call me" reads as "no call me"'),
  ('not', 'Is it near a bus stop?', null, 'the noun "bus stop" in a short question');

-- Opting back in: START and UNSTOP from anyone, YES / Y only after an opt-out.
insert into tests.corpus (class, body, opted_out, expected) values
  ('opt_in', 'START', false, 'opt_in'),
  ('opt_in', 'start', false, 'opt_in'),
  ('opt_in', 'Start.', false, 'opt_in'),
  ('opt_in', 'Start!!', false, 'opt_in'),
  ('opt_in', 'start please', false, 'opt_in'),
  ('opt_in', E' START \n', false, 'opt_in'),
  ('opt_in', 'UNSTOP', false, 'opt_in'),
  ('opt_in', 'unstop', false, 'opt_in'),
  ('opt_in', 'Unstop!', false, 'opt_in'),
  ('opt_in', 'Unstop please', false, 'opt_in'),
  ('opt_in', 'START', true, 'opt_in'),
  ('opt_in', 'unstop', true, 'opt_in'),
  ('opt_in', 'YES', true, 'opt_in'),
  ('opt_in', 'yes', true, 'opt_in'),
  ('opt_in', 'Y', true, 'opt_in'),
  ('opt_in', 'y', true, 'opt_in'),
  ('opt_in', 'Yes!', true, 'opt_in'),
  ('opt_in', 'yes please', true, 'opt_in'),
  ('opt_in', 'Yes 👍', true, 'opt_in'),
  ('opt_in', 'YES', false, null),
  ('opt_in', 'Y', false, null),
  ('opt_in', 'yes please', false, null),
  ('opt_in', 'Yes', null, null);

-- HELP and INFO.
insert into tests.corpus (class, body, opted_out, expected) values
  ('help', 'HELP', false, 'help'),
  ('help', 'help', false, 'help'),
  ('help', 'Help!', false, 'help'),
  ('help', 'help please', false, 'help'),
  ('help', 'HELP??', false, 'help'),
  ('help', E' help\n', false, 'help'),
  ('help', 'Help me', false, 'help'),
  ('help', 'Help 🙏', false, 'help'),
  ('help', 'INFO', false, 'help'),
  ('help', 'info', false, 'help'),
  ('help', 'Info.', false, 'help'),
  ('help', 'INFO?', false, 'help'),
  ('help', 'info please', false, 'help'),
  ('help', 'HELP', true, 'help');

-- The organization's own keywords: alone, inside a short reply, never a long one.
insert into tests.corpus (class, body, org_keywords, opted_out, expected) values
  ('custom', 'remove', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'REMOVE', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'Remove.', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'remove thanks', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'remove this', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'Alto!', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'alto', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'ALTO por favor', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'Alto, gracias', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'remove', '{remove,ALTO}', true, 'opt_out'),
  ('custom', 'STOP', '{remove,ALTO}', false, 'opt_out'),
  ('custom', 'We loved the house in Palo Alto, can we see it again Sunday?', '{remove,ALTO}',
   false, null),
  ('custom', 'Can you remove the dog photos from the listing?', '{remove,ALTO}', false, null),
  ('custom', 'Is it still available?', '{remove,ALTO}', false, null),
  ('custom', 'yes', '{remove,ALTO}', true, 'opt_in'),
  ('custom', 'help', '{remove,ALTO}', false, 'help'),
  ('custom', 'Altogether lovely', '{ALTO}', false, null),
  ('custom', 'No gracias!', '{"no gracias","Basta ya"}', false, 'opt_out'),
  ('custom', 'Basta ya.', '{"no gracias","Basta ya"}', false, 'opt_out'),
  ('custom', 'basta ya por favor', '{"no gracias","Basta ya"}', false, 'opt_out'),
  ('custom', 'BAJA', '{baja}', false, 'opt_out'),
  ('custom', 'do not disturb please', '{Do-Not-Disturb!}', false, 'opt_out'),
  ('custom', 'No thanks!', '{"no thanks"}', false, 'opt_out'),
  ('custom', 'Hi there', '{"","  ","!!"}', false, null),
  ('custom', 'ok', '{"","  ","!!"}', false, null);
insert into tests.corpus (class, body, org_keywords, expected)
select 'custom', 'STOP', null::text[], 'opt_out'
union all select 'custom', 'Hello', null, null;

-- Nothing to read.
insert into tests.corpus (class, body, org_keywords, opted_out, expected) values
  ('edge', '', '{}', false, null),
  ('edge', null, '{}', false, null),
  ('edge', '', '{}', true, null),
  ('edge', null, '{remove}', true, null),
  ('edge', '   ', '{}', false, null),
  ('edge', E'\n\t\r\n', '{}', false, null),
  ('edge', '!!!', '{}', false, null),
  ('edge', '...', '{}', false, null),
  ('edge', '?', '{}', false, null),
  ('edge', '-- --', '{}', false, null),
  ('edge', '""', '{}', false, null),
  ('edge', '👍', '{}', false, null),
  ('edge', '👍👍', '{}', false, null),
  ('edge', '😀🎉', '{}', false, null),
  ('edge', '❤️', '{}', true, null),
  ('edge', 's t o p', '{}', false, null),
  ('edge', 'S.T.O.P.', '{}', false, null);

-- ---------------------------------------------------------------------------
-- The corpus, read
-- ---------------------------------------------------------------------------
select results_eq(
  $$ select class, count(*)::integer from tests.corpus group by class order by class $$,
  $$ values ('custom', 27), ('edge', 17), ('help', 14), ('not', 57), ('opt_in', 23),
            ('opt_out', 139) $$,
  'the corpus: phrasings per class');
select cmp_ok((select count(*)::integer from tests.corpus), '>=', 150,
  'the corpus holds at least 150 phrasings');

select is_empty($$ select * from tests.misread('opt_out') $$,
  'every standard keyword and revocation phrase is an opt-out');
select is_empty($$ select * from tests.misread('not') $$,
  'no lead''s question or answer is an opt-out');
select is_empty($$ select * from tests.misread('opt_in') $$,
  'START and UNSTOP opt in; YES and Y only after an opt-out');
select is_empty($$ select * from tests.misread('help') $$, 'HELP and INFO ask for help');
select is_empty($$ select * from tests.misread('custom') $$,
  'an organization''s keywords opt out alone or in a short reply, never in a long one');
select is_empty($$ select * from tests.misread('edge') $$,
  'an empty, blank, punctuation- or emoji-only reply means nothing');
select is_empty($$ select * from tests.misread(suspects => true) $$,
  'the phrasings the rules'' wording misses are read as their writer meant');

select is(private.reply_intent('STOP', '{}', false), 'opt_out',
  'the engine reads STOP as an opt-out (sanity)');
select is(private.reply_intent('Can I stop by Saturday?', '{}', false), null,
  'the engine reads "Can I stop by Saturday?" as nothing (sanity)');

-- ---------------------------------------------------------------------------
-- normalize_reply and the standard keywords
-- ---------------------------------------------------------------------------
select is(private.normalize_reply(E'  Don’t TEXT me!!!\n'), 'dont text me',
  'normalize_reply: lower case, smart apostrophe dropped, punctuation and spaces trimmed');
select is(private.normalize_reply('I''d `rather` notʼ ‘stop´'), 'id rather not stop',
  'normalize_reply: every kind of apostrophe dropped');
select is(private.normalize_reply(E'Opt-Out\t\t--  please 🛑'), 'opt out please',
  'normalize_reply: any run of non-letters is one space');
select is(private.normalize_reply(null), '', 'normalize_reply: null is empty');
select is(private.normalize_reply(E' \n👍!! '), '', 'normalize_reply: only symbols is empty');
select is(private.normalize_reply('Call me at 5PM'), 'call me at 5pm',
  'normalize_reply: digits are kept');

select ok(private.standard_opt_out_keywords() @> array['stop', 'quit', 'end', 'revoke',
    'opt out', 'cancel', 'unsubscribe', 'stopall', 'stop all', 'optout'],
  'the standard keywords hold the FCC''s and CTIA''s / Twilio''s');
select is_empty(
  $$ select k from unnest(private.standard_opt_out_keywords()) k
     where k is distinct from private.normalize_reply(k) $$,
  'the standard keywords are stored normalised');

-- ---------------------------------------------------------------------------
-- keyword_reply: the words we answer with
-- ---------------------------------------------------------------------------

-- Acme's organization row, renamed, with some settings changed.
create function tests.org(changes jsonb default '{}') returns public.organizations
language sql stable as $$
  select jsonb_populate_record(null::public.organizations,
    to_jsonb(o) || '{"name": "Oak & Pine Realty", "help_text": null}'::jsonb || changes)
  from public.organizations o where o.slug = 'acme'
$$;

select is_empty(
  $$ select i from unnest(array['opt_out', 'opt_in', 'help']) i
     where private.keyword_reply(tests.org(), i) not like 'Oak & Pine Realty: %' $$,
  'every answer starts with the organization''s name');
select matches(private.keyword_reply(tests.org(), 'opt_out'), '\mReply START\M',
  'the opt-out confirmation says how to opt back in (START)');
select doesnt_imatch(private.keyword_reply(tests.org(), 'opt_out'),
  '(https?:|www\.|\.com|\$|[0-9]|%|open house|listing|offer|sale|deal|free|discount|call|visit|help)',
  'the opt-out confirmation sells nothing: no link, price, listing or invitation');
select is((select s.segments from private.sms_segments(
    private.keyword_reply(tests.org(), 'opt_out')) s), 1,
  'the opt-out confirmation fits one segment');
select is(private.keyword_reply(tests.org('{"help_text": "We are open 9-5."}'), 'opt_out'),
  private.keyword_reply(tests.org(), 'opt_out'),
  'the opt-out confirmation ignores the help text');
select matches(private.keyword_reply(tests.org(), 'opt_in'), '\mReply STOP\M',
  'the opt-in confirmation says how to opt out (STOP)');
select ok(private.keyword_reply(tests.org(), 'help') ~ '\mSTOP\M'
    and private.keyword_reply(tests.org(), 'help') ~ '\mSTART\M',
  'the default help names STOP and START');
select is(private.keyword_reply(tests.org(
    '{"help_text": "  Oak & Pine Realty: call Dana at 555-0100. Reply STOP to opt out.  "}'),
    'help'),
  'Oak & Pine Realty: call Dana at 555-0100. Reply STOP to opt out.',
  'a custom help_text is the help answer, trimmed');
select is(private.keyword_reply(tests.org(), null), null, 'no intent, no answer');

select * from finish();
rollback;
