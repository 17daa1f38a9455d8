-- local/platform.sql: what hosted Supabase provides before user migrations run, and nothing more.
--
-- Run once, on a fresh cluster created with `initdb -U supabase_admin`, as the cluster superuser
-- `supabase_admin`, in database `postgres`, before `supabase db push` applies our migrations as
-- the NON-superuser `postgres` (exactly as on hosted, where `postgres` is not a superuser).
-- Never deployed: on hosted these objects come from the supabase/postgres image migrations, the
-- Auth (GoTrue) and Realtime services' own migrations, and the supabase_vault and pg_net
-- extensions. Every object carries a comment naming the hosted behaviour it reproduces.
--
-- Sources mirrored (read, not copied): supabase/postgres migrations/db (init-scripts, migrations)
-- and nix/tests/expected/{roles,z_15_roles,auth,realtime,vault}.out; supabase/auth migrations;
-- supabase/realtime tenant migrations (squash 2026-04, default partition, realtime admin setup);
-- supabase/vault 0.3.x; supabase/pg_net 0.1x upgrade scripts.
--
-- Everything runs in one transaction: a failure leaves the cluster untouched.

\set ON_ERROR_STOP on
begin;

do $$
begin
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
    raise exception 'platform.sql must run as the cluster superuser (supabase_admin), not %', current_user;
  end if;
  if current_database() <> 'postgres' then
    raise exception 'platform.sql must run in database postgres, not %', current_database();
  end if;
end $$;

-- ============================================================================================
-- 1. Roles
-- ============================================================================================

-- The API roles PostgREST / Realtime / Storage switch into. Hosted made them INHERIT in
-- 20230529180330_alter_api_roles_for_inherit; their statement timeouts come from the image's
-- initial schema.
create role anon nologin inherit;
create role authenticated nologin inherit;
create role service_role nologin inherit bypassrls;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
comment on role anon is
  'Hosted Supabase API role for requests without a user JWT (NOLOGIN, INHERIT since 2023-05, statement_timeout 3s).';
comment on role authenticated is
  'Hosted Supabase API role for requests carrying a user JWT (NOLOGIN, INHERIT since 2023-05, statement_timeout 8s).';
comment on role service_role is
  'Hosted Supabase API role for the service key: NOLOGIN, BYPASSRLS.';

-- The role PostgREST logs in as and then SET ROLEs from. Hosted also preloads safeupdate for it
-- (session_preload_libraries), which is not installed here.
create role authenticator login noinherit password 'postgres';
grant anon, authenticated, service_role to authenticator;
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
comment on role authenticator is
  'Hosted Supabase PostgREST login role: LOGIN NOINHERIT, member of anon/authenticated/service_role, statement_timeout and lock_timeout 8s (password "postgres" locally, as in supabase start).';

-- `postgres`: the role customers (and `supabase db push`) connect as. Hosted demotes it from
-- superuser (10000000000000_demote-postgres) and grants these predefined roles (z_15_roles.out).
-- On Postgres 15 hosted grants the API roles without ADMIN OPTION (CREATEROLE suffices there);
-- the WITH ADMIN OPTION grants are Postgres 16+ only (20250605172253).
create role postgres login nosuperuser createrole createdb replication bypassrls password 'postgres';
alter role postgres set search_path = "$user", public, extensions;
grant anon, authenticated, service_role to postgres;
grant pg_monitor, pg_read_all_data, pg_signal_backend to postgres;
grant execute on function pg_catalog.pg_reload_conf() to postgres;
comment on role postgres is
  'Hosted Supabase project owner role: NOT superuser; LOGIN CREATEROLE CREATEDB REPLICATION BYPASSRLS; member of anon, authenticated, service_role, pg_monitor, pg_read_all_data, pg_signal_backend (and locally of supabase_realtime_admin, see that role); search_path "$user", public, extensions (password "postgres" locally).';

-- The cluster superuser, as on hosted (supabase_admin is the bootstrap superuser there too).
alter role supabase_admin set search_path = "$user", public, auth, extensions;
comment on role supabase_admin is
  'Hosted Supabase platform superuser (bootstrap role of the cluster); customers never log in as it.';

-- Owner of the auth schema's objects (Supabase Auth / GoTrue connects as it). Hosted revoked
-- CREATEROLE from it in 20260821 and revoked its membership from postgres in 20250421.
create role supabase_auth_admin login noinherit noreplication;
alter role supabase_auth_admin set search_path = auth;
alter role supabase_auth_admin set idle_in_transaction_session_timeout = 60000;
comment on role supabase_auth_admin is
  'Hosted Supabase Auth (GoTrue) service role: owns auth.users and the auth functions; NOINHERIT, search_path auth. No password locally: no Auth server runs here.';

