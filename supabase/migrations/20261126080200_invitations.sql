-- =============================================================================
-- Invitations: the only way into an organization. An admin invites an email
-- address with a role; the user whose confirmed email (in auth.users) it is accepts,
-- while the inviter is still an admin. Nobody can be made a member, and so be shown
-- to an organization's members, without their consent.
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
  -- Null once the accepting user's account is deleted; accepted_at keeps the fact.
  accepted_by uuid references public.profiles (id) on delete set null
);
comment on table public.invitations is
  'Pending and accepted invitations to join an organization with a role.';
comment on column public.invitations.email is
  'Who may accept: the user whose confirmed auth.users email this is (case-insensitive).';

-- One open invitation per address and organization.
create unique index invitations_open_email_idx on public.invitations (org_id, lower(email))
  where accepted_at is null;
-- What the policies and foreign keys filter on.
create index invitations_org_id_idx on public.invitations (org_id);
create index invitations_email_idx on public.invitations (lower(email));
create index invitations_invited_by_idx on public.invitations (invited_by);
create index invitations_accepted_by_idx on public.invitations (accepted_by);

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
-- Triggers
-- -----------------------------------------------------------------------------

-- An admin who is removed or demoted takes their open invitations with them, so a
-- former admin cannot come back through an invitation sent earlier.
create function private.revoke_invitations_of_former_admin() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from public.invitations i
  where i.org_id = old.org_id and i.invited_by = old.user_id and i.accepted_at is null;
  return null;
end;
$$;
comment on function private.revoke_invitations_of_former_admin() is
  'Deletes the open invitations of an admin who leaves, is removed or is demoted.';

create trigger memberships_revoke_invitations after update of role or delete
  on public.memberships
  for each row
  when (old.role = 'admin')
  execute function private.revoke_invitations_of_former_admin();

-- -----------------------------------------------------------------------------
-- Helpers
-- -----------------------------------------------------------------------------

create function private.confirmed_email() returns text
language sql
stable
security definer
set search_path = ''
as $$
  select lower(u.email) from auth.users u
  where u.id = (select auth.uid()) and u.email_confirmed_at is not null;
$$;
comment on function private.confirmed_email() is
  'The caller''s email as Supabase Auth confirmed it (not a token claim), lowercased.';

revoke all on function private.confirmed_email() from public;
grant execute on function private.confirmed_email() to authenticated;

-- -----------------------------------------------------------------------------
-- Policies
-- -----------------------------------------------------------------------------

create policy invitations_select_policy on public.invitations
  for select to authenticated
  using (
    org_id = any (array(select private.org_ids_with_role('{admin}')))
    or lower(email) = (select private.confirmed_email())
  );

create policy invitations_delete_policy on public.invitations
  for delete to authenticated
  using (org_id = any (array(select private.org_ids_with_role('{admin}'))));

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
  -- PT404 is PostgREST's way of answering 404.
  if invitation.id is null or caller is null
     or lower(invitation.email) is distinct from private.confirmed_email() then
    raise exception 'invitation % not found', accept_invitation.invitation_id
      using errcode = 'PT404';
  end if;
  if invitation.accepted_at is not null then
    raise exception 'invitation % was already accepted', invitation.id using errcode = '23505';
  end if;
  if invitation.expires_at < now() then
    raise exception 'invitation % expired at %', invitation.id, invitation.expires_at
      using errcode = '22023', hint = 'Ask an admin of the organization to invite you again.';
  end if;
  -- Only an invitation from a current admin admits anyone.
  if not exists (
    select 1 from public.memberships m
    where m.org_id = invitation.org_id and m.user_id = invitation.invited_by and m.role = 'admin'
  ) then
    raise exception 'invitation % is no longer valid: its sender is not an admin', invitation.id
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
  'The invited user (matched by confirmed email) joins with the invited role.';

revoke all on function public.invite_member(uuid, text, public.member_role) from public, anon;
revoke all on function public.accept_invitation(uuid) from public, anon;
grant execute on function public.invite_member(uuid, text, public.member_role) to authenticated;
grant execute on function public.accept_invitation(uuid) to authenticated;
