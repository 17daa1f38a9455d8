-- =============================================================================
-- Phone numbers: every number we store is E.164. Writes may use any common
-- national spelling of a North American (NANP) number; other countries' numbers
-- are accepted in E.164 form when they belong to the organization's default
-- country. Invalid input raises an error that names the field and the reason.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table private.country_calling_codes (
  country text primary key constraint country_calling_codes_country_format
    check (country ~ '^[A-Z]{2}$'),
  calling_code text not null constraint country_calling_codes_code_format
    check (calling_code ~ '^[1-9][0-9]{0,2}$')
);
comment on table private.country_calling_codes is
  'ISO 3166-1 alpha-2 country → ITU calling code, from libphonenumber-js 1.13.16 metadata
   (Google libphonenumber). NANP countries share calling code 1.';

create index country_calling_codes_calling_code_idx
  on private.country_calling_codes (calling_code);

insert into private.country_calling_codes (country, calling_code) values
  ('AC', '247'), ('AD', '376'), ('AE', '971'), ('AF', '93'), ('AG', '1'), ('AI', '1'),
  ('AL', '355'), ('AM', '374'), ('AO', '244'), ('AR', '54'), ('AS', '1'), ('AT', '43'),
  ('AU', '61'), ('AW', '297'), ('AX', '358'), ('AZ', '994'), ('BA', '387'), ('BB', '1'),
  ('BD', '880'), ('BE', '32'), ('BF', '226'), ('BG', '359'), ('BH', '973'), ('BI', '257'),
  ('BJ', '229'), ('BL', '590'), ('BM', '1'), ('BN', '673'), ('BO', '591'), ('BQ', '599'),
  ('BR', '55'), ('BS', '1'), ('BT', '975'), ('BW', '267'), ('BY', '375'), ('BZ', '501'),
  ('CA', '1'), ('CC', '61'), ('CD', '243'), ('CF', '236'), ('CG', '242'), ('CH', '41'),
  ('CI', '225'), ('CK', '682'), ('CL', '56'), ('CM', '237'), ('CN', '86'), ('CO', '57'),
  ('CR', '506'), ('CU', '53'), ('CV', '238'), ('CW', '599'), ('CX', '61'), ('CY', '357'),
  ('CZ', '420'), ('DE', '49'), ('DJ', '253'), ('DK', '45'), ('DM', '1'), ('DO', '1'),
  ('DZ', '213'), ('EC', '593'), ('EE', '372'), ('EG', '20'), ('EH', '212'), ('ER', '291'),
  ('ES', '34'), ('ET', '251'), ('FI', '358'), ('FJ', '679'), ('FK', '500'), ('FM', '691'),
  ('FO', '298'), ('FR', '33'), ('GA', '241'), ('GB', '44'), ('GD', '1'), ('GE', '995'),
  ('GF', '594'), ('GG', '44'), ('GH', '233'), ('GI', '350'), ('GL', '299'), ('GM', '220'),
  ('GN', '224'), ('GP', '590'), ('GQ', '240'), ('GR', '30'), ('GT', '502'), ('GU', '1'),
  ('GW', '245'), ('GY', '592'), ('HK', '852'), ('HN', '504'), ('HR', '385'), ('HT', '509'),
  ('HU', '36'), ('ID', '62'), ('IE', '353'), ('IL', '972'), ('IM', '44'), ('IN', '91'),
  ('IO', '246'), ('IQ', '964'), ('IR', '98'), ('IS', '354'), ('IT', '39'), ('JE', '44'),
  ('JM', '1'), ('JO', '962'), ('JP', '81'), ('KE', '254'), ('KG', '996'), ('KH', '855'),
  ('KI', '686'), ('KM', '269'), ('KN', '1'), ('KP', '850'), ('KR', '82'), ('KW', '965'),
  ('KY', '1'), ('KZ', '7'), ('LA', '856'), ('LB', '961'), ('LC', '1'), ('LI', '423'),
  ('LK', '94'), ('LR', '231'), ('LS', '266'), ('LT', '370'), ('LU', '352'), ('LV', '371'),
  ('LY', '218'), ('MA', '212'), ('MC', '377'), ('MD', '373'), ('ME', '382'), ('MF', '590'),
  ('MG', '261'), ('MH', '692'), ('MK', '389'), ('ML', '223'), ('MM', '95'), ('MN', '976'),
  ('MO', '853'), ('MP', '1'), ('MQ', '596'), ('MR', '222'), ('MS', '1'), ('MT', '356'),
  ('MU', '230'), ('MV', '960'), ('MW', '265'), ('MX', '52'), ('MY', '60'), ('MZ', '258'),
  ('NA', '264'), ('NC', '687'), ('NE', '227'), ('NF', '672'), ('NG', '234'), ('NI', '505'),
  ('NL', '31'), ('NO', '47'), ('NP', '977'), ('NR', '674'), ('NU', '683'), ('NZ', '64'),
  ('OM', '968'), ('PA', '507'), ('PE', '51'), ('PF', '689'), ('PG', '675'), ('PH', '63'),
  ('PK', '92'), ('PL', '48'), ('PM', '508'), ('PR', '1'), ('PS', '970'), ('PT', '351'),
  ('PW', '680'), ('PY', '595'), ('QA', '974'), ('RE', '262'), ('RO', '40'), ('RS', '381'),
  ('RU', '7'), ('RW', '250'), ('SA', '966'), ('SB', '677'), ('SC', '248'), ('SD', '249'),
  ('SE', '46'), ('SG', '65'), ('SH', '290'), ('SI', '386'), ('SJ', '47'), ('SK', '421'),
  ('SL', '232'), ('SM', '378'), ('SN', '221'), ('SO', '252'), ('SR', '597'), ('SS', '211'),
  ('ST', '239'), ('SV', '503'), ('SX', '1'), ('SY', '963'), ('SZ', '268'), ('TA', '290'),
  ('TC', '1'), ('TD', '235'), ('TG', '228'), ('TH', '66'), ('TJ', '992'), ('TK', '690'),
  ('TL', '670'), ('TM', '993'), ('TN', '216'), ('TO', '676'), ('TR', '90'), ('TT', '1'),
  ('TV', '688'), ('TW', '886'), ('TZ', '255'), ('UA', '380'), ('UG', '256'), ('US', '1'),
  ('UY', '598'), ('UZ', '998'), ('VA', '39'), ('VC', '1'), ('VE', '58'), ('VG', '1'),
  ('VI', '1'), ('VN', '84'), ('VU', '678'), ('WF', '681'), ('WS', '685'), ('XK', '383'),
  ('YE', '967'), ('YT', '262'), ('ZA', '27'), ('ZM', '260'), ('ZW', '263');