-- Owner of the realtime schema's objects (the Realtime service connects as it).
create role supabase_realtime_admin login noinherit createrole replication;
alter role supabase_realtime_admin set search_path = realtime;
grant anon, authenticated, service_role to supabase_realtime_admin;
-- LOCAL DIVERGENCE: hosted revokes this membership and instead lets postgres create policies on
-- realtime.messages through supautils.policy_grants (an extension not available here). Realtime's
-- own migration keeps the membership when supautils is absent ("so postgres can manage policies
-- via inheritance"); we do the same so migrations can CREATE POLICY on realtime.messages.
-- To keep that from reaching further than hosted allows, the role owns nothing but
-- realtime.messages (and its partition) and has no CREATE on schema realtime: the realtime
-- functions belong to supabase_admin, so postgres can neither replace them nor add objects.
grant supabase_realtime_admin to postgres;
comment on role supabase_realtime_admin is
  'Hosted Supabase Realtime service role: owns realtime.messages (hosted: also the realtime functions); NOINHERIT CREATEROLE LOGIN REPLICATION, search_path realtime. Locally postgres is a member (hosted uses supautils.policy_grants instead) so migrations can add policies on realtime.messages. No password: no Realtime server runs here.';

-- ============================================================================================
-- 2. Database and schema public
-- ============================================================================================

-- Hosted: database postgres is owned by postgres (so postgres is pg_database_owner, which owns
-- schema public on Postgres 15 and holds CREATE on it), and postgres has ALL on the database.
alter database postgres owner to postgres;
grant all on database postgres to postgres;
grant create on database postgres to supabase_realtime_admin;

-- Schema public stays owned by pg_database_owner (Postgres 15 default, as hosted dumps show).
grant usage on schema public to postgres, anon, authenticated, service_role;
grant create, usage on schema public to supabase_realtime_admin;
comment on schema public is
  'standard public schema (hosted: owned by pg_database_owner = postgres; USAGE for anon, authenticated, service_role; default privileges grant ALL on new tables, sequences and functions to postgres and the API roles).';

-- Hosted default privileges: whatever postgres or supabase_admin create in public is granted to
-- postgres and the API roles (our migrations revoke explicitly; RLS does the rest).
alter default privileges for role postgres in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on functions to postgres, anon, authenticated, service_role;

-- ============================================================================================
-- 3. Schema extensions
-- ============================================================================================

create schema extensions authorization postgres;
grant usage on schema extensions to anon, authenticated, service_role;
comment on schema extensions is
  'Hosted Supabase extension namespace: owned by postgres, USAGE for anon/authenticated/service_role; pgcrypto and uuid-ossp are pre-installed here (as are pgtap and plpgsql_check locally, by the stack).';

create extension "uuid-ossp" with schema extensions;
create extension pgcrypto with schema extensions;

grant all on all tables in schema extensions to postgres;
grant all on all sequences in schema extensions to postgres;
grant all on all routines in schema extensions to postgres;
alter default privileges for role supabase_admin in schema extensions grant all on tables to postgres;
alter default privileges for role supabase_admin in schema extensions grant all on sequences to postgres;
alter default privileges for role supabase_admin in schema extensions grant all on functions to postgres;

-- ============================================================================================
-- 4. Schema auth: auth.users and the JWT helpers, as Supabase Auth (GoTrue) leaves them
-- ============================================================================================

create schema auth authorization supabase_admin;
grant usage on schema auth to anon, authenticated, service_role, postgres;
grant usage, create on schema auth to supabase_auth_admin;
comment on schema auth is
  'Hosted Supabase Auth schema: owned by supabase_admin, objects owned by supabase_auth_admin; USAGE for anon, authenticated, service_role, postgres (postgres lost CREATE here in 2025-04). Only auth.users and the JWT helpers are reproduced locally.';

create table auth.users (
  instance_id                 uuid,
  id                          uuid not null,
  aud                         varchar(255),
  role                        varchar(255),
  email                       varchar(255),
  encrypted_password          varchar(255),
  email_confirmed_at          timestamptz,
  invited_at                  timestamptz,
  confirmation_token          varchar(255),
  confirmation_sent_at        timestamptz,
  recovery_token              varchar(255),
  recovery_sent_at            timestamptz,
  email_change_token_new      varchar(255),
  email_change                varchar(255),
  email_change_sent_at        timestamptz,
  last_sign_in_at             timestamptz,
  raw_app_meta_data           jsonb,
  raw_user_meta_data          jsonb,
  is_super_admin              boolean,
  created_at                  timestamptz,
  updated_at                  timestamptz,
  phone                       text default null,
  phone_confirmed_at          timestamptz,
  phone_change                text default '',
  phone_change_token          varchar(255) default '',
  phone_change_sent_at        timestamptz,
  confirmed_at                timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current  varchar(255) default '',
  email_change_confirm_status smallint default 0,
  banned_until                timestamptz,
  reauthentication_token      varchar(255) default '',
  reauthentication_sent_at    timestamptz,
  is_sso_user                 boolean not null default false,
  deleted_at                  timestamptz,
  is_anonymous                boolean not null default false,
  constraint users_pkey primary key (id),
  constraint users_phone_key unique (phone),
  constraint users_email_change_confirm_status_check
    check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2)
);
alter table auth.users owner to supabase_auth_admin;
alter table auth.users enable row level security;
comment on table auth.users is
  'Auth: Stores user login data within a secure schema. (Hosted Supabase Auth table, columns, defaults, checks and indexes as GoTrue migrations leave them; owned by supabase_auth_admin, RLS enabled, postgres has ALL and SELECT WITH GRANT OPTION, the API roles have nothing.)';
