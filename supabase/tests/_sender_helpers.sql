-- Helpers of the sender's tests (15_sender_claim, 24_sender_forecast, 26_claim_then_render),
-- included after _helpers.sql: organizations, numbers, leads, campaigns, targets and messages by label.

-- Acts as the system, as the tick does: role sms_system, no user claims.
create function tests.as_system() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', '', true);
  perform set_config('role', 'sms_system', true);
end;
$$;

create table tests.targets (name text primary key, id bigint not null);

create function tests.tid(label text) returns bigint
language sql stable as $$ select id from tests.targets where name = label $$;

create function tests.id(label text) returns uuid
language sql stable as $$ select id from tests.ids where name = label $$;

create function tests.target_row(target text) returns public.campaign_targets
language sql stable as $$ select * from public.campaign_targets where id = tests.tid(target) $$;

-- An organization with a one-variant template.
create function tests.org(slug text, mpm integer default null, lead_cap smallint default null,
  gap interval default '24 hours', max_seg smallint default 3,
  body text default 'Hi {{first_name|there}}, a new listing is out.') returns uuid
language plpgsql as $$
declare
  o uuid;
  t uuid;
begin
  insert into public.organizations (name, slug, max_messages_per_minute, lead_daily_cap,
    campaign_message_interval, max_segments)
  values (slug, slug, mpm, lead_cap, gap, max_seg) returning id into o;
  insert into public.templates (org_id, name) values (o, 'T') returning id into t;
  insert into public.template_variants (org_id, template_id, label, body)
  values (o, t, 'A', body);
  insert into tests.ids (name, id) values (slug, o), (slug || ':template', t);
  return o;
end;
$$;

create function tests.number(label text, org text, phone text, mps numeric default 1,
  cap integer default null, status text default 'active',
  health public.number_health default 'good') returns uuid
language sql as $$
  with n as (
    insert into public.phone_numbers (org_id, phone, twilio_sid, messages_per_second, daily_cap,
      status, health)
    values (tests.id(org), phone, 'PN' || md5(label), mps, cap, status, health)
    returning id
  )
  insert into tests.ids (name, id) select label, n.id from n returning id;
$$;

create function tests.lead(label text, org text, phone text, state text default 'CA',
  zip text default '94105', sticky text default null, status text default 'new') returns uuid
language sql as $$
  with l as (
    insert into public.leads (org_id, phone, first_name, state, zip, phone_number_id, status)
    values (tests.id(org), phone, 'Pat', state, zip, tests.id(sticky), status)
    returning id
  )
  insert into tests.ids (name, id) select label, l.id from l returning id;
$$;

create function tests.campaign(label text, org text, status text default 'running',
  window_start time default '09:00', window_end time default '20:00') returns uuid
language sql as $$
  with c as (
    insert into public.campaigns (org_id, name, template_id, status, send_window_start,
      send_window_end)
    values (tests.id(org), label, tests.id(org || ':template'), status, window_start, window_end)
    returning id
  )
  insert into tests.ids (name, id) select label, c.id from c returning id;
$$;

create function tests.target(label text, campaign text, lead text) returns bigint
language sql as $$
  with t as (
    insert into public.campaign_targets (org_id, campaign_id, lead_id, phone, template_variant_id)
    select c.org_id, c.id, l.id, l.phone,
      (select v.id from public.template_variants v where v.template_id = c.template_id limit 1)
    from public.campaigns c
    join public.leads l on l.id = tests.id(lead)
    where c.id = tests.id(campaign)
    returning id
  )
  insert into tests.targets (name, id) select label, t.id from t returning id;
$$;

-- An outbound message the lead received at `at` (for the caps and first-message rules).
create function tests.message(lead text, number text, at timestamptz,
  campaign text default null) returns void
language sql as $$
  insert into public.messages (org_id, direction, lead_id, phone_number_id, from_phone,
    to_phone, body, status, campaign_id, created_at)
  select l.org_id, 'outbound', l.id, n.id, n.phone, l.phone, 'earlier', 'sent',
    tests.id(campaign), at
  from public.leads l, public.phone_numbers n
  where l.id = tests.id(lead) and n.id = tests.id(number);
$$;

-- A scenario's end: its campaigns stop running, so later claims leave them alone.
create function tests.done(org text) returns void
language sql as $$
  update public.campaigns set status = 'paused' where org_id = tests.id(org) and status = 'running';
$$;