revoke all on private.country_calling_codes from anon, authenticated, service_role;
grant select on private.country_calling_codes to authenticated, service_role, sms_system;

alter table public.organizations
  add column default_country text not null default 'US'
    constraint organizations_default_country_fkey
      references private.country_calling_codes (country);
comment on column public.organizations.default_country is
  'ISO country whose numbers the organization texts: national spellings are read as NANP
   when it is a NANP country; other numbers must be E.164 with this country''s code.';

grant update (default_country) on public.organizations to authenticated;

-- -----------------------------------------------------------------------------
-- Helpers
-- -----------------------------------------------------------------------------

-- The reason a NANP number (10 digits, without the leading 1) is invalid, or null.
create function private.nanp_problem(digits text) returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return case
    when substr(digits, 1, 1) in ('0', '1') then
      format('area code %s starts with %s', substr(digits, 1, 3), substr(digits, 1, 1))
    when substr(digits, 2, 2) = '11' then
      format('area code %s is an N11 service code', substr(digits, 1, 3))
    when substr(digits, 2, 1) = '9' or substr(digits, 1, 2) in ('37', '96') then
      format('area code %s is reserved and not in service', substr(digits, 1, 3))
    when substr(digits, 1, 3) in ('555', '950') then
      format('area code %s is not a geographic area code', substr(digits, 1, 3))
    when substr(digits, 4, 1) in ('0', '1') then
      format('exchange code %s starts with %s', substr(digits, 4, 3), substr(digits, 4, 1))
    when substr(digits, 5, 2) = '11' then
      format('exchange code %s is an N11 service code', substr(digits, 4, 3))
  end;