comment on column auth.users.is_sso_user is
  'Auth: Set this column to true when the account comes from SSO. These accounts can have duplicate emails.';
comment on column auth.users.is_anonymous is
  'Hosted Supabase Auth: true for users created by anonymous sign-in (they still get the authenticated role).';
comment on column auth.users.confirmed_at is
  'Hosted Supabase Auth: generated, the earlier of email_confirmed_at and phone_confirmed_at.';

create unique index confirmation_token_idx on auth.users (confirmation_token)
  where confirmation_token::text !~ '^[0-9 ]*$';
create unique index email_change_token_current_idx on auth.users (email_change_token_current)
  where email_change_token_current::text !~ '^[0-9 ]*$';
create unique index email_change_token_new_idx on auth.users (email_change_token_new)
  where email_change_token_new::text !~ '^[0-9 ]*$';
create unique index reauthentication_token_idx on auth.users (reauthentication_token)
  where reauthentication_token::text !~ '^[0-9 ]*$';
create unique index recovery_token_idx on auth.users (recovery_token)
  where recovery_token::text !~ '^[0-9 ]*$';
create unique index users_email_partial_key on auth.users (email) where is_sso_user = false;
create index users_instance_id_email_idx on auth.users (instance_id, lower(email::text));
create index users_instance_id_idx on auth.users (instance_id);
create index users_is_anonymous_idx on auth.users (is_anonymous);
comment on index auth.users_email_partial_key is
  'Auth: A partial unique index that applies only when is_sso_user is false';
comment on index auth.confirmation_token_idx is
  'Hosted Supabase Auth: unique non-OTP confirmation tokens (OTP-only values are excluded).';
comment on index auth.email_change_token_current_idx is
  'Hosted Supabase Auth: unique non-OTP email change tokens (current address).';
comment on index auth.email_change_token_new_idx is
  'Hosted Supabase Auth: unique non-OTP email change tokens (new address).';
comment on index auth.reauthentication_token_idx is
  'Hosted Supabase Auth: unique non-OTP reauthentication tokens.';
comment on index auth.recovery_token_idx is
  'Hosted Supabase Auth: unique non-OTP recovery tokens.';
comment on index auth.users_instance_id_email_idx is
  'Hosted Supabase Auth: lookup by instance and lower-cased email.';
comment on index auth.users_instance_id_idx is 'Hosted Supabase Auth: lookup by instance.';
comment on index auth.users_is_anonymous_idx is 'Hosted Supabase Auth: filter anonymous users.';
comment on index auth.users_pkey is 'Hosted Supabase Auth: users are identified by id (uuid).';
comment on index auth.users_phone_key is 'Hosted Supabase Auth: phone numbers are unique among users.';

-- Grants as hosted: postgres may read and write auth.users (so a migration can attach the
-- documented on_auth_user_created trigger and reference auth.users(id)); SELECT is grantable
-- (GoTrue 20240612 enable_rls_update_grants). The API roles get nothing.
grant all on auth.users to postgres;
grant select on auth.users to postgres with grant option;
alter default privileges for role supabase_auth_admin in schema auth grant all on tables to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on sequences to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on functions to postgres;

