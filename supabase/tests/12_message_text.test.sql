-- =============================================================================
-- Message text: the GSM-7 alphabet and exact segment counts at every boundary, smart
-- encoding, template rendering (variables, fallbacks, custom fields, spintax with its
-- determinism and spread), template problems refused on save, the organization's text
-- settings, message_text as the sender calls it, and the preview RPC for each actor.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(111);
\ir _helpers.sql

-- Segments as one comparable text: (encoding,units,segments,per_segment).
create function tests.seg(body text) returns text
language sql as $$
  select format('(%s,%s,%s,%s)', s.encoding, s.units, s.segments, s.per_segment)
  from private.sms_segments(body) s
$$;

-- A lead as the sender passes it (the row as jsonb).
create function tests.lead(lead_id uuid) returns jsonb
language sql security definer set search_path = '' as $$
  select to_jsonb(l) from public.leads l where l.id = lead_id
$$;

-- Acme's organization row, with some settings changed.
create function tests.acme(changes jsonb default '{}') returns public.organizations
language sql security definer set search_path = '' as $$
  select jsonb_populate_record(null::public.organizations, to_jsonb(o) || changes)
  from public.organizations o where o.slug = 'acme'
$$;
grant execute on all functions in schema tests to authenticated;

-- ---------------------------------------------------------------------------
-- The GSM 03.38 alphabet: the classes sms_segments uses agree with the tables
-- ---------------------------------------------------------------------------
select is(char_length(private.gsm7_basic()), 127,
  'the basic table has 127 characters (128 less ESC)');
select is(
  (select count(distinct c) from regexp_split_to_table(private.gsm7_basic()
                                                        || private.gsm7_extension(), '') c),
  137::bigint, 'basic and extension tables share no character (127 + 10)');
select is(
  (select count(*) from generate_series(1, 65535) c
   cross join lateral private.sms_segments(chr(c)) s
   where c not between 55296 and 57343
     and (s.encoding = 'GSM-7')
         is distinct from (strpos(private.gsm7_basic() || private.gsm7_extension(), chr(c)) > 0)),
  0::bigint, 'every BMP character is GSM-7 exactly when it is in one of the two tables');
select is(
  (select count(*) from generate_series(1, 65535) c
   cross join lateral private.sms_segments(chr(c)) s
   where c not between 55296 and 57343 and s.encoding = 'GSM-7'
     and s.units is distinct from 1 + (strpos(private.gsm7_extension(), chr(c)) > 0)::integer),
  0::bigint, 'basic characters take one septet, extension characters two');
select is(
  (select count(*) from generate_series(1, 65535) c
   cross join lateral private.first_non_gsm7('ab' || chr(c)) f
   where c not between 55296 and 57343
     and f.found_at is distinct from
         case when strpos(private.gsm7_basic() || private.gsm7_extension(), chr(c)) > 0
              then null else 3 end),
  0::bigint, 'first_non_gsm7 finds exactly the characters outside the tables');

-- ---------------------------------------------------------------------------
-- Segment counts at every boundary
-- ---------------------------------------------------------------------------
select is(tests.seg(''), '(GSM-7,0,0,160)', 'an empty body is 0 segments');
select is((private.sms_segments(null)).segments, null, 'a null body has no count');
select is(tests.seg('a'), '(GSM-7,1,1,160)', 'one character, one segment');
select is(tests.seg(repeat('a', 160)), '(GSM-7,160,1,160)', '160 GSM characters: 1 segment');
select is(tests.seg(repeat('a', 161)), '(GSM-7,161,2,153)', '161 GSM characters: 2 x 153');
select is(tests.seg(repeat('a', 306)), '(GSM-7,306,2,153)', '306 GSM characters: 2 segments');
select is(tests.seg(repeat('a', 307)), '(GSM-7,307,3,153)', '307 GSM characters: 3 segments');
select is(tests.seg(repeat('a', 1530)), '(GSM-7,1530,10,153)', '1530 GSM characters: 10');
select is(tests.seg('€'), '(GSM-7,2,1,160)', '€ counts 2 septets');
select is(tests.seg('^'), '(GSM-7,2,1,160)', '^ counts 2 septets');
select is(tests.seg('{}\[~]|' || chr(12)), '(GSM-7,16,1,160)',
  'every other extension character (and form feed) counts 2');
