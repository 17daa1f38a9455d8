-- =============================================================================
-- Seed: the demo data later work and its tests rely on (the seed contract).
--   Organizations: Acme (slug acme), Globex (slug globex).
--   Users, one per role in each: admin@, manager@, operator@, viewer@ at acme.test
--   and globex.test; password "password" (local only).
-- Fixed ids so tests can name them. Runs as postgres through `supabase db push
-- --include-seed` locally; never run against production.
-- =============================================================================

insert into public.organizations (id, name, slug) values
  ('a0000000-0000-4000-8000-000000000000', 'Acme', 'acme'),
  ('b0000000-0000-4000-8000-000000000000', 'Globex', 'globex');

insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at
)
select
  '00000000-0000-0000-0000-000000000000',
  u.id,
  'authenticated',
  'authenticated',
  u.email,
  extensions.crypt('password', extensions.gen_salt('bf', 6)),
  now(),
  '{"provider": "email", "providers": ["email"]}',
  jsonb_build_object('full_name', u.full_name),
  now(),
  now()
from (values
  ('a0000000-0000-4000-8000-000000000001'::uuid, 'admin@acme.test', 'Ada Admin'),
  ('a0000000-0000-4000-8000-000000000002'::uuid, 'manager@acme.test', 'Max Manager'),
  ('a0000000-0000-4000-8000-000000000003'::uuid, 'operator@acme.test', 'Olga Operator'),
  ('a0000000-0000-4000-8000-000000000004'::uuid, 'viewer@acme.test', 'Vic Viewer'),
  ('b0000000-0000-4000-8000-000000000001'::uuid, 'admin@globex.test', 'Gus Admin'),
  ('b0000000-0000-4000-8000-000000000002'::uuid, 'manager@globex.test', 'Gina Manager'),
  ('b0000000-0000-4000-8000-000000000003'::uuid, 'operator@globex.test', 'Otto Operator'),
  ('b0000000-0000-4000-8000-000000000004'::uuid, 'viewer@globex.test', 'Vera Viewer')
) as u (id, email, full_name);

insert into public.memberships (org_id, user_id, role)
select o.id, u.id, r.role::public.member_role
from (values ('acme', 'acme.test'), ('globex', 'globex.test')) as d (slug, domain)
join public.organizations o on o.slug = d.slug
cross join (values
  ('admin', 'admin'), ('manager', 'campaign_manager'), ('operator', 'operator'),
  ('viewer', 'viewer')
) as r (local_part, role)
join auth.users u on u.email = r.local_part || '@' || d.domain;