-- The JWT helpers, exactly as hosted defines them (legacy request.jwt.claim.<x> first, then the
-- request.jwt.claims JSON PostgREST >= 9 sets). No SET search_path: hosted keeps them inlinable.
create function auth.uid() returns uuid
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create function auth.role() returns text
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create function auth.email() returns text
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create function auth.jwt() returns jsonb
language sql stable
as $$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
-- EXECUTE stays granted to PUBLIC (hosted never revokes it); postgres also gets ALL as hosted.
grant all on function auth.uid(), auth.role(), auth.email(), auth.jwt() to postgres;
comment on function auth.uid() is
  'Hosted Supabase Auth auth.uid(): the JWT sub claim (legacy request.jwt.claim.sub, else request.jwt.claims ->> sub), null without a JWT. Hosted marks it deprecated in favour of auth.jwt() ->> ''sub''.';
comment on function auth.role() is
  'Hosted Supabase Auth auth.role(): the JWT role claim (legacy request.jwt.claim.role, else request.jwt.claims ->> role). Deprecated on hosted in favour of auth.jwt() ->> ''role''.';
comment on function auth.email() is
  'Hosted Supabase Auth auth.email(): the JWT email claim (legacy request.jwt.claim.email, else request.jwt.claims ->> email). Deprecated on hosted in favour of auth.jwt() ->> ''email''.';
comment on function auth.jwt() is
  'Hosted Supabase Auth auth.jwt(): all JWT claims as jsonb (request.jwt.claim, else request.jwt.claims), null without a JWT.';

-- ============================================================================================
-- 5. Publication supabase_realtime
-- ============================================================================================

create publication supabase_realtime;
alter publication supabase_realtime owner to postgres;
comment on publication supabase_realtime is
  'Hosted Supabase Realtime Postgres Changes publication: created empty (not FOR ALL TABLES), owned by postgres so migrations can ALTER PUBLICATION ... ADD TABLE. No Realtime server reads it locally.';

-- ============================================================================================
-- 6. Schema realtime: Broadcast from the database (realtime.messages, send, broadcast_changes)
-- ============================================================================================

create schema realtime authorization supabase_admin;
grant usage on schema realtime to postgres with grant option;
grant usage on schema realtime to anon, authenticated, service_role;
grant usage on schema realtime to supabase_realtime_admin with grant option;
comment on schema realtime is
  'Hosted Supabase Realtime schema: owned by supabase_admin, realtime.messages owned by supabase_realtime_admin (no CREATE on the schema for it); USAGE for postgres (grantable, no CREATE), anon, authenticated, service_role. Only Broadcast-from-database objects are reproduced (no Postgres Changes machinery: realtime.subscription, apply_rls, list_changes).';

create table realtime.messages (
  topic       text not null,
  extension   text not null,
  payload     jsonb,
  event       text,
  private     boolean default false,
  updated_at  timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),
  id          uuid not null default gen_random_uuid(),
  constraint messages_pkey primary key (id, inserted_at)
) partition by range (inserted_at);
create index messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic)
  where extension = 'broadcast' and private is true;
-- Hosted Realtime creates daily partitions (messages_YYYY_MM_DD) ahead of time and drops old
-- ones; it also adds this DEFAULT partition (20260604 add_messages_default_partition). Locally
-- there is no Realtime server, so the default partition takes every row and nothing is dropped.
create table realtime.messages_default partition of realtime.messages default;
alter table realtime.messages owner to supabase_realtime_admin;
alter table realtime.messages_default owner to supabase_realtime_admin;
alter table realtime.messages enable row level security;
comment on table realtime.messages is
  'Hosted Supabase Realtime Broadcast messages table (as the Realtime service migrations define it): partitioned by range (inserted_at); hosted creates daily partitions and keeps a few days, locally a DEFAULT partition holds everything. RLS enabled: SELECT/INSERT policies on it authorise private channels. Owned by supabase_realtime_admin.';
comment on table realtime.messages_default is
  'DEFAULT partition of realtime.messages (hosted Realtime adds one too, beside the daily partitions it manages); locally it receives every message.';
comment on index realtime.messages_inserted_at_topic_index is
  'Hosted Supabase Realtime: replay lookups of private broadcast messages by time and topic.';
comment on index realtime.messages_pkey is
  'Hosted Supabase Realtime: messages are keyed by (id, inserted_at), the partition key being part of it.';
comment on index realtime.messages_default_pkey is 'Default partition''s share of realtime.messages_pkey.';
comment on index realtime.messages_default_inserted_at_topic_idx is
  'Default partition''s share of realtime.messages_inserted_at_topic_index.';

-- Grants as hosted (Realtime squash migration): the API roles and postgres read/insert/update
-- (RLS decides which rows), only postgres may delete/truncate/reference/trigger.
grant select, insert, update on realtime.messages to postgres, anon, authenticated, service_role;
grant delete, truncate, references, trigger on realtime.messages to postgres;

