-- =============================================================================
-- Message text: what a template variant becomes for one lead, and what it costs.
--
-- Template grammar (what template_variants.body holds):
--   {{name}}             a lead's value: first_name, last_name, full_name, city, state, zip;
--   {{custom.key}}       a custom field (leads.custom_fields ->> key). Custom fields are only
--                        reached through `custom.`, so a misspelt name ({{first_nme}}) is an
--                        error the author sees, never a silently empty custom field;
--   {{name|fallback}}    the fallback when the value is missing or blank. Names are
--                        case-insensitive, blanks around names and fallbacks are ignored;
--                        a variable without a value and without a fallback renders as
--                        nothing (never as the literal {{name}});
--   {a|b|c}              spintax: one option, chosen from a seed and the group's ordinal in
--                        the body, so the same seed always gives the same text and seeds
--                        spread evenly. Options may hold variables and nested groups; an
--                        option may be empty ({really |}good).
--   {text}               a brace pair without | is literal text, and so are | outside
--                        braces and unbalanced braces: rendering never fails. Authors meet
--                        those mistakes in private.template_problems, which also refuses
--                        such bodies when a variant is saved.
-- The first message of a conversation gets the organization's opt-out language on a line of
-- its own; organizations may turn on smart encoding (typographic punctuation → GSM-7) so a
-- curly quote does not double the cost of a message; segments are counted exactly as the
-- carriers split them (GSM 03.38 septets or UTF-16 code units, 160/153 or 70/67).
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Organization settings
-- -----------------------------------------------------------------------------

alter table public.organizations
  add column opt_out_text text not null default 'Reply STOP to opt out.'
    constraint organizations_opt_out_text_length
      check (char_length(btrim(opt_out_text)) between 1 and 160)
    constraint organizations_opt_out_text_keyword
      check (opt_out_text ~* '\m(stop|end|quit|cancel|unsubscribe|revoke|opt[ -]?out)\M'),
  add column smart_encoding boolean not null default true,
  add column max_segments smallint not null default 3
    constraint organizations_max_segments_range check (max_segments between 1 and 10);
comment on column public.organizations.opt_out_text is
  'Appended on its own line to the first message a lead receives; must name an opt-out
   keyword (STOP, END, QUIT, CANCEL, UNSUBSCRIBE, REVOKE, OPT OUT).';
comment on column public.organizations.smart_encoding is
  'Replace typographic punctuation with GSM-7 equivalents before sending (see
   private.smart_encode), so a curly quote does not turn a message into UCS-2.';
comment on column public.organizations.max_segments is
  'Longest message, in segments, the organization is willing to send (1-10).';

-- Admins change them (organizations_update_policy already limits updates to admins).
grant update (opt_out_text, smart_encoding, max_segments) on public.organizations
  to authenticated;

-- -----------------------------------------------------------------------------
-- Helpers: the GSM-7 alphabet and segment counting
-- -----------------------------------------------------------------------------

create function private.gsm7_basic() returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select '@£$¥èéùìòÇ' || chr(10) || 'Øø' || chr(13) || 'ÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ'
    || ' !"#¤%&''()*+,-./0123456789:;<=>?'
    || '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'
$$;
comment on function private.gsm7_basic() is
  'The 127 characters of the GSM 03.38 default alphabet (one septet each; ESC excluded).';

create function private.gsm7_extension() returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select chr(12) || '^{}\[~]|€'
$$;
comment on function private.gsm7_extension() is
  'The GSM 03.38 extension table characters (form feed ^ { } \ [ ~ ] | €): ESC + char, two
   septets each.';

create function private.sms_segments(
  body text,
  out encoding text,
  out units integer,
  out segments integer,
  out per_segment integer
)
language plpgsql
immutable
strict
parallel safe
set search_path = ''
as $$
declare
  chars integer := char_length(body);
  -- characters that take two units: extension characters (GSM-7) or characters outside
  -- the Basic Multilingual Plane, a UTF-16 surrogate pair (UCS-2)
  doubles integer := 0;
  single_limit integer;
  used integer := 0;
  size integer;
  ch text;