select is(tests.seg(repeat('a', 158) || '€'), '(GSM-7,160,1,160)',
  '158 characters and a € fill one segment exactly');
select is(tests.seg(repeat('a', 159) || '€'), '(GSM-7,161,2,153)',
  '159 characters and a € need two');
select is(tests.seg(repeat('a', 152) || '€' || repeat('a', 152)), '(GSM-7,306,3,153)',
  'a € at septets 153-154 moves to the next segment: 306 septets take 3 segments');
select is(tests.seg(repeat('a', 153) || '€' || repeat('a', 151)), '(GSM-7,306,2,153)',
  'a € just after a boundary: 306 septets fit in 2');
select is(tests.seg(E'line one\r\nline two'), '(GSM-7,18,1,160)',
  'line feed and carriage return are GSM-7, one septet each');
select is(tests.seg('ç'), '(UCS-2,1,1,70)', 'ç (not the GSM Ç) makes the message UCS-2');
select is(tests.seg(repeat('ж', 70)), '(UCS-2,70,1,70)', '70 UCS-2 characters: 1 segment');
select is(tests.seg(repeat('ж', 71)), '(UCS-2,71,2,67)', '71 UCS-2 characters: 2 x 67');
select is(tests.seg(repeat('ж', 134)), '(UCS-2,134,2,67)', '134 UCS-2 characters: 2');
select is(tests.seg(repeat('ж', 135)), '(UCS-2,135,3,67)', '135 UCS-2 characters: 3');
select is(tests.seg(repeat('😀', 35)), '(UCS-2,70,1,70)', '35 emoji are 70 code units: 1');
select is(tests.seg(repeat('😀', 36)), '(UCS-2,72,2,67)',
  '36 emoji: 33 per segment (a pair never splits), 2 segments');
select is(tests.seg(repeat('ж', 66) || '😀' || repeat('ж', 66)), '(UCS-2,134,3,67)',
  'an emoji at units 67-68 moves to the next segment: 134 units take 3');
select is(tests.seg(repeat('ж', 65) || '😀' || repeat('ж', 67)), '(UCS-2,134,2,67)',
  'an emoji ending exactly at a boundary: 134 units fit in 2');
select is(tests.seg(repeat('a', 100) || '€ ç'), '(UCS-2,103,2,67)',
  'in UCS-2 € is one code unit like any BMP character');