create function realtime.topic() returns text
language sql stable
as $$
select nullif(current_setting('realtime.topic', true), '')::text;
$$;

create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
declare
  generated_id uuid;
  final_payload jsonb;
begin
  begin
    generated_id := gen_random_uuid();
    -- the message carries its own id in the payload unless the caller supplied one
    if payload ? 'id' then
      final_payload := payload;
    else
      final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    end if;
    -- policies on realtime.messages read the topic through realtime.topic()
    execute format('set local realtime.topic to %L', topic);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception
    when others then
      raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end;
end;
$$;

create function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW'
) returns void
language plpgsql
as $$
declare
  row_data jsonb := '{}'::jsonb;
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation = 'INSERT' or operation = 'UPDATE' or operation = 'DELETE' then
    row_data := jsonb_build_object(
      'old_record', old, 'record', new, 'operation', operation,
      'table', table_name, 'schema', table_schema);
    perform realtime.send(row_data, event_name, topic_name);
  else
    raise exception 'Unexpected operation type: %', operation;
  end if;
exception
  when others then
    raise exception 'Failed to process the row: %', sqlerrm;
end;
$$;

-- Owned by supabase_admin (hosted: supabase_realtime_admin) so that postgres, a member of
-- supabase_realtime_admin locally, cannot replace them.
alter function realtime.topic() owner to supabase_admin;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_admin;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
  owner to supabase_admin;
-- EXECUTE stays granted to PUBLIC, as hosted: realtime.send runs as the caller, so RLS on
-- realtime.messages decides whether the insert is allowed (a refusal becomes a WARNING).
comment on function realtime.topic() is
  'Hosted Supabase Realtime realtime.topic(): the topic being authorised or sent to (setting realtime.topic), for use in realtime.messages policies.';
comment on function realtime.send(jsonb, text, text, boolean) is
  'Hosted Supabase Realtime realtime.send(): inserts a broadcast message (extension ''broadcast'', payload gets an id) into realtime.messages as the caller after SET LOCAL realtime.topic; any error becomes WARNING ErrorSendingBroadcastMessage instead of aborting the caller. Private by default.';
comment on function realtime.broadcast_changes(text, text, text, text, text, record, record, text) is
  'Hosted Supabase Realtime realtime.broadcast_changes(): for row triggers; sends {old_record, record, operation, table, schema} to a topic through realtime.send (private). Statement-level use and unknown operations raise.';

-- ============================================================================================
-- 7. Schema vault: Supabase Vault's interface, encrypted at rest with a local root key
-- ============================================================================================

-- The local root key. Hosted Vault encrypts with libsodium (XChaCha20 deterministic AEAD, as
-- pgsodium did) under a root key the server holds outside the database. Locally the key is 32
-- random bytes written once to a file inside the cluster's data directory (0700, owned by the
-- server's OS user) and read only by the superuser-owned function below. It cannot live in a
-- table: hosted grants postgres pg_read_all_data, which reads every table in every schema.
do $$
begin
  execute format('copy (select pg_catalog.encode(extensions.gen_random_bytes(32), ''hex'')) to %L',
                 current_setting('data_directory') || '/supabase_vault_root.key');
end $$;

create schema vault authorization supabase_admin;
comment on schema vault is
  'Hosted Supabase Vault schema (supabase_vault 0.3): owned by supabase_admin; USAGE for postgres (grantable) and service_role; nothing for anon/authenticated.';

create function vault._local_root_key() returns text
language sql stable security definer
set search_path = ''
as $$
  select pg_catalog.btrim(pg_catalog.pg_read_file('supabase_vault_root.key'), E' \n')
$$;
alter function vault._local_root_key() owner to supabase_admin;
revoke all on function vault._local_root_key() from public;
comment on function vault._local_root_key() is
  'Local stand-in for the root key hosted Vault keeps on the server (libsodium/pgsodium server key, never in a table): reads $PGDATA/supabase_vault_root.key, generated once per cluster by platform.sql. Superuser only.';

create function vault._local_encrypt(plaintext text, secret_id uuid) returns text
language sql volatile security definer
set search_path = ''
as $$
  select pg_catalog.encode(
    extensions.pgp_sym_encrypt(
      plaintext,
      vault._local_root_key() || ':' || secret_id::text,
      'cipher-algo=aes256'),
    'base64')
$$;