begin
  -- The classes below spell out private.gsm7_basic() and private.gsm7_extension() (a regular
  -- expression is ten times faster than translate over 137 characters); the tests check
  -- them against those functions over the whole Basic Multilingual Plane.
  if body !~ '[^@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&''()*+,\-./0-9:;<=>?'
               '¡A-ZÄÖÑÜ§¿a-zäöñüà\f^{}\\\[~\]|€]' then
    encoding := 'GSM-7';
    single_limit := 160;
    per_segment := 153;
    if body ~ '[\f^{}\\\[~\]|€]' then
      doubles := chars - char_length(regexp_replace(body, '[\f^{}\\\[~\]|€]', '', 'g'));
    end if;
  else
    encoding := 'UCS-2';
    single_limit := 70;
    per_segment := 67;
    if body ~ '[\U00010000-\U0010FFFF]' then
      doubles := chars - char_length(regexp_replace(body, '[\U00010000-\U0010FFFF]', '', 'g'));
    end if;
  end if;
  units := chars + doubles;
  if units <= single_limit then
    -- An empty body is 0 segments: there is nothing to send.
    segments := case when units = 0 then 0 else 1 end;
    per_segment := single_limit;
    return;
  end if;
  if doubles = 0 then
    segments := (units + per_segment - 1) / per_segment;
    return;
  end if;
  -- Multipart with two-unit characters: an ESC pair or a surrogate pair never straddles
  -- two segments, so pack greedily and count.
  segments := 1;
  foreach ch in array string_to_array(body, null) loop
    size := case
      when encoding = 'GSM-7' and ch ~ '[\f^{}\\\[~\]|€]' then 2
      when encoding = 'UCS-2' and ascii(ch) > 65535 then 2
      else 1
    end;
    if used + size > per_segment then
      segments := segments + 1;
      used := size;
    else
      used := used + size;
    end if;
  end loop;
end;
$$;
comment on function private.sms_segments(text) is
  'Encoding (GSM-7 or UCS-2), units (septets or UTF-16 code units), segments and units per
   segment of a message body, packed exactly as carriers split it; empty body: 0 segments.';

create function private.first_non_gsm7(body text, out found_char text, out found_at integer)
language plpgsql
immutable
strict
parallel safe
set search_path = ''
as $$
begin
  found_char := substring(body from
    '[^@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&''()*+,\-./0-9:;<=>?'
    '¡A-ZÄÖÑÜ§¿a-zäöñüà\f^{}\\\[~\]|€]');
  if found_char is not null then
    found_at := strpos(body, found_char);
  end if;
end;
$$;
comment on function private.first_non_gsm7(text) is
  'The first character of body outside the GSM-7 alphabet and its 1-based position (null
   when the body is GSM-7): what turns a message into UCS-2.';

-- -----------------------------------------------------------------------------
-- Helpers: smart encoding
-- -----------------------------------------------------------------------------

-- The table (anything not listed is left as it is: emoji, accented letters, other scripts):
--   ' <- ‘ ’ ‚ ‛ ′ ʼ ` ´       (quotes, prime, modifier apostrophe, grave, acute)
--   " <- “ ” „ ‟ ″ « »         (double quotes, double prime, guillemets)
--   - <- ‐ ‑ ‒ – — ― − ⁃ • ‣ ∙ (hyphens, dashes, minus, bullets)
--   < <- ‹    > <- ›    ^ <- ˆ    ~ <- ˜    / <- ⁄ ∕
--   space <- tab, no-break space, the spaces U+2000-U+200A, U+202F, U+205F, U+3000
--   line feed <- line separator U+2028, paragraph separator U+2029
--   nothing <- zero-width space U+200B, word joiner U+2060, BOM U+FEFF, soft hyphen U+00AD
--   ... <- …
create function private.smart_encode(body text) returns text
language sql
immutable
strict
parallel safe
set search_path = ''
as $$
  select case
    -- most bodies have nothing to replace: one scan instead of six
    when body !~ '[‘’‚‛′ʼ`´“”„‟″«»‐‑‒–—―−⁃•‣∙‹›ˆ˜⁄∕…'
                  '\t\u00a0\u2000-\u200b\u202f\u205f\u3000\u2028\u2029\u2060\ufeff\u00ad]'
      then body
    else replace(
      translate(translate(translate(translate(translate(translate(body,
        '‘’‚‛′ʼ`´', ''''''''''''''''''),
        '“”„‟″«»', '"""""""'),
        '‐‑‒–—―−⁃•‣∙', '-----------'),
        '‹›ˆ˜⁄∕', '<>^~//'),
        chr(9) || chr(160) || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196)
          || chr(8197) || chr(8198) || chr(8199) || chr(8200) || chr(8201) || chr(8202)
          || chr(8239) || chr(8287) || chr(12288),
        repeat(' ', 16)),
        chr(8232) || chr(8233) || chr(8203) || chr(8288) || chr(65279) || chr(173),
        chr(10) || chr(10)),
      '…', '...')
  end