-- ---------------------------------------------------------------------------
-- Smart encoding: the table
-- ---------------------------------------------------------------------------
select is(private.smart_encode('‘’‚‛′ʼ`´'), repeat('''', 8), 'single quotes, primes → ''');
select is(private.smart_encode('“”„‟″«»'), repeat('"', 7), 'double quotes, guillemets → "');
select is(private.smart_encode('‐‑‒–—―−⁃•‣∙'), repeat('-', 11),
  'hyphens, dashes, minus and bullets → -');
select is(private.smart_encode('‹›ˆ˜⁄∕'), '<>^~//', 'angle quotes, circumflex, tilde, slashes');
select is(private.smart_encode(chr(9) || chr(160) || chr(8192) || chr(8193) || chr(8194)
    || chr(8195) || chr(8196) || chr(8197) || chr(8198) || chr(8199) || chr(8200)
    || chr(8201) || chr(8202) || chr(8239) || chr(8287) || chr(12288)),
  repeat(' ', 16), 'tab, no-break and the other Unicode spaces → space');
select is(private.smart_encode('a' || chr(8232) || 'b' || chr(8233) || 'c'), E'a\nb\nc',
  'line and paragraph separators → line feed');
select is(private.smart_encode('a' || chr(8203) || chr(8288) || chr(65279) || chr(173) || 'b'),
  'ab', 'zero-width space, word joiner, BOM and soft hyphen are dropped');
select is(private.smart_encode('Wait…'), 'Wait...', 'ellipsis → ...');
select is(private.smart_encode('“Hi” — it’s… here • now'), '"Hi" - it''s... here - now',
  'a typical pasted sentence');
select is(private.smart_encode('Café ç ж 😀 👨‍👩‍👧 ©'), 'Café ç ж 😀 👨‍👩‍👧 ©',
  'letters outside GSM-7, emoji (joiners included) and symbols are left alone');
select is(tests.seg(private.smart_encode('‘’‚‛′ʼ`´“”„‟″«»‐‑‒–—―−⁃•‣∙‹›ˆ˜⁄∕…' || chr(160)
    || chr(8232) || chr(8203))) ~ '^\(GSM-7,', true,
  'everything the table replaces ends up GSM-7');

-- ---------------------------------------------------------------------------
-- Rendering: variables, fallbacks, custom fields
-- ---------------------------------------------------------------------------
select is(private.render_template(
    '{{first_name}} {{last_name}} / {{full_name}} / {{city}}, {{state}} {{zip}}',
    tests.lead('a2000000-0000-4000-8000-000000000001'), 1),
  'Alice Able / Alice Able / San Francisco, CA 94105', 'every lead field renders');
select is(private.render_template('Hi {{first_name|there}}!', '{"first_name": null}', 1),
  'Hi there!', 'a null value takes the fallback');
select is(private.render_template('Hi {{first_name|there}}!', '{"first_name": "  "}', 1),
  'Hi there!', 'a blank value takes the fallback');
select is(private.render_template('Hi {{first_name|there}}!', '{"first_name": " Bo "}', 1),
  'Hi Bo!', 'values are trimmed');
select is(private.render_template('Hi {{ FIRST_Name }} {{  First_name | friend  }}.',
    '{"first_name": "Ann"}', 1),
  'Hi Ann Ann.', 'names are case-insensitive and blanks inside the braces are ignored');
select is(private.render_template('Hi {{ first_name | dear friend }}.', '{}', 1),
  'Hi dear friend.', 'fallbacks are trimmed and may hold spaces');
select is(private.render_template('{{full_name|you}} {{full_name}}', '{"last_name": "Lee"}', 1),
  'Lee Lee', 'full_name is what there is of first and last name');
select is(private.render_template('Budget {{custom.budget}}, {{custom.Pre Approved}}',
    '{"custom_fields": {"Budget": 500000, "pre approved": true}}', 1),
  'Budget 500000, true', 'custom fields by key, case-insensitive, numbers and booleans');
select is(private.render_template('{{custom.color}}',
    '{"custom_fields": {"Color": "red", "color": "blue"}}', 1),
  'blue', 'the exact key wins over a case-insensitive match');
select is(private.render_template('{{custom.pets|no pets}} {{custom.rooms|?}}',
    '{"custom_fields": {"pets": ["cat"], "rooms": {"n": 3}}}', 1),
  'no pets ?', 'arrays and objects have no text value: the fallback is used');
select is(private.render_template('Hi {{first_nme}}!{{bogus|x}} {{custom.none}}.',
    '{"first_name": "Ann"}', 1),
  'Hi !x .', 'unknown or missing variables render as their fallback or nothing, never {{…}}');
select is((private.render_template_parts('{{first_nme}} {{custom.none}} {{city|y}} {{ZIP}}',
    '{}', 1)).missing,
  '{first_nme,custom.none,zip}', 'render_template_parts lists the variables with no value');
select is(private.render_template('Hi {{first_name}}, {{city}}',
    '{"first_name": "{A|B}", "city": "{{zip}}"}', 1),
  'Hi {A|B}, {{zip}}', 'values are inserted as they are, never read as template syntax');
select is(private.render_template('Just text, no braces', '{}', 7), 'Just text, no braces',
  'a body without braces is returned as it is');
select is(private.render_template(null, '{}', 1), null, 'a null body renders as null');

-- ---------------------------------------------------------------------------
-- Rendering: spintax
-- ---------------------------------------------------------------------------
select is(
  (select count(*) from generate_series(1, 200) s
   where private.render_template('{Hi|Hello|Hey} {{first_name}}, {a|b|c|d}', '{"first_name":"A"}', s)
         <> private.render_template('{Hi|Hello|Hey} {{first_name}}, {a|b|c|d}', '{"first_name":"A"}', s)),
  0::bigint, 'the same seed always gives the same text');
select is(
  (select count(distinct private.render_template('{Hi|Hello|Hey} {a|b|c|d}', '{}', s))
   from generate_series(1, 200) s),
  12::bigint, 'different seeds reach every combination of two groups (3 x 4)');
select ok(
  (select bool_and(n between 900 and 1100) and count(*) = 3
   from (select private.render_template('{Hi|Hello|Hey}', '{}', s) t, count(*) n
         from generate_series(1, 3000) s group by 1) x),
  '3 options over 3000 seeds: each within 10% of 1000');
select ok(
  (select bool_and(n between 900 and 1100) and count(*) = 4
   from (select private.render_template('{a|b} {c|d}', '{}', s) t, count(*) n
         from generate_series(1, 4000) s group by 1) x),
  'two groups choose independently: 4 combinations over 4000 seeds, each within 10%');
select is(
  (select array_agg(t order by t) from (
     select distinct private.render_template('{a|{b|c}} {d|}.', '{}', s) t
     from generate_series(1, 300) s) x),
  '{"a .","a d.","b .","b d.","c .","c d."}',
  'nested groups and empty options: only whole options, every one reachable');
select is(
  (select count(*) from generate_series(1, 100) s
   where private.render_template('{Hi {{first_name}}|Hello {{first_name|you}}}', '{"first_name":"Bo"}', s)
         not in ('Hi Bo', 'Hello Bo')),
  0::bigint, 'options may hold variables');
select is(private.render_template('Code {SAVE10} | 50% off } {open', '{}', 1),
  'Code {SAVE10} | 50% off } {open',
  'a group without a bar, a bar outside braces and unbalanced braces stay literal');
select is(private.render_template('{{{first_name}}} {{first_name}', '{"first_name":"Al"}', 1),
  '{Al} {{first_name}', 'triple braces keep one literal pair; a half-closed variable is text');

-- ---------------------------------------------------------------------------
-- Template problems, and variants refused on save
-- ---------------------------------------------------------------------------
select is(private.template_problems(
    '{Hi|Hello} {{ first_name | there }}, {{custom.Budget}} {x|{y|z}} {SAVE10} a|b'),
  '{}'::text[], 'a good body has no problems');
select is(private.template_problems('Hi {{first_nme}}'),
  array['unknown variable {{first_nme}} at position 4: use first_name, last_name, full_name, '
        'city, state, zip or custom.<field>'], 'an unknown variable, with where it is');
select is(private.template_problems('a } b'), '{"unmatched } at position 3"}',
  'an unmatched closing brace');
select is(private.template_problems('{a|b {c|d}'), '{"unclosed { at position 1"}',
  'an unclosed group');
select is(private.template_problems('{{}} {{ | x}} {{custom. }}'),
  array['empty variable {{}} at position 1', 'empty variable {{ | x}} at position 6',
        'custom field without a name {{custom. }} at position 15'],
  'empty variables and nameless custom fields');
select is(private.template_problems('Hi {first_name}'),
  '{"{first_name} at position 4 is sent as written: write {{first_name}} for the variable"}',
  'a variable in single braces');
select is(private.template_problems('{{first_name}'),
  array['{first_name} at position 2 is sent as written: write {{first_name}} for the variable',
        'unclosed { at position 1'],
  'a variable missing a closing brace');

select tests.authenticate_as('manager@acme.test');
select throws_ok(
  $$insert into public.template_variants (org_id, template_id, label, body)
    values (tests.org_id('acme'), 'a4000000-0000-4000-8000-000000000001', 'Typo',
            'Hi {{first_nme}}')$$,
  '22023', 'template_variants.body: unknown variable {{first_nme}} at position 4: use '
           'first_name, last_name, full_name, city, state, zip or custom.<field>',
  'a variant with an unknown variable is refused');
select throws_ok(
  $$update public.template_variants set body = '{Hi|Hello there'
    where id = 'a5000000-0000-4000-8000-000000000001'$$,
  '22023', 'template_variants.body: unclosed { at position 1',
  'an update that leaves a brace open is refused');
select lives_ok(
  $$insert into public.template_variants (org_id, template_id, label, body)
    values (tests.org_id('acme'), 'a4000000-0000-4000-8000-000000000001', 'Good',
            '{Hi|Hey} {{first_name|there}}, {{custom.budget|your budget}} works.')$$,
  'a good variant is saved');
reset role;

-- ---------------------------------------------------------------------------
-- Organization settings
-- ---------------------------------------------------------------------------
select results_eq(
  $$select opt_out_text, smart_encoding, max_segments from public.organizations
    where slug = 'acme'$$,
  $$values ('Reply STOP to opt out.'::text, true, 3::smallint)$$, 'the defaults');

select tests.authenticate_as('admin@acme.test');
update public.organizations
set opt_out_text = 'Text END to stop these messages.', smart_encoding = false, max_segments = 2
where id = tests.org_id('acme');
reset role;
select results_eq(
  $$select opt_out_text, smart_encoding, max_segments from public.organizations
    where slug = 'acme'$$,
  $$values ('Text END to stop these messages.'::text, false, 2::smallint)$$,
  'an admin changes the text settings');

select tests.authenticate_as('manager@acme.test');
update public.organizations set max_segments = 9 where id = tests.org_id('acme');
reset role;
select is((select max_segments from public.organizations where slug = 'acme'), 2::smallint,
  'a campaign manager cannot change them (no row to update)');

select tests.authenticate_as('admin@globex.test');
update public.organizations set max_segments = 9 where id = tests.org_id('acme');
reset role;
select is((select max_segments from public.organizations where slug = 'acme'), 2::smallint,
  'another organization''s admin cannot change them');

select tests.authenticate_as('admin@acme.test');
select throws_ok(
  $$update public.organizations set max_segments = 11 where id = tests.org_id('acme')$$,
  '23514', null, 'max_segments is at most 10');
select throws_ok(
  $$update public.organizations set max_segments = 0 where id = tests.org_id('acme')$$,
  '23514', null, 'max_segments is at least 1');
select throws_ok(
  $$update public.organizations set opt_out_text = 'Thanks for reading!'
    where id = tests.org_id('acme')$$,
  '23514', null, 'the opt-out text must name an opt-out keyword');
select throws_ok(
  $$update public.organizations set opt_out_text = '   ' where id = tests.org_id('acme')$$,
  '23514', null, 'the opt-out text cannot be blank');
select throws_ok(
  $$update public.organizations set opt_out_text = 'STOP ' || repeat('x', 160)
    where id = tests.org_id('acme')$$,
  '23514', null, 'the opt-out text is at most 160 characters');
select lives_ok(
  $$update public.organizations set opt_out_text = 'Reply STOP to opt out.', smart_encoding = true,
      max_segments = 3 where id = tests.org_id('acme')$$,
  'the admin puts the defaults back');
reset role;

-- ---------------------------------------------------------------------------
-- message_text: what the sender sends
-- ---------------------------------------------------------------------------
select is((private.message_text('Hi {{first_name}}!', '{"first_name":"Al"}', 1, tests.acme(), true)).body,
  E'Hi Al!\nReply STOP to opt out.', 'a first message gets the opt-out text on its own line');
select is((private.message_text('Hi {{first_name}}!', '{"first_name":"Al"}', 1, tests.acme(), false)).body,
  'Hi Al!', 'later messages do not');
select is((private.message_text('Hi! reply stop to opt out.', '{}', 1, tests.acme(), true)).body,
  'Hi! reply stop to opt out.', 'a body that already says it does not get it twice');
select is((private.message_text('  Hi {| }  ', '{}', 1, tests.acme(), true)).body,
  E'Hi\nReply STOP to opt out.', 'the rendered text is trimmed before the opt-out line');
select is((private.message_text('{{custom.x}}', '{}', 1, tests.acme(), true)).body,
  'Reply STOP to opt out.', 'an empty render is the opt-out text alone');
select results_eq(
  $$select body, encoding, units, segments, per_segment, missing
    from private.message_text('“Deal” — {{first_name}}…', '{"first_name":"Al"}', 1,
                              tests.acme(), false)$$,
  $$values ('"Deal" - Al...'::text, 'GSM-7'::text, 14, 1, 160, '{}'::text[])$$,
  'smart encoding keeps a pasted message GSM-7');
select results_eq(
  $$select body, encoding, units, segments
    from private.message_text('“Deal” — {{first_name}}…', '{"first_name":"Al"}', 1,
                              tests.acme('{"smart_encoding": false}'), false)$$,
  $$values ('“Deal” — Al…'::text, 'UCS-2'::text, 12, 1)$$,
  'without smart encoding the same message is UCS-2');
select is((private.message_text('Hi', '{}', 1, tests.acme('{"opt_out_text": "Txt END to quit"}'),
                                true)).body,
  E'Hi\nTxt END to quit', 'the organization''s own opt-out text');
select results_eq(
  $$select segments, missing
    from private.message_text(repeat('x', 150) || ' {{first_name}}', '{}', 1, tests.acme(), true)$$,
  $$values (2, '{first_name}'::text[])$$,
  'segments count the opt-out line; missing variables are reported');

-- ---------------------------------------------------------------------------
-- preview_template: any member of the variant's organization
-- ---------------------------------------------------------------------------
-- Bodies the warnings need (inserted as the owner; the last one bypasses the body check,
-- as a variant saved before this migration would).
insert into public.template_variants (id, org_id, template_id, label, body) values
  ('a5000000-0000-4000-8000-0000000000f1', tests.org_id('acme'),
   'a4000000-0000-4000-8000-000000000001', 'Unicode', 'Voilà, ça marche {{first_name}}'),
  ('a5000000-0000-4000-8000-0000000000f2', tests.org_id('acme'),
   'a4000000-0000-4000-8000-000000000001', 'Long', repeat('Long text. ', 45)),
  ('a5000000-0000-4000-8000-0000000000f3', tests.org_id('acme'),
   'a4000000-0000-4000-8000-000000000001', 'Custom', '{{custom.budget}}');
alter table public.template_variants disable trigger template_variants_check_body;
insert into public.template_variants (id, org_id, template_id, label, body) values
  ('a5000000-0000-4000-8000-0000000000f4', tests.org_id('acme'),
   'a4000000-0000-4000-8000-000000000001', 'Legacy', 'Hi {{firstname|there}}');
alter table public.template_variants enable trigger template_variants_check_body;

select tests.authenticate_as('manager@acme.test');
select ok(
  public.preview_template('a5000000-0000-4000-8000-000000000001') ->> 'text'
    ~ E'^(Hi|Hello) Alex, Acme Realty here: open house Saturday 1-4pm at 12 Oak St\\. Want the details\\?\nReply STOP to opt out\\.$',
  'a manager previews with the sample lead (Alex) and the opt-out line');
select is(
  public.preview_template('a5000000-0000-4000-8000-000000000001') - 'text',
  '{"encoding": "GSM-7", "segments": 1, "units": 110, "per_segment": 160, "warnings": []}'::jsonb,
  'encoding, segments, units and no warnings');
select is(
  public.preview_template('a5000000-0000-4000-8000-000000000002',
                          'a2000000-0000-4000-8000-000000000002', false) ->> 'text',
  'Hi Bob, it''s Acme Realty. A home in New York opens Saturday 1-4pm. Interested?',
  'with a lead and not a first message: the lead''s values and no opt-out line');
select is(
  (select count(distinct public.preview_template('a5000000-0000-4000-8000-000000000001',
                                                 null, false, s) ->> 'text')
   from generate_series(1, 40) s),
  2::bigint, 'the seed picks the spintax option');
select throws_ok(
  $$select public.preview_template('a5000000-0000-4000-8000-000000000001',
                                   'b2000000-0000-4000-8000-000000000001')$$,
  'PT404', 'no lead b2000000-0000-4000-8000-000000000001 in the organization of template '
           'variant a5000000-0000-4000-8000-000000000001',
  'a lead of another organization is not found');

select is(
  public.preview_template('a5000000-0000-4000-8000-0000000000f1', null, false) -> 'warnings',
  jsonb_build_array(jsonb_build_object(
    'code', 'ucs2', 'character', 'ç', 'position', 8,
    'message', 'ç (U+00E7) at position 8 is not in the GSM-7 alphabet: the message is sent as '
               'UCS-2, 70 characters per segment instead of 160')),
  'a UCS-2 warning names the first offending character and its position');
select is(
  public.preview_template('a5000000-0000-4000-8000-0000000000f2') -> 'warnings',
  jsonb_build_array(jsonb_build_object(
    'code', 'too_many_segments', 'segments', 4, 'max_segments', 3,
    'message', 'the message is 4 segments; the organization sends at most 3')),
  'a warning when the message is longer than the organization''s max_segments');
select is(
  public.preview_template('a5000000-0000-4000-8000-0000000000f3', null, false) -> 'warnings',
  jsonb_build_array(
    jsonb_build_object('code', 'missing_value', 'variable', 'custom.budget',
      'message', '{{custom.budget}} has no value for this lead and no fallback: it renders as '
                 'nothing; add one with {{custom.budget|…}}'),
    jsonb_build_object('code', 'empty', 'message', 'the message is empty: there is nothing to send')),
  'warnings for a variable without value or fallback, and for an empty message');
select is(
  public.preview_template('a5000000-0000-4000-8000-0000000000f4', null, false),
  jsonb_build_object('text', 'Hi there', 'encoding', 'GSM-7', 'segments', 1, 'units', 8,
    'per_segment', 160, 'warnings', jsonb_build_array(jsonb_build_object(
      'code', 'template_problem',
      'message', 'unknown variable {{firstname}} at position 4: use first_name, last_name, '
                 'full_name, city, state, zip or custom.<field>'))),
  'a variant saved before the check gets its template problems as warnings');
reset role;

select tests.authenticate_as('viewer@acme.test');
select is(
  public.preview_template('a5000000-0000-4000-8000-000000000002',
                          'a2000000-0000-4000-8000-000000000001') ->> 'text',
  E'Hi Alice, it''s Acme Realty. A home in San Francisco opens Saturday 1-4pm. Interested?\nReply STOP to opt out.',
  'a viewer may preview');
reset role;

select tests.authenticate_as('manager@globex.test');
select throws_ok(
  $$select public.preview_template('a5000000-0000-4000-8000-000000000001')$$,
  'PT404', 'no template variant a5000000-0000-4000-8000-000000000001 in your organizations',
  'another organization''s variant is not found');
select throws_ok(
  $$select public.preview_template('00000000-0000-4000-8000-000000000000')$$,
  'PT404', 'no template variant 00000000-0000-4000-8000-000000000000 in your organizations',
  'an unknown variant is not found');
reset role;

set local role anon;
select throws_ok(
  $$select public.preview_template('a5000000-0000-4000-8000-000000000001')$$,
  '42501', null, 'anon cannot execute preview_template');
reset role;

-- ---------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------
select ok(has_function_privilege('authenticated',
  'public.preview_template(uuid, uuid, boolean, bigint)', 'execute'),
  'authenticated may preview');
select ok(not has_function_privilege('anon',
  'public.preview_template(uuid, uuid, boolean, bigint)', 'execute'),
  'anon may not preview');
select ok(has_function_privilege('sms_system',
  'private.message_text(text, jsonb, bigint, public.organizations, boolean)', 'execute'),
  'the sender may call message_text');
select is(
  (select count(*) from pg_proc p
   where p.pronamespace = 'private'::regnamespace
     and p.proname in ('gsm7_basic', 'gsm7_extension', 'sms_segments', 'first_non_gsm7',
                       'smart_encode', 'sample_lead', 'custom_field_value', 'template_problems',
                       'render_template_parts', 'render_template', 'message_text',
                       'check_template_body')
     and has_function_privilege('public', p.oid, 'execute')),
  0::bigint, 'no message text helper is executable by PUBLIC');

select * from finish();
rollback;