create function vault._local_decrypt(ciphertext text, secret_id uuid) returns text
language sql stable security definer
set search_path = ''
as $$
  select extensions.pgp_sym_decrypt(
    pg_catalog.decode(ciphertext, 'base64'),
    vault._local_root_key() || ':' || secret_id::text)
$$;
alter function vault._local_encrypt(text, uuid) owner to supabase_admin;
alter function vault._local_decrypt(text, uuid) owner to supabase_admin;
revoke all on function vault._local_encrypt(text, uuid) from public;
revoke all on function vault._local_decrypt(text, uuid) from public;
comment on function vault._local_encrypt(text, uuid) is
  'Local stand-in for hosted Vault''s vault._crypto_aead_det_encrypt (libsodium AEAD bound to the secret id): pgp_sym_encrypt (AES-256) under the local root key combined with the secret id, base64. Superuser only.';
comment on function vault._local_decrypt(text, uuid) is
  'Local stand-in for hosted Vault''s vault._crypto_aead_det_decrypt: decrypts what _local_encrypt produced for that secret id. Executable by postgres and service_role, as hosted grants the decrypt function (the decrypted_secrets view calls it as the querying role).';

create table vault.secrets (
  id          uuid primary key default gen_random_uuid(),
  name        text,
  description text not null default '',
  secret      text not null,
  key_id      uuid,
  nonce       bytea default extensions.gen_random_bytes(16),
  created_at  timestamptz not null default current_timestamp,
  updated_at  timestamptz not null default current_timestamp
);
create unique index secrets_name_idx on vault.secrets (name) where name is not null;
comment on table vault.secrets is
  'Table with encrypted `secret` column for storing sensitive information on disk. (Hosted supabase_vault 0.3 table; `secret` holds base64 ciphertext, written only through vault.create_secret / vault.update_secret. key_id and nonce are kept for shape; locally encryption uses the root key, not them.)';
comment on index vault.secrets_name_idx is 'Hosted Supabase Vault: secret names are unique when set.';
comment on index vault.secrets_pkey is 'Hosted Supabase Vault: secrets are identified by id (uuid).';

create view vault.decrypted_secrets as
select s.id,
       s.name,
       s.description,
       s.secret,
       vault._local_decrypt(s.secret, s.id) as decrypted_secret,
       s.key_id,
       s.nonce,
       s.created_at,
       s.updated_at
from vault.secrets s;
comment on view vault.decrypted_secrets is
  'Hosted Supabase Vault view: vault.secrets plus the plaintext in decrypted_secret, decrypted on read (readable by postgres and service_role only).';

create function vault.create_secret(
  new_secret text, new_name text default null, new_description text default '',
  new_key_id uuid default null
) returns uuid
language plpgsql security definer
set search_path = ''
as $$
declare
  new_id uuid := pg_catalog.gen_random_uuid();
begin
  -- new_key_id is accepted and ignored, as in supabase_vault 0.3
  insert into vault.secrets (id, secret, name, description)
  values (new_id, vault._local_encrypt(new_secret, new_id), new_name, new_description);
  return new_id;
end
$$;

create function vault.update_secret(
  secret_id uuid, new_secret text default null, new_name text default null,
  new_description text default null, new_key_id uuid default null
) returns void
language plpgsql security definer
set search_path = ''
as $$
begin
  -- new_key_id is accepted and ignored, as in supabase_vault 0.3
  update vault.secrets s
  set secret = case when new_secret is null then s.secret
                    else vault._local_encrypt(new_secret, s.id) end,
      name = coalesce(new_name, s.name),
      description = coalesce(new_description, s.description),
      updated_at = now()
  where s.id = secret_id;
end
$$;
alter function vault.create_secret(text, text, text, uuid) owner to supabase_admin;
alter function vault.update_secret(uuid, text, text, text, uuid) owner to supabase_admin;
comment on function vault.create_secret(text, text, text, uuid) is
  'Hosted Supabase Vault vault.create_secret(): stores a secret encrypted, returns its id; security definer (owner supabase_admin) because callers have no INSERT on vault.secrets. Executable by postgres and service_role only.';
comment on function vault.update_secret(uuid, text, text, text, uuid) is
  'Hosted Supabase Vault vault.update_secret(): re-encrypts the secret and/or changes name/description (null keeps), bumps updated_at; security definer. Executable by postgres and service_role only.';

-- Grants as hosted (supabase/postgres vault setup for supabase_vault != 0.2.8): postgres gets
-- them WITH GRANT OPTION, service_role keeps read/delete/execute, anon/authenticated get nothing.
-- Neither has INSERT/UPDATE on the table: writes go through the functions.
revoke all on function vault.create_secret(text, text, text, uuid) from public;
revoke all on function vault.update_secret(uuid, text, text, text, uuid) from public;
grant usage on schema vault to postgres with grant option;
grant select, delete, truncate, references on vault.secrets, vault.decrypted_secrets
  to postgres with grant option;
