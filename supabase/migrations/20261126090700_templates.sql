-- =============================================================================
-- Message templates and their variants. A template is what a campaign sends; its
-- variants are the alternative wordings the campaign rotates through (round-robin,
-- by weight, or as an A/B test). Admins and campaign managers write them.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table public.templates (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null constraint templates_name_length
    check (char_length(btrim(name)) between 1 and 200),
  description text constraint templates_description_length
    check (char_length(description) <= 2000),
  archived_at timestamptz,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint templates_org_id_id_key unique (org_id, id)
);
comment on table public.templates is 'A message a campaign sends, in one or more variants.';
comment on column public.templates.archived_at is 'Hidden from pickers; kept for past campaigns.';

create unique index templates_org_id_name_key on public.templates (org_id, lower(name));
create index templates_created_by_idx on public.templates (created_by);

create table public.template_variants (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  template_id uuid not null,
  label text not null constraint template_variants_label_length
    check (char_length(btrim(label)) between 1 and 50),
  body text not null constraint template_variants_body_length
    check (char_length(btrim(body)) between 1 and 1600),
  weight integer not null default 1 constraint template_variants_weight_range
    check (weight between 0 and 1000),
  position integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint template_variants_org_id_id_key unique (org_id, id),
  constraint template_variants_template_fkey foreign key (org_id, template_id)
    references public.templates (org_id, id) on delete cascade
);
comment on table public.template_variants is
  'One wording of a template: body with {{variables|fallback}} and {spin|tax}, and its weight.';
comment on column public.template_variants.weight is
  'Share of sends under weighted rotation (0 takes the variant out of rotation).';
comment on column public.template_variants.position is 'Order under round-robin rotation.';

create unique index template_variants_org_id_template_id_label_key
  on public.template_variants (org_id, template_id, lower(label));

-- -----------------------------------------------------------------------------
-- Grants
-- -----------------------------------------------------------------------------

revoke all on public.templates, public.template_variants from anon, authenticated, service_role;
grant select, delete on public.templates, public.template_variants to authenticated;
grant insert (org_id, name, description) on public.templates to authenticated;
grant update (name, description, archived_at) on public.templates to authenticated;
grant insert (org_id, template_id, label, body, weight, position)
  on public.template_variants to authenticated;
grant update (label, body, weight, position) on public.template_variants to authenticated;
grant select, insert, update, delete on public.templates, public.template_variants
  to service_role;

-- -----------------------------------------------------------------------------
-- Triggers
-- -----------------------------------------------------------------------------

create trigger templates_set_updated_at before update on public.templates
  for each row execute function private.set_updated_at();
create trigger template_variants_set_updated_at before update on public.template_variants
  for each row execute function private.set_updated_at();

create trigger templates_stamp_created_by before insert on public.templates
  for each row execute function private.stamp_created_by();

select private.attach_audit('public.templates', 'id');
select private.attach_audit('public.template_variants', 'id');

-- -----------------------------------------------------------------------------
-- Enable RLS and policies
-- -----------------------------------------------------------------------------

alter table public.templates enable row level security;
alter table public.template_variants enable row level security;

create policy templates_select_policy on public.templates
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy templates_insert_policy on public.templates
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy templates_update_policy on public.templates
  for update to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))))
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy templates_delete_policy on public.templates
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy template_variants_select_policy on public.template_variants
  for select to authenticated
  using (org_id = any (array(select private.org_ids_with_role())));

create policy template_variants_insert_policy on public.template_variants
  for insert to authenticated
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy template_variants_update_policy on public.template_variants
  for update to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))))
  with check (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));

create policy template_variants_delete_policy on public.template_variants
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin,campaign_manager}'))));
