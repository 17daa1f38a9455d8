-- =============================================================================
-- The seed contract later work and its tests rely on: in each organization, leads
-- (one suppressed by a recipient_stop), sending numbers, suppressions, a template
-- with variants, a draft campaign and a conversation, under fixed ids.
-- =============================================================================
begin;
set search_path to public, extensions;
select plan(9);
\ir _helpers.sql

select results_eq(
  $$select o.slug, count(l.*) filter (where not l.suppressed), count(l.*) filter (where l.suppressed)
    from public.organizations o join public.leads l on l.org_id = o.id
    group by o.slug order by o.slug$$,
  $$values ('acme', 3::bigint, 2::bigint), ('globex', 2::bigint, 1::bigint)$$,
  'Acme has 5 leads (2 suppressed), Globex 3 (1 suppressed)');

select results_eq(
  $$select id, phone, suppressed from public.leads where id in (
      'a2000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000004',
      'b2000000-0000-4000-8000-000000000001') order by id$$,
  $$values ('a2000000-0000-4000-8000-000000000001'::uuid, '+14155550101', false),
           ('a2000000-0000-4000-8000-000000000004'::uuid, '+13055550104', true),
           ('b2000000-0000-4000-8000-000000000001'::uuid, '+14155550101', false)$$,
  'the fixed lead ids, one number in both organizations, Dan opted out');

select results_eq(
  $$select id, phone from public.phone_numbers order by id$$,
  $$values ('a1000000-0000-4000-8000-000000000001'::uuid, '+14155550100'),
           ('a1000000-0000-4000-8000-000000000002'::uuid, '+16465550100'),
           ('b1000000-0000-4000-8000-000000000001'::uuid, '+17135550100')$$,
  'sending numbers: two in Acme, one in Globex');

select results_eq(
  $$select o.slug, s.source::text, count(*) from public.suppressions s
    join public.organizations o on o.id = s.org_id where s.lifted_at is null
    group by 1, 2 order by 1, 2$$,
  $$values ('acme', 'dnc', 1::bigint), ('acme', 'manual', 1::bigint),
           ('acme', 'recipient_stop', 1::bigint), ('globex', 'manual', 1::bigint),
           ('globex', 'recipient_stop', 1::bigint)$$,
  'active suppressions by source');

select results_eq(
  $$select t.id, count(v.*) from public.templates t join public.template_variants v
    on v.template_id = t.id group by t.id order by t.id$$,
  $$values ('a4000000-0000-4000-8000-000000000001'::uuid, 2::bigint),
           ('b4000000-0000-4000-8000-000000000001'::uuid, 1::bigint)$$,
  'a template per organization: Acme''s with two variants');

select results_eq(
  $$select id, status::text, template_id from public.campaigns order by id$$,
  $$values ('a6000000-0000-4000-8000-000000000001'::uuid, 'draft',
            'a4000000-0000-4000-8000-000000000001'::uuid),
           ('b6000000-0000-4000-8000-000000000001'::uuid, 'draft',
            'b4000000-0000-4000-8000-000000000001'::uuid)$$,
  'a draft campaign per organization');

select results_eq(
  $$select c.id, c.unread_count, count(m.*) from public.conversations c
    join public.messages m on m.conversation_id = c.id group by c.id order by c.id$$,
  $$values ('a7000000-0000-4000-8000-000000000001'::uuid, 1, 1::bigint),
           ('b7000000-0000-4000-8000-000000000001'::uuid, 1, 1::bigint)$$,
  'a conversation with one unread inbound message per organization');

select is(
  (select count(*)::int from public.consent_events where kind = 'revoked'), 2,
  'each recipient_stop has its revocation in the consent ledger');

select is(
  (select count(*)::int from public.memberships), 8,
  'the foundation''s eight members are still there');

select * from finish();
rollback;