grant execute on function vault.create_secret(text, text, text, uuid),
                          vault.update_secret(uuid, text, text, text, uuid),
                          vault._local_decrypt(text, uuid)
  to postgres with grant option;
grant usage on schema vault to service_role;
grant select, delete on vault.secrets, vault.decrypted_secrets to service_role;
grant execute on function vault.create_secret(text, text, text, uuid),
                          vault.update_secret(uuid, text, text, text, uuid),
                          vault._local_decrypt(text, uuid)
  to service_role;

-- ============================================================================================
-- 8. Schema net: pg_net's SQL interface (the local pg_net worker drains the queue)
-- ============================================================================================

create schema net authorization supabase_admin;
comment on schema net is
  'Hosted Supabase pg_net (0.1x) schema: owned by supabase_admin; USAGE for PUBLIC (pg_net >= 0.12) and explicitly postgres/anon/authenticated/service_role (supabase grant_pg_net_access). Locally a separate worker process drains net.http_request_queue after commit, as pg_net''s background worker does.';

create domain net.http_method as text
  check (value ilike 'get' or value ilike 'post' or value ilike 'delete');
comment on domain net.http_method is 'pg_net: HTTP methods the worker supports (GET, POST, DELETE).';

create unlogged table net.http_request_queue (
  id                   bigserial,
  method               net.http_method not null,
  url                  text not null,
  headers              jsonb not null,
  body                 bytea,
  timeout_milliseconds integer not null
);
comment on table net.http_request_queue is
  'pg_net request queue (UNLOGGED, no primary key, as pg_net >= 0.11): net.http_* insert here; the worker takes committed rows and deletes them (at most once delivery). An aborted transaction queues nothing.';
comment on sequence net.http_request_queue_id_seq is 'pg_net: request ids returned by net.http_*.';

create unlogged table net._http_response (
  id           bigint,
  status_code  integer,
  content_type text,
  headers      jsonb,
  content      text,
  timed_out    boolean,
  error_msg    text,
  created      timestamptz not null default now()
);
comment on table net._http_response is
  'pg_net responses (UNLOGGED): one row per finished request, keyed by the request id; the worker deletes rows older than pg_net''s TTL (6 hours).';

create function net._urlencode_string(string varchar) returns text
language sql immutable
as $$
  select coalesce(string_agg(
           case when ch ~ '^[A-Za-z0-9._~-]$' then ch
                else upper(regexp_replace(encode(convert_to(ch, 'UTF8'), 'hex'), '(..)', '%\1', 'g'))
           end, '' order by i), '')
  from regexp_split_to_table(string::text, '') with ordinality as t(ch, i)
$$;
comment on function net._urlencode_string(varchar) is
  'pg_net: percent-encodes a string (curl_easy_escape: everything but ALPHA DIGIT - . _ ~), written in SQL locally (pg_net does it in C).';

create function net._encode_url_with_params_array(url text, params_array text[]) returns text
language sql immutable strict
as $$
  select case
    when cardinality(params_array) = 0 then url
    else url || case when position('?' in url) > 0 then '&' else '?' end
             || array_to_string(params_array, '&')
  end
$$;
comment on function net._encode_url_with_params_array(text, text[]) is
  'pg_net: appends already-encoded key=value pairs to the URL query string (? or &), written in SQL locally.';

create function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql volatile
as $$
declare
  request_id bigint;
  params_array text[];
begin
  select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
  into params_array
  from jsonb_each_text(params);

  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params_array(url, params_array), headers, timeout_milliseconds)
  returning id into request_id;

  return request_id;
end
$$;
comment on function net.http_get(text, jsonb, jsonb, integer) is
  'pg_net net.http_get(): queues an asynchronous GET (params url-encoded into the query string), returns the request id; sent after commit. SECURITY INVOKER, executable by PUBLIC (pg_net >= 0.12, supabase 20250220 pg_net_perms_fix).';

create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql volatile
as $$
declare
  request_id bigint;
  params_array text[];
  content_type text;
begin
  select header_value into content_type
  from jsonb_each_text(coalesce(headers, '{}'::jsonb)) r(header_name, header_value)
  where lower(header_name) = 'content-type'
  limit 1;

  -- headers given without a content type get the JSON one back
  if content_type is null then
    select headers || '{"Content-Type": "application/json"}'::jsonb into headers;
  end if;

  if content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;

  select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
  into params_array
  from jsonb_each_text(params);

  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._encode_url_with_params_array(url, params_array), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;

  return request_id;