$$;
comment on function private.smart_encode(text) is
  'Replaces typographic punctuation and Unicode spaces with their GSM-7 equivalents (the
   table is in the migration); emoji and letters outside GSM-7 are left alone.';

-- -----------------------------------------------------------------------------
-- Helpers: template variables and rendering
-- -----------------------------------------------------------------------------

create function private.sample_lead() returns jsonb
language sql
immutable
parallel safe
set search_path = ''
as $$
  select '{"first_name": "Alex", "last_name": "Sample", "city": "Springfield", "state": "IL",
           "zip": "62701", "custom_fields": {}}'::jsonb
$$;
comment on function private.sample_lead() is
  'The lead a preview renders for when none is given: Alex Sample, Springfield IL 62701, no
   custom fields.';

create function private.custom_field_value(fields jsonb, field text) returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case when jsonb_typeof(v) in ('string', 'number', 'boolean') then v #>> '{}' end
  from (
    select coalesce(
      fields -> field,
      (select e.value from jsonb_each(fields) e
       where lower(e.key) = lower(field) order by e.key limit 1)
    ) as v
  ) x
$$;
comment on function private.custom_field_value(jsonb, text) is
  'A scalar custom field by key (exact key first, then case-insensitively); objects and
   arrays have no text value.';

create function private.template_problems(body text) returns text[]
language plpgsql
immutable
strict
parallel safe
set search_path = ''
as $$
declare
  tokens text[];
  token text;
  token_no integer := 0;
  pos integer := 1;
  problems text[] := '{}'::text[];
  open_pos integer[] := '{}'::integer[];
  open_token integer[] := '{}'::integer[];
  bars integer[] := '{}'::integer[];
  depth integer := 0;
  inner_text text;
  variable text;
  enclosed text;
begin
  tokens := array(
    select m[1] from regexp_matches(body, '\{\{[^{}]*\}\}|[{}|]|[^{}|]+', 'g') as m
  );
  foreach token in array tokens loop
    token_no := token_no + 1;
    if token = '{' then
      depth := depth + 1;
      open_pos[depth] := pos;
      open_token[depth] := token_no;
      bars[depth] := 0;
    elsif token = '|' then
      if depth > 0 then
        bars[depth] := bars[depth] + 1;
      end if;
    elsif token = '}' then
      if depth = 0 then
        problems := problems || format('unmatched } at position %s', pos);
      else
        if bars[depth] = 0 and token_no = open_token[depth] + 2 then
          enclosed := tokens[token_no - 1];
          if lower(btrim(enclosed)) in ('first_name', 'last_name', 'full_name', 'city', 'state',
                                        'zip')
             or lower(btrim(enclosed)) like 'custom.%' then
            problems := problems || format(
              '{%s} at position %s is sent as written: write {{%s}} for the variable',
              enclosed, open_pos[depth], btrim(enclosed));
          end if;
        end if;
        depth := depth - 1;
      end if;
    elsif left(token, 2) = '{{' then
      inner_text := substr(token, 3, char_length(token) - 4);
      variable := btrim(split_part(inner_text, '|', 1), E' \t\r\n');
      if variable = '' then
        problems := problems || format('empty variable %s at position %s', token, pos);
      elsif lower(variable) like 'custom.%' then
        if btrim(substr(variable, 8)) = '' then
          problems := problems || format('custom field without a name %s at position %s',
                                         token, pos);
        end if;
      elsif lower(variable) not in ('first_name', 'last_name', 'full_name', 'city', 'state',
                                    'zip') then
        problems := problems || format(
          'unknown variable {{%s}} at position %s: use first_name, last_name, full_name, city, '
          'state, zip or custom.<field>', variable, pos);
      end if;
    end if;
    pos := pos + char_length(token);
  end loop;
  for i in 1 .. depth loop
    problems := problems || format('unclosed { at position %s', open_pos[i]);
  end loop;
  return problems;
