-- =============================================================================
-- Campaigns and their targets. A campaign sends a template to an audience of leads
-- within a daily window; its status moves only through the lifecycle RPCs (a later
-- migration), never by direct update. campaign_targets is the send queue: one row
-- per lead a started campaign will text, written only by the system.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Types
-- -----------------------------------------------------------------------------

create type public.campaign_status as enum (
  'draft', 'scheduled', 'running', 'paused', 'completed', 'canceled'
);
comment on type public.campaign_status is
  'draft → scheduled → running ⇄ paused → completed; canceled from any non-final state.';

create type public.rotation_strategy as enum ('round_robin', 'weighted', 'ab_test');
comment on type public.rotation_strategy is
  'How a campaign picks a template variant for each target.';

create type public.target_status as enum (
  'pending', 'claimed', 'sent', 'skipped', 'failed', 'canceled'
);
comment on type public.target_status is
  'pending: waiting to be sent; claimed: taken by a tick; sent: handed to Twilio;
   skipped: a rule excluded it for good; failed: could not be sent; canceled: campaign or
   recipient stopped it.';

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table public.campaigns (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null constraint campaigns_name_length
    check (char_length(btrim(name)) between 1 and 200),
  description text constraint campaigns_description_length
    check (char_length(description) <= 2000),
  -- text checked against the enum: leakproof equality, so status filters use indexes under RLS.
  status text not null default 'draft'
    constraint campaigns_status_valid check (status::public.campaign_status is not null),
  template_id uuid,
  rotation_strategy public.rotation_strategy not null default 'round_robin',
  audience jsonb not null default '{}'
    constraint campaigns_audience_object check (jsonb_typeof(audience) = 'object'),
  send_window_start time not null default '09:00',
  send_window_end time not null default '20:00',
  send_days smallint[] not null default '{1,2,3,4,5,6,7}'
    constraint campaigns_send_days_range
      check (send_days <@ '{1,2,3,4,5,6,7}'::smallint[] and cardinality(send_days) >= 1),
  scheduled_at timestamptz,
  started_at timestamptz,
  paused_at timestamptz,
  completed_at timestamptz,
  canceled_at timestamptz,
  status_reason text constraint campaigns_status_reason_length
    check (char_length(status_reason) <= 500),
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint campaigns_org_id_id_key unique (org_id, id),
  constraint campaigns_send_window_order check (send_window_start < send_window_end),
  constraint campaigns_template_fkey foreign key (org_id, template_id)
    references public.templates (org_id, id) on delete restrict
);
comment on table public.campaigns is 'A throttled send of a template to an audience of leads.';
comment on column public.campaigns.status is
  'Changed only by schedule/start/pause/resume/cancel_campaign, never by direct update.';
comment on column public.campaigns.audience is
  'Which leads to target: {"tags": [...], "statuses": [...], "states": [...], "import_ids": [...]}.';
comment on column public.campaigns.send_window_start is
  'Earliest local time of the recipient to send at; intersected with the legal quiet hours.';
comment on column public.campaigns.send_window_end is 'Latest local time to send before.';
comment on column public.campaigns.send_days is 'ISO days of the week to send on (1 = Monday).';
comment on column public.campaigns.status_reason is 'Why it was last paused or canceled.';

create index campaigns_org_id_status_idx on public.campaigns (org_id, status);
create index campaigns_org_id_created_at_idx on public.campaigns (org_id, created_at desc);
create index campaigns_org_id_template_id_idx on public.campaigns (org_id, template_id);
create index campaigns_created_by_idx on public.campaigns (created_by);

create table public.campaign_targets (
  id bigint generated always as identity primary key,
  org_id uuid not null,
  campaign_id uuid not null,
  lead_id uuid not null,
  phone text not null
    constraint campaign_targets_phone_e164 check (phone ~ '^\+[1-9][0-9]{7,14}$'),
  -- text checked against the enum: leakproof equality, so status filters use indexes under RLS.
  status text not null default 'pending'
    constraint campaign_targets_status_valid check (status::public.target_status is not null),
  template_variant_id uuid,
  phone_number_id uuid,
  attempts smallint not null default 0 constraint campaign_targets_attempts_nonnegative
    check (attempts >= 0),
  claimed_at timestamptz,
  sent_at timestamptz,
  status_reason text constraint campaign_targets_status_reason_length
    check (char_length(status_reason) <= 500),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint campaign_targets_org_id_id_key unique (org_id, id),
  constraint campaign_targets_campaign_lead_key unique (org_id, campaign_id, lead_id),
  constraint campaign_targets_campaign_fkey foreign key (org_id, campaign_id)
    references public.campaigns (org_id, id) on delete cascade,
  constraint campaign_targets_lead_fkey foreign key (org_id, lead_id)
    references public.leads (org_id, id) on delete cascade,
  constraint campaign_targets_template_variant_fkey foreign key (org_id, template_variant_id)
    references public.template_variants (org_id, id) on delete set null (template_variant_id),
  constraint campaign_targets_phone_number_fkey foreign key (org_id, phone_number_id)
    references public.phone_numbers (org_id, id) on delete set null (phone_number_id)
);
comment on table public.campaign_targets is
  'The send queue: one row per lead a started campaign will text, claimed by the sender.';
