-- =============================================================================
-- Phone parsing without raising: the set-based import validates a whole file at once
-- and reports each bad number with its row, so the rules of normalize_phone move into
-- parse_phone (phone or problem), and normalize_phone raises what parse_phone finds.
-- One set of rules for the triggers, the import and the preview.
-- =============================================================================

create function private.parse_phone(
  raw text,
  default_country text default 'US',
  any_country boolean default false,
  out phone text,
  out problem text
)
language plpgsql
stable
parallel safe
set search_path = ''
as $$
declare
  value text;
  digits text;
  home_code text;
  number_code text;
begin
  if raw is null then
    return;
  end if;
  -- The organization's calling code; the United States' is known without a lookup.
  home_code := case when upper(default_country) = 'US' then '1' else coalesce(
    (select c.calling_code from private.country_calling_codes c
     where c.country = upper(default_country)),
    '1') end;
  -- Fast path, no rewriting: a North American number as imports and Twilio write it
  -- (+14155550123) or as lists usually do ((415) 555-0123, 415.555.0123, 1-415-555-0123).
  if home_code = '1' or any_country then
    if raw ~ '^\+1[2-9][0-9]{2}[2-9][0-9]{6}$' then
      digits := substr(raw, 3);
    elsif raw ~ '^ *(\+?1[ .-]?)?\(?[2-9][0-9]{2}\)?[ .-]?[2-9][0-9]{2}[ .-]?[0-9]{4} *$'
      and home_code = '1' then
      digits := right(regexp_replace(raw, '[^0-9]', '', 'g'), 10);
    end if;
    if digits is not null then
      problem := private.nanp_problem(digits);
      if problem is null then
        phone := '+1' || digits;
      end if;
      return;
    end if;
  end if;

  -- What pasting from spreadsheets and phones brings along: full-width digits and signs,
  -- Unicode dashes, no-break spaces, tabs and line breaks.
  value := translate(raw,
    '０１２３４５６７８９＋（）‐‑‒–—―−' || chr(160) || chr(8239) || chr(8199),
    '0123456789+()-------   ');
  value := btrim(regexp_replace(value, '[[:space:]]+', ' ', 'g'));

  if problem is not null then
    null;
  elsif value = '' then
    problem := 'it is empty';
  elsif value ~ '[A-Za-z]' then
    problem := 'it contains letters (extensions and vanity numbers cannot receive texts)';
  elsif value ~ '.\+' then
    problem := 'a + may only lead the number';
  elsif value !~ '^\+?[0-9 ().\-/]+$' then
    problem := 'it contains characters other than digits, spaces and ( ) . - /';
  elsif left(value, 1) = '+' then
    -- "+44 (0)20 …": the (0) is the national trunk prefix, written for local callers.
    digits := regexp_replace(regexp_replace(value, '\(\s*0\s*\)', ''), '[^0-9]', '', 'g');
    if left(digits, 1) = '1' then
      number_code := '1';
    else
      select c.calling_code into number_code
      from private.country_calling_codes c
      where digits like c.calling_code || '%'
      order by length(c.calling_code) desc
      limit 1;
    end if;
    if length(digits) not between 8 and 15 or left(digits, 1) = '0' then
      problem := 'an E.164 number has a country code and 8 to 15 digits in all';
    elsif number_code is null then
      problem := 'its country code is not assigned';
    elsif number_code <> home_code and not any_country then
      problem := format(
        'country code +%s is not accepted: the organization texts numbers of %s (+%s)',
        number_code, upper(default_country), home_code);
    elsif number_code = '1' then
      if length(digits) <> 11 then
        problem := 'a +1 (NANP) number has exactly 10 digits after the +1';
      else
        digits := substr(digits, 2);
        problem := private.nanp_problem(digits);
      end if;
    elsif substr(digits, length(number_code) + 1, 1) = '0'
      and number_code not in ('39', '378', '379') then
      problem := format('the 0 after +%s is a national trunk prefix: leave it out', number_code);
    else
      phone := '+' || digits;
      return;
    end if;
  elsif home_code <> '1' then
    problem := format('write numbers outside North America in E.164 form (+%s…)', home_code);
  else
    digits := regexp_replace(value, '[^0-9]', '', 'g');
    if length(digits) = 11 and left(digits, 1) = '1' then
      digits := substr(digits, 2);
    end if;
    if length(digits) = 10 then
      problem := private.nanp_problem(digits);
    else
      problem := format(
        'a North American number has 10 digits (or 11 starting with 1), not %s',
        length(digits));
    end if;
  end if;

  if problem is null then
    phone := '+1' || digits;
  end if;
end;
$$;
comment on function private.parse_phone(text, text, boolean) is
  'E.164 form of a phone number written any common way (phone), or why it is not one
   (problem); the rules behind normalize_phone.';

create or replace function private.normalize_phone(
  raw text,
  default_country text default 'US',
  field text default 'phone',
  any_country boolean default false
) returns text
language plpgsql
stable
parallel safe
set search_path = ''
as $$
declare
  parsed record;
begin
  parsed := private.parse_phone(raw, default_country, any_country);
  if parsed.problem is not null then
    raise exception '%: "%" is not a valid phone number: %', field, left(btrim(raw), 40),
      parsed.problem
      using errcode = '22023',
        hint = case
          when coalesce((select c.calling_code from private.country_calling_codes c
                         where c.country = upper(default_country)), '1') = '1'
          then 'Write the number as 10 digits, e.g. (415) 555-0123, or in E.164, e.g. +14155550123.'
          else 'Write the number in E.164 form: + country code, then the national number without its leading 0.'
        end;
  end if;
  return parsed.phone;
end;
$$;

revoke all on function private.parse_phone(text, text, boolean) from public;
grant execute on function private.parse_phone(text, text, boolean)
  to authenticated, service_role, sms_system;