end;
$$;
comment on function private.template_problems(text) is
  'What is wrong with a template body, for its author: unknown or empty variables, unmatched
   or unclosed braces, {variable} written with single braces; empty when none.';

create function private.render_template_parts(
  body text,
  lead jsonb,
  seed bigint,
  out rendered text,
  out missing text[]
)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  tokens text[];
  token text;
  depth integer := 0;
  -- buffers[d + 1]: the option being built at depth d (buffers[1]: the text itself);
  -- starts[d]: where group d's finished options begin in options;
  -- ordinals[d]: group d's ordinal in the body, from 0 (what the choice hashes)
  buffers text[] := array[''];
  starts integer[] := '{}'::integer[];
  ordinals bigint[] := '{}'::bigint[];
  options text[] := '{}'::text[];
  group_count bigint := 0;
  option_count integer;
  choice bigint;
  inner_text text;
  bar integer;
  variable text;
  fallback text;
  value text;
  piece text;
begin
  missing := '{}'::text[];
  if body is null then
    return;
  end if;
  if strpos(body, '{') = 0 then
    rendered := body;
    return;
  end if;
  tokens := array(
    select m[1] from regexp_matches(body, '\{\{[^{}]*\}\}|[{}|]|[^{}|]+', 'g') as m
  );
  foreach token in array tokens loop
    if token = '{' then
      depth := depth + 1;
      buffers[depth + 1] := '';
      starts[depth] := cardinality(options) + 1;
      ordinals[depth] := group_count;
      group_count := group_count + 1;
    elsif token = '|' then
      if depth = 0 then
        buffers[1] := buffers[1] || '|';
      else
        options := options || buffers[depth + 1];
        buffers[depth + 1] := '';
      end if;
    elsif token = '}' then
      if depth = 0 then
        buffers[1] := buffers[1] || '}';
      else
        options := options || buffers[depth + 1];
        option_count := cardinality(options) - starts[depth] + 1;
        if option_count = 1 then
          piece := '{' || options[starts[depth]] || '}';
        else
          -- hashint8extended is portable and stable (hash partitioning relies on it)
          choice := (pg_catalog.hashint8extended(coalesce(seed, 0), ordinals[depth])
                     % option_count + option_count) % option_count;
          piece := options[starts[depth] + choice::integer];
        end if;
        options := options[1:starts[depth] - 1];
        depth := depth - 1;
        buffers[depth + 1] := buffers[depth + 1] || piece;
      end if;
    elsif left(token, 2) = '{{' then
      inner_text := substr(token, 3, char_length(token) - 4);
      bar := strpos(inner_text, '|');
      if bar > 0 then
        variable := btrim(left(inner_text, bar - 1), E' \t\r\n');
        fallback := btrim(substr(inner_text, bar + 1), E' \t\r\n');
      else
        variable := btrim(inner_text, E' \t\r\n');
        fallback := null;
      end if;
      value := nullif(btrim(case lower(variable)
        when 'first_name' then lead ->> 'first_name'
        when 'last_name' then lead ->> 'last_name'
        when 'full_name' then concat_ws(' ', nullif(btrim(lead ->> 'first_name'), ''),
                                        nullif(btrim(lead ->> 'last_name'), ''))
        when 'city' then lead ->> 'city'
        when 'state' then lead ->> 'state'
        when 'zip' then lead ->> 'zip'
        else case when lower(variable) like 'custom.%' then
          private.custom_field_value(lead -> 'custom_fields', btrim(substr(variable, 8)))
        end
      end, E' \t\r\n'), '');
      if value is null then
        if fallback is null then
          missing := missing || lower(variable);
        end if;
        value := coalesce(fallback, '');
      end if;
      buffers[depth + 1] := buffers[depth + 1] || value;
    else
      buffers[depth + 1] := buffers[depth + 1] || token;
    end if;
  end loop;
  -- Unclosed groups stay literal text.
  while depth > 0 loop
    piece := '{' || array_to_string(options[starts[depth]:] || buffers[depth + 1], '|');
    options := options[1:starts[depth] - 1];
    depth := depth - 1;
    buffers[depth + 1] := buffers[depth + 1] || piece;
  end loop;
  rendered := buffers[1];
