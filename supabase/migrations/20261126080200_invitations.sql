-- =============================================================================
-- Invitations: the only way into an organization. An admin invites an email
-- address with a role; the person signed in with that (verified) email accepts.
-- Nobody can be made a member, and so be shown to an organization's members,
-- without their consent.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

create table public.invitations (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  email text not null
    constraint invitations_email_format
      check (char_length(email) <= 320 and email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  role public.member_role not null,
  invited_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '7 days',
  accepted_at timestamptz,
  accepted_by uuid references public.profiles (id) on delete set null,
  constraint invitations_accepted_together
    check ((accepted_at is null) = (accepted_by is null))
);
comment on table public.invitations is
  'Pending and accepted invitations to join an organization with a role.';
comment on column public.invitations.email is
  'Who may accept: the signed-in user whose token carries this email (case-insensitive).';

-- One open invitation per address and organization; org_id leads, as on every tenant index.
create unique index invitations_open_email_idx on public.invitations (org_id, lower(email))
  where accepted_at is null;
create index invitations_email_idx on public.invitations (lower(email)) where accepted_at is null;

-- -----------------------------------------------------------------------------
-- Grants: read and revoke through the API; create and accept only through the RPCs.
-- -----------------------------------------------------------------------------

revoke all on public.invitations from anon, authenticated, service_role;
grant select, delete on public.invitations to authenticated;
grant select, insert, update, delete on public.invitations to service_role;

-- -----------------------------------------------------------------------------
-- Enable RLS
-- -----------------------------------------------------------------------------

alter table public.invitations enable row level security;

-- -----------------------------------------------------------------------------
-- Policies
-- -----------------------------------------------------------------------------

create policy invitations_select_policy on public.invitations
  for select to authenticated
  using (
    org_id in (select private.org_ids_with_role('{admin}'))
    or lower(email) = lower((select auth.email()))
  );

create policy invitations_delete_policy on public.invitations
  for delete to authenticated
  using (org_id in (select private.org_ids_with_role('{admin}')));

-- -----------------------------------------------------------------------------
-- RPCs
-- -----------------------------------------------------------------------------

create function public.invite_member(org_id uuid, email text, role public.member_role)
returns public.invitations
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  invitation public.invitations;
  address text := lower(btrim(invite_member.email));
begin
  if not private.has_role_on_org(invite_member.org_id, '{admin}') then
    raise exception 'only an admin of organization % may invite members', invite_member.org_id
      using errcode = '42501';
  end if;
  if exists (
    select 1 from public.memberships m join public.profiles p on p.id = m.user_id
    where m.org_id = invite_member.org_id and lower(p.email) = address
  ) then
    raise exception '% is already a member of this organization', address
      using errcode = '23505';
  end if;
  insert into public.invitations (org_id, email, role, invited_by)
  values (invite_member.org_id, address, invite_member.role, (select auth.uid()))
  on conflict (org_id, lower(email)) where accepted_at is null
  do update set role = excluded.role,
                invited_by = excluded.invited_by,
                created_at = now(),
                expires_at = now() + interval '7 days'
  returning * into invitation;
  return invitation;
end;
$$;
comment on function public.invite_member(uuid, text, public.member_role) is
  'Admins invite an email address with a role; re-inviting renews the open invitation.';

create function public.accept_invitation(invitation_id uuid)
returns public.memberships
language plpgsql
security definer
set search_path = ''
as $$
declare
  invitation public.invitations;
  membership public.memberships;
  caller uuid := (select auth.uid());
begin
  select * into invitation from public.invitations i
  where i.id = accept_invitation.invitation_id
  for update;
  -- Someone else's invitation reads as missing: ids must not confirm who was invited.
  if invitation.id is null or caller is null
     or lower(invitation.email) <> lower(coalesce((select auth.email()), '')) then
    raise exception 'invitation % not found', accept_invitation.invitation_id
      using errcode = 'P0002';
  end if;
  if invitation.accepted_at is not null then
    raise exception 'invitation % was already accepted', invitation.id using errcode = '23505';
  end if;
  if invitation.expires_at < now() then
    raise exception 'invitation % expired at %', invitation.id, invitation.expires_at
      using errcode = '22023', hint = 'Ask an admin of the organization to invite you again.';
  end if;
  insert into public.memberships (org_id, user_id, role)
  values (invitation.org_id, caller, invitation.role)
  on conflict on constraint memberships_pkey do nothing
  returning * into membership;
  if membership.org_id is null then
    raise exception 'you are already a member of this organization' using errcode = '23505';
  end if;
  update public.invitations set accepted_at = now(), accepted_by = caller
  where id = invitation.id;
  return membership;
end;
$$;
comment on function public.accept_invitation(uuid) is
  'The invited user (matched by the email in their token) joins with the invited role.';

revoke all on function public.invite_member(uuid, text, public.member_role) from public, anon;
revoke all on function public.accept_invitation(uuid) from public, anon;
grant execute on function public.invite_member(uuid, text, public.member_role) to authenticated;
grant execute on function public.accept_invitation(uuid) to authenticated;