end
$$;
comment on function net.http_post(text, jsonb, jsonb, jsonb, integer) is
  'pg_net net.http_post(): queues an asynchronous JSON POST (body as UTF-8 JSON, params url-encoded into the query string, Content-Type must be application/json), returns the request id; sent after commit. SECURITY INVOKER, executable by PUBLIC.';

create function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000,
  body jsonb default null
) returns bigint
language plpgsql volatile
as $$
declare
  request_id bigint;
  params_array text[];
begin
  select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
  into params_array
  from jsonb_each_text(params);

  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params_array(url, params_array), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;

  return request_id;
end
$$;
comment on function net.http_delete(text, jsonb, jsonb, integer, jsonb) is
  'pg_net net.http_delete(): queues an asynchronous DELETE (optional JSON body since pg_net 0.15), returns the request id; sent after commit. SECURITY INVOKER, executable by PUBLIC.';

-- Grants as pg_net >= 0.12 and supabase's pg_net access trigger leave them: the schema, tables
-- and sequence are open to PUBLIC, the functions are SECURITY INVOKER with PUBLIC EXECUTE.
grant usage on schema net to public;
grant usage on schema net to postgres, anon, authenticated, service_role;
grant all on all tables in schema net to public;
grant all on all sequences in schema net to public;

-- ============================================================================================
-- 9. pg_cron
-- ============================================================================================

-- On hosted a migration's own `create extension if not exists pg_cron with schema pg_catalog`
-- creates it (supautils lets postgres do so) and the grant_pg_cron_access event trigger then
-- grants postgres what follows. Locally postgres cannot create it without supautils, so it is
-- pre-created here (the cluster preloads pg_cron with cron.database_name = 'postgres') and the
-- migration's `if not exists` finds it. Debian ships pg_cron 1.4 (minute schedules); hosted 1.6.
create extension if not exists pg_cron with schema pg_catalog;
grant usage on schema cron to postgres with grant option;
alter default privileges in schema cron grant all on tables to postgres with grant option;
alter default privileges in schema cron grant all on functions to postgres with grant option;
alter default privileges in schema cron grant all on sequences to postgres with grant option;
grant all privileges on all tables in schema cron to postgres with grant option;
revoke all on table cron.job from postgres;
grant select on table cron.job to postgres with grant option;
revoke trigger on cron.job_run_details from postgres;
comment on schema cron is
  'pg_cron (hosted: created by the migration through supautils; locally pre-created by platform.sql). postgres: USAGE (grantable), SELECT on cron.job, ALL but TRIGGER on cron.job_run_details, as hosted grant_pg_cron_access leaves it; jobs are added with cron.schedule, never by writing cron.job.';


-- ============================================================================================
-- 10. Local guard: what supautils forbids on hosted
-- ============================================================================================

-- LOCAL ONLY. Hosted's supautils stops postgres from changing platform schemas beyond adding
-- policies on realtime.messages and triggers on auth.users. Locally postgres holds more (it is
-- a member of supabase_realtime_admin, see that role), so this event trigger refuses any other
-- DDL a postgres session makes there: a migration that would fail on hosted fails here too.
create schema _local authorization supabase_admin;
revoke all on schema _local from public;
comment on schema _local is
  'Local stack only (not on hosted): the event trigger standing in for supautils.';

create function _local.guard_platform_schemas() returns event_trigger
language plpgsql
set search_path = ''
as $$
declare
  cmd record;
begin
  if session_user::text <> 'postgres' then
    return;
  end if;
  for cmd in select * from pg_catalog.pg_event_trigger_ddl_commands() loop
    if cmd.schema_name in ('auth', 'realtime', 'vault', 'net')
       and cmd.command_tag not in ('CREATE POLICY', 'ALTER POLICY', 'CREATE TRIGGER') then
      raise exception '% %: changing platform schema % is refused on hosted Supabase',
        cmd.command_tag, cmd.object_identity, cmd.schema_name
        using errcode = '42501',
              hint = 'Only policies on realtime.messages and triggers on auth.users are allowed.';
    end if;
  end loop;
end;
$$;
comment on function _local.guard_platform_schemas() is
  'Local stand-in for supautils: refuses DDL by postgres in auth, realtime, vault and net.';

create event trigger guard_platform_schemas on ddl_command_end
  execute function _local.guard_platform_schemas();
comment on event trigger guard_platform_schemas is
  'Local stand-in for supautils (see _local.guard_platform_schemas).';

commit;