end;
$$;
comment on function private.render_template_parts(text, jsonb, bigint) is
  'Renders a template body for a lead (its row as jsonb) with spintax chosen by seed, and
   lists the variables that had neither a value nor a fallback (they render as nothing).';

create function private.render_template(body text, lead jsonb, seed bigint) returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select (private.render_template_parts(body, lead, seed)).rendered
$$;
comment on function private.render_template(text, jsonb, bigint) is
  'A template body rendered for a lead (its row as jsonb) with spintax chosen by seed:
   same seed, same text. Grammar in the message_text migration.';

create function private.message_text(
  variant_body text,
  lead jsonb,
  seed bigint,
  org public.organizations,
  first_message boolean,
  out body text,
  out encoding text,
  out units integer,
  out segments integer,
  out per_segment integer,
  out missing text[]
)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  parts record;
  measure record;
begin
  parts := private.render_template_parts(variant_body, lead, seed);
  missing := parts.missing;
  body := btrim(parts.rendered, E' \t\r\n');
  if first_message and strpos(lower(body), lower(btrim(org.opt_out_text))) = 0 then
    body := case when body = '' then btrim(org.opt_out_text)
                 else body || chr(10) || btrim(org.opt_out_text) end;
  end if;
  if org.smart_encoding then
    body := private.smart_encode(body);
  end if;
  measure := private.sms_segments(body);
  encoding := measure.encoding;
  units := measure.units;
  segments := measure.segments;
  per_segment := measure.per_segment;
end;
$$;
comment on function private.message_text(text, jsonb, bigint, public.organizations, boolean) is
  'The text the sender sends: the variant rendered for the lead (seeded spintax), the org''s
   opt-out language on its own line on a first message (unless the text already has it),
   smart-encoded when the org wants it, with its encoding and segments. The caller refuses
   bodies longer than org.max_segments and empty ones.';

-- -----------------------------------------------------------------------------
-- Triggers: a variant is saved only when its body renders as its author meant
-- -----------------------------------------------------------------------------

create function private.check_template_body() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  problems text[] := private.template_problems(new.body);
begin
  if cardinality(problems) > 0 then
    raise exception 'template_variants.body: %', problems[1]
      using errcode = '22023',
        detail = array_to_string(problems, '; '),
        hint = 'Variables are {{first_name}}, {{last_name}}, {{full_name}}, {{city}}, '
               '{{state}}, {{zip}} or {{custom.<field>}}, with an optional |fallback; '
               'spintax is {option|option}.';
  end if;
  return new;
end;
$$;
comment on function private.check_template_body() is
  'Refuses a template variant whose body has template problems (unknown variable, unbalanced
   braces), so the sender never meets one.';

create trigger template_variants_check_body before insert or update of body
  on public.template_variants
  for each row execute function private.check_template_body();

-- -----------------------------------------------------------------------------
-- RPCs
-- -----------------------------------------------------------------------------