end;
$$;
comment on function private.nanp_problem(text) is
  'Why ten NANP digits are not a dialable number (area or exchange code 0/1-led or N11, or a
   reserved or non-geographic area code), or null.';

-- Normalises a phone number to E.164 or raises 22023 naming field, value and reason.
-- any_country: accept an E.164 number of any country (a suppression or a consent event
-- must be recordable for every number the organization ever held, whatever its setting).
create function private.normalize_phone(
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
  value text;
  digits text;
  home_code text;
  number_code text;
  problem text;
begin
  if raw is null then
    return null;
  end if;
  -- Fast path: already E.164 NANP (what imports and Twilio send).
  if raw ~ '^\+1[2-9][0-9]{2}[2-9][0-9]{6}$' and (any_country or upper(default_country) = 'US'
      or exists (select 1 from private.country_calling_codes c
                 where c.country = upper(default_country) and c.calling_code = '1')) then
    problem := private.nanp_problem(substr(raw, 3));
    if problem is null then
      return raw;
    end if;
  end if;

  home_code := coalesce(
    (select c.calling_code from private.country_calling_codes c
     where c.country = upper(default_country)),
    '1'
  );
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
      return '+' || digits;
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

  if problem is not null then
    raise exception '%: "%" is not a valid phone number: %', field, left(btrim(raw), 40), problem
      using errcode = '22023',
        hint = case when home_code = '1'
          then 'Write the number as 10 digits, e.g. (415) 555-0123, or in E.164, e.g. +14155550123.'
          else format('Write the number in E.164 form: +%s and the national number without its leading 0.', home_code)
        end;
  end if;
  return '+1' || digits;
end;
$$;
comment on function private.normalize_phone(text, text, text, boolean) is
  'E.164 form of a phone number written any common way, or an error naming field and reason.';

-- The organization's default country, for the normalisation triggers. Only members (and
-- system work, which has no user) learn an organization's setting.
create function private.org_default_country(org uuid) returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  -- plpgsql rather than SQL: its plans are cached, where a SQL function called from a
  -- trigger would be planned again for every row.
  if auth.uid() is not null and not private.has_role_on_org(org) then
    return 'US';
  end if;
  return coalesce((select o.default_country from public.organizations o where o.id = org), 'US');
end;
$$;
comment on function private.org_default_country(uuid) is
  'Default country of an organization (US when unknown or not the caller''s): how its phone
   numbers are read.';

-- For the frontend: check and normalise a number before saving it.
create function public.normalize_phone(phone text, org_id uuid default null) returns text
language sql
stable
set search_path = ''
as $$
  select private.normalize_phone(phone, private.org_default_country(org_id), 'phone');
$$;
comment on function public.normalize_phone(text, uuid) is
  'The E.164 form the database will store for a number, or the error it would raise.';

revoke all on function private.nanp_problem(text) from public;
revoke all on function private.normalize_phone(text, text, text, boolean) from public;
revoke all on function private.org_default_country(uuid) from public;
revoke all on function public.normalize_phone(text, uuid) from public, anon;
grant execute on function private.nanp_problem(text) to authenticated, service_role, sms_system;
grant execute on function private.normalize_phone(text, text, text, boolean)
  to authenticated, service_role, sms_system;
grant execute on function private.org_default_country(uuid) to authenticated, service_role, sms_system;
grant execute on function public.normalize_phone(text, uuid) to authenticated, service_role, sms_system;