comment on column public.campaign_targets.phone is 'The lead''s number when the target was made.';
comment on column public.campaign_targets.status_reason is
  'Why it was skipped, failed or canceled (suppressed, invalid, opted out…).';

create index campaign_targets_org_id_lead_id_idx on public.campaign_targets (org_id, lead_id);
create index campaign_targets_org_id_campaign_id_status_idx
  on public.campaign_targets (org_id, campaign_id, status);
create index campaign_targets_org_id_template_variant_id_idx
  on public.campaign_targets (org_id, template_variant_id);
create index campaign_targets_org_id_phone_number_id_idx
  on public.campaign_targets (org_id, phone_number_id);
create index campaign_targets_org_id_phone_idx on public.campaign_targets (org_id, phone);

-- -----------------------------------------------------------------------------
-- Grants: campaigns are written by admins and campaign managers, except status and
-- its timestamps; targets are the system's.
-- -----------------------------------------------------------------------------

revoke all on public.campaigns, public.campaign_targets from anon, authenticated, service_role;
grant select, delete on public.campaigns to authenticated;
grant insert (
  org_id, name, description, template_id, rotation_strategy, audience, send_window_start,
  send_window_end, send_days
) on public.campaigns to authenticated;
grant update (
  name, description, template_id, rotation_strategy, audience, send_window_start,
  send_window_end, send_days
) on public.campaigns to authenticated;
grant select on public.campaign_targets to authenticated;

grant select, insert, update, delete on public.campaigns, public.campaign_targets
  to service_role;

-- -----------------------------------------------------------------------------
-- Triggers
-- -----------------------------------------------------------------------------

create trigger campaigns_set_updated_at before update on public.campaigns
  for each row execute function private.set_updated_at();
create trigger campaign_targets_set_updated_at before update on public.campaign_targets
  for each row execute function private.set_updated_at();
create trigger campaigns_stamp_created_by before insert on public.campaigns
  for each row execute function private.stamp_created_by();

-- Only drafts are edited freely; a campaign that has started keeps its content and
-- audience, and one that is sending (or may) cannot be deleted.
create function private.guard_campaign_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    if old.status in ('scheduled', 'running', 'paused') and pg_catalog.pg_trigger_depth() = 1 then
      raise exception 'campaign "%" is %: cancel it before deleting it', old.name, old.status
        using errcode = '55000';
    end if;
    return old;
  end if;
  if old.status <> 'draft' and (
    new.template_id is distinct from old.template_id
    or new.audience is distinct from old.audience
    or new.rotation_strategy is distinct from old.rotation_strategy
  ) then
    raise exception 'campaign "%" is %: its template, rotation and audience are fixed once scheduled',
      old.name, old.status
      using errcode = '55000', hint = 'Duplicate the campaign to change them.';
  end if;
  return new;
end;
$$;
comment on function private.guard_campaign_change() is
  'Freezes a scheduled campaign''s content and audience and refuses deleting an active one.';
revoke all on function private.guard_campaign_change() from public;

create trigger campaigns_guard_change before update or delete on public.campaigns
  for each row execute function private.guard_campaign_change();

select private.attach_audit('public.campaigns', 'id');

-- Deleting an organization cascades to its tables in the order their keys were made, so a
-- table can be reached before the rows that keep it (templates before the campaigns using
-- them): such tables are emptied first, by this trigger, named by its argument.
create function private.delete_organization_rows() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  execute format('delete from public.%I where org_id = $1', tg_argv[0]) using old.id;
  return old;
end;
$$;
comment on function private.delete_organization_rows() is
  'Empties one table of a deleted organization before the cascade reaches what it keeps.';
revoke all on function private.delete_organization_rows() from public;

create trigger organizations_delete_campaigns before delete on public.organizations
  for each row execute function private.delete_organization_rows('campaigns');

-- -----------------------------------------------------------------------------
-- Enable RLS and policies
-- -----------------------------------------------------------------------------

alter table public.campaigns enable row level security;
alter table public.campaign_targets enable row level security;

create policy campaigns_select_policy on public.campaigns
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy campaigns_insert_policy on public.campaigns
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy campaigns_update_policy on public.campaigns
  for update to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))))
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy campaigns_delete_policy on public.campaigns
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy campaign_targets_select_policy on public.campaign_targets
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));
