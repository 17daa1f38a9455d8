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

-- -----------------------------------------------------------------------------
-- Sending numbers, leads, suppressions, a template with two variants, a draft
-- campaign and one conversation per organization. Id blocks: a1/b1 phone numbers,
-- a2/b2 leads, a3/b3 suppressions, a4/b4 templates, a5/b5 variants, a6/b6 campaigns,
-- a7/b7 conversations, a8/b8 messages. Numbers are in the 555-01xx range reserved
-- for fiction.
-- -----------------------------------------------------------------------------

insert into public.phone_numbers
  (id, org_id, phone, friendly_name, twilio_sid, messages_per_second, daily_cap)
values
  ('a1000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000',
   '(415) 555-0100', 'Acme main', 'PNa1000000000000000000000000000001', 1, 2000),
  ('a1000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000000',
   '+1 646 555 0100', 'Acme east', 'PNa1000000000000000000000000000002', 1, 2000),
  ('b1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000000',
   '713.555.0100', 'Globex main', 'PNb1000000000000000000000000000001', 1, 1000);

insert into public.leads
  (id, org_id, phone, first_name, last_name, email, city, state, zip, tags, status,
   consent_source, consent_captured_at, consent_evidence, phone_number_id)
values
  ('a2000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000',
   '(415) 555-0101', 'Alice', 'Able', 'alice@example.com', 'San Francisco', 'CA', '94105',
   '{buyer,hot}', 'new', 'https://acme.test/open-house', '2026-10-01 17:00:00+00',
   'Checked "Text me about listings" on the open house form', null),
  ('a2000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000000',
   '212-555-0102', 'Bob', 'Baker', null, 'New York', 'New York', '10001', '{seller}',
   'contacted', 'https://acme.test/valuation', '2026-10-02 15:30:00+00',
   'Valuation request form, SMS consent box', 'a1000000-0000-4000-8000-000000000002'),
  ('a2000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000000',
   '602.555.0103', 'Carla', 'Cruz', 'carla@example.com', 'Phoenix', 'AZ', '85001', '{buyer}',
   'replied', 'open house sign-in sheet', '2026-10-03 19:00:00+00', null,
   'a1000000-0000-4000-8000-000000000001'),
  ('a2000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000000',
   '+1 305 555 0104', 'Dan', 'Diaz', null, 'Miami', 'FL', '33101', '{hot}', 'contacted',
   null, null, null, 'a1000000-0000-4000-8000-000000000001'),
  ('a2000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000000',
   '1-312-555-0105', 'Eve', 'Evans', null, 'Chicago', 'IL', '60601', '{}', 'new',
   null, null, null, null),
  ('b2000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000000',
   '(415) 555-0101', 'Alice', 'Able', 'alice@example.com', 'San Francisco', 'CA', '94105',
   '{prospect}', 'new', 'https://globex.test/signup', '2026-10-05 12:00:00+00', null, null),
  ('b2000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000000',
   '713-555-0202', 'Greg', 'Green', null, 'Houston', 'TX', '77002', '{prospect,hot}', 'new',
   'https://globex.test/signup', '2026-10-06 12:00:00+00', null,
   'b1000000-0000-4000-8000-000000000001'),
  ('b2000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000000',
   '(808) 555-0203', 'Hana', 'Hale', null, 'Honolulu', 'HI', '96813', '{}', 'new',
   null, null, null, null);

insert into public.suppressions (id, org_id, phone, source, reason) values
  ('a3000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000',
   '+13055550104', 'recipient_stop', 'Replied STOP'),
  ('a3000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000000',
   '+13125550105', 'manual', 'Asked on the phone not to be texted'),
  ('a3000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000000',
   '+12025550199', 'dnc', 'Internal do-not-call list'),
  ('b3000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000000',
   '+18085550203', 'recipient_stop', 'Replied STOP'),
  ('b3000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000000',
   '+17135550299', 'manual', 'Wrong number');

insert into public.consent_events (org_id, lead_id, phone, kind, channel, raw_text, source)
values
  ('a0000000-0000-4000-8000-000000000000', 'a2000000-0000-4000-8000-000000000004',
   '+13055550104', 'revoked', 'sms', 'STOP', 'inbound message'),
  ('b0000000-0000-4000-8000-000000000000', 'b2000000-0000-4000-8000-000000000003',
   '+18085550203', 'revoked', 'sms', 'stop texting me', 'inbound message');

insert into public.templates (id, org_id, name, description) values
  ('a4000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000',
   'Open house invitation', 'Invites buyers to the weekend open house'),
  ('b4000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000000',
   'Spring check-in', null);

insert into public.template_variants (id, org_id, template_id, label, body, weight, position)
values
  ('a5000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000',
   'a4000000-0000-4000-8000-000000000001', 'A',
   '{Hi|Hello} {{first_name|there}}, Acme Realty here: open house Saturday 1-4pm at 12 Oak St. Want the details?',
   1, 0),
  ('a5000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000000',
   'a4000000-0000-4000-8000-000000000001', 'B',
   'Hi {{first_name|there}}, it''s Acme Realty. A home in {{city|your area}} opens Saturday 1-4pm. Interested?',
   1, 1),
  ('b5000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000000',
   'b4000000-0000-4000-8000-000000000001', 'A',
   'Hello {{first_name|there}}, Globex Homes checking in: still thinking about moving this spring?',
   1, 0);

insert into public.campaigns
  (id, org_id, name, template_id, rotation_strategy, audience, send_window_start,
   send_window_end)
values
  ('a6000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000',
   'Saturday open house', 'a4000000-0000-4000-8000-000000000001', 'ab_test',
   '{"tags": ["buyer"]}', '10:00', '19:00'),
  ('b6000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000000',
   'Spring check-in', 'b4000000-0000-4000-8000-000000000001', 'round_robin',
   '{"tags": ["prospect"]}', '09:00', '20:00');

insert into public.conversations (id, org_id, lead_id, phone_number_id, unread_count, last_message_at)
values
  ('a7000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000',
   'a2000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000001', 1,
   '2026-11-20 18:05:00+00'),
  ('b7000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000000',
   'b2000000-0000-4000-8000-000000000002', 'b1000000-0000-4000-8000-000000000001', 1,
   '2026-11-21 16:02:00+00');

insert into public.messages
  (id, org_id, direction, conversation_id, lead_id, phone_number_id, from_phone, to_phone, body,
   segments, encoding, twilio_sid, status, created_at, received_at)
values
  ('a8000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000000', 'inbound',
   'a7000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000003',
   'a1000000-0000-4000-8000-000000000001', '+16025550103', '+14155550100',
   'Yes! What time on Saturday?', 1, 'gsm7', 'SMa8000000000000000000000000000001', 'received',
   '2026-11-20 18:05:00+00', '2026-11-20 18:05:00+00'),
  ('b8000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000000', 'inbound',
   'b7000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000002',
   'b1000000-0000-4000-8000-000000000001', '+17135550202', '+17135550100',
   'Maybe in May. Who is this?', 1, 'gsm7', 'SMb8000000000000000000000000000001', 'received',
   '2026-11-21 16:02:00+00', '2026-11-21 16:02:00+00');