create function public.preview_template(
  variant_id uuid,
  lead_id uuid default null,
  first_message boolean default true,
  seed bigint default 0
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  variant public.template_variants;
  org public.organizations;
  lead jsonb;
  msg record;
  offender record;
  warnings jsonb := '[]'::jsonb;
  problem text;
  variable text;
begin
  select * into variant from public.template_variants v where v.id = variant_id;
  if not found then
    raise exception 'no template variant % in your organizations', variant_id
      using errcode = 'PT404';
  end if;
  select * into org from public.organizations o where o.id = variant.org_id;
  if lead_id is null then
    lead := private.sample_lead();
  else
    select to_jsonb(l) into lead from public.leads l
    where l.id = lead_id and l.org_id = variant.org_id;
    if lead is null then
      raise exception 'no lead % in the organization of template variant %', lead_id, variant_id
        using errcode = 'PT404';
    end if;
  end if;

  select * into msg
  from private.message_text(variant.body, lead, seed, org, first_message);

  foreach problem in array private.template_problems(variant.body) loop
    warnings := warnings || jsonb_build_object('code', 'template_problem', 'message', problem);
  end loop;
  foreach variable in array (select array(select distinct unnest(msg.missing::text[]))) loop
    warnings := warnings || jsonb_build_object(
      'code', 'missing_value',
      'variable', variable,
      'message', format('{{%s}} has no value for this lead and no fallback: it renders as '
                        'nothing; add one with {{%s|…}}', variable, variable));
  end loop;
  if msg.segments::integer = 0 then
    warnings := warnings || jsonb_build_object('code', 'empty', 'message',
      'the message is empty: there is nothing to send');
  end if;
  if msg.encoding::text = 'UCS-2' then
    select * into offender from private.first_non_gsm7(msg.body::text);
    warnings := warnings || jsonb_build_object(
      'code', 'ucs2',
      'character', offender.found_char::text,
      'position', offender.found_at::integer,
      'message', format('%s (U+%s) at position %s is not in the GSM-7 alphabet: the message '
                        'is sent as UCS-2, 70 characters per segment instead of 160',
                        offender.found_char::text,
                        upper(lpad(to_hex(ascii(offender.found_char::text)), 4, '0')),
                        offender.found_at::integer));
  end if;
  if msg.segments::integer > org.max_segments then
    warnings := warnings || jsonb_build_object(
      'code', 'too_many_segments',
      'segments', msg.segments::integer,
      'max_segments', org.max_segments,
      'message', format('the message is %s segments; the organization sends at most %s',
                        msg.segments::integer, org.max_segments));
  end if;

  return jsonb_build_object(
    'text', msg.body::text,
    'encoding', msg.encoding::text,
    'segments', msg.segments::integer,
    'units', msg.units::integer,
    'per_segment', msg.per_segment::integer,
    'warnings', warnings
  );
end;
$$;
comment on function public.preview_template(uuid, uuid, boolean, bigint) is
  'The text a variant renders for a lead (or a sample lead) with its encoding, segments and
   warnings for its author; any member may preview, RLS decides what the caller sees.';

-- -----------------------------------------------------------------------------
-- Grants: the helpers run for the sender (sms_system) and inside previews (authenticated)
-- -----------------------------------------------------------------------------

revoke all on function private.gsm7_basic() from public;
revoke all on function private.gsm7_extension() from public;
revoke all on function private.sms_segments(text) from public;
revoke all on function private.first_non_gsm7(text) from public;
revoke all on function private.smart_encode(text) from public;
revoke all on function private.sample_lead() from public;
revoke all on function private.custom_field_value(jsonb, text) from public;
revoke all on function private.template_problems(text) from public;
revoke all on function private.render_template_parts(text, jsonb, bigint) from public;
revoke all on function private.render_template(text, jsonb, bigint) from public;
revoke all on function
  private.message_text(text, jsonb, bigint, public.organizations, boolean) from public;
revoke all on function private.check_template_body() from public;
revoke all on function public.preview_template(uuid, uuid, boolean, bigint) from public, anon;

grant execute on function
  private.gsm7_basic(),
  private.gsm7_extension(),
  private.sms_segments(text),
  private.first_non_gsm7(text),
  private.smart_encode(text),
  private.sample_lead(),
  private.custom_field_value(jsonb, text),
  private.template_problems(text),
  private.render_template_parts(text, jsonb, bigint),
  private.render_template(text, jsonb, bigint),
  private.message_text(text, jsonb, bigint, public.organizations, boolean)
  to authenticated, service_role, sms_system;
grant execute on function public.preview_template(uuid, uuid, boolean, bigint)
  to authenticated;
