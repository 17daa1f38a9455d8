-- 00_platform.test.sql: what hosted Supabase provides before our migrations (local/platform.sql
-- locally), checked from the migrating role `postgres` and from each API role. Runs with pg_prove
-- as `postgres`, the way `supabase test db` does; pgTAP is already installed in schema extensions.
-- Everything happens in one transaction that is rolled back.

set search_path to public, extensions;

begin;
select plan(86);

-- ============================================================================================
-- Actor: postgres (the role migrations and `supabase db push` run as)
-- ============================================================================================

select is(current_user::text, 'postgres', 'the suite runs as postgres');

-- Roles ---------------------------------------------------------------------------------------

select is((select rolsuper from pg_roles where rolname = 'postgres'), false,
  'postgres is not a superuser, as on hosted');
select ok((select rolbypassrls and rolcreaterole and rolcreatedb and rolcanlogin and rolreplication
           from pg_roles where rolname = 'postgres'),
  'postgres: LOGIN CREATEROLE CREATEDB REPLICATION BYPASSRLS');
select ok((select rolbypassrls and not rolcanlogin and not rolsuper
           from pg_roles where rolname = 'service_role'),
  'service_role: NOLOGIN BYPASSRLS, not a superuser');
select ok((select not rolcanlogin and not rolbypassrls and not rolsuper
           from pg_roles where rolname = 'anon'),
  'anon: NOLOGIN, no BYPASSRLS');
select ok((select not rolcanlogin and not rolbypassrls and not rolsuper
           from pg_roles where rolname = 'authenticated'),
  'authenticated: NOLOGIN, no BYPASSRLS');
select ok((select rolcanlogin and not rolinherit and not rolbypassrls and not rolsuper
           from pg_roles where rolname = 'authenticator'),
  'authenticator: LOGIN NOINHERIT, no BYPASSRLS');
select is_member_of('anon', array['authenticator', 'postgres'], 'authenticator and postgres can become anon');
select is_member_of('authenticated', array['authenticator', 'postgres'],
  'authenticator and postgres can become authenticated');
select is_member_of('service_role', array['authenticator', 'postgres'],
  'authenticator and postgres can become service_role');

-- Database, schema public, default privileges -------------------------------------------------

select ok(has_database_privilege('postgres', 'postgres', 'CREATE'),
  'postgres may create schemas (supabase db push creates supabase_migrations)');
select ok(has_schema_privilege('postgres', 'public', 'CREATE'), 'postgres may create in public');
select schema_privs_are('public', 'anon', array['USAGE'], 'anon has only USAGE on public');

create table public.platform_probe (id int primary key, note text);
alter table public.platform_probe enable row level security;
select table_owner_is('public', 'platform_probe', 'postgres', 'tables created by postgres are owned by postgres');
select ok(has_table_privilege('anon', 'public.platform_probe', 'SELECT')
          and has_table_privilege('authenticated', 'public.platform_probe', 'INSERT'),
  'hosted default privileges grant new public tables to the API roles (migrations must revoke)');

-- auth.uid() / auth.role() / auth.email() / auth.jwt() -----------------------------------------

select is(auth.uid(), null::uuid, 'auth.uid() is null without a JWT');
select is(auth.role(), null::text, 'auth.role() is null without a JWT');
select is(auth.email(), null::text, 'auth.email() is null without a JWT');
select is(auth.jwt(), null::jsonb, 'auth.jwt() is null without a JWT');

set local request.jwt.claims to
  '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated","email":"ada@example.com","aal":"aal1"}';
select is(auth.uid(), '11111111-1111-4111-8111-111111111111'::uuid, 'auth.uid() reads sub from request.jwt.claims');
select is(auth.role(), 'authenticated', 'auth.role() reads role from request.jwt.claims');
select is(auth.email(), 'ada@example.com', 'auth.email() reads email from request.jwt.claims');
select is(auth.jwt() ->> 'aal', 'aal1', 'auth.jwt() returns every claim');

set local request.jwt.claim.sub to '22222222-2222-4222-8222-222222222222';
select is(auth.uid(), '22222222-2222-4222-8222-222222222222'::uuid,
  'the legacy request.jwt.claim.sub setting takes precedence, as hosted');
set local request.jwt.claim.sub to '';
select is(auth.uid(), '11111111-1111-4111-8111-111111111111'::uuid,
  'an empty legacy claim falls back to request.jwt.claims');
set local request.jwt.claims to '';
select is(auth.uid(), null::uuid, 'empty claims give a null auth.uid()');

-- auth.users ---------------------------------------------------------------------------------

select table_owner_is('auth', 'users', 'supabase_auth_admin', 'auth.users is owned by supabase_auth_admin');
select ok((select relrowsecurity from pg_class where oid = 'auth.users'::regclass), 'auth.users has RLS enabled');

create function public.platform_probe_on_user() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.platform_probe (id, note) values (1, new.email) on conflict (id) do nothing;
  return new;
end $$;
select lives_ok(
  $$create trigger platform_probe_on_auth_user_created after insert on auth.users
    for each row execute function public.platform_probe_on_user()$$,
  'postgres can attach an on_auth_user_created-style trigger to auth.users');
select lives_ok(
  $$insert into auth.users (id, aud, role, email, email_confirmed_at, phone_confirmed_at)
    values ('11111111-1111-4111-8111-111111111111', 'authenticated', 'authenticated', 'ada@example.com',
            '2026-01-02 00:00:00+00', '2026-01-01 00:00:00+00')$$,
  'postgres can insert a user the way Supabase Auth does');
select is((select note from public.platform_probe where id = 1), 'ada@example.com',
  'the trigger on auth.users fired');
select is((select confirmed_at from auth.users where id = '11111111-1111-4111-8111-111111111111'),
  '2026-01-01 00:00:00+00'::timestamptz, 'confirmed_at is generated as the earliest confirmation');
select throws_ok(
  $$insert into auth.users (id, email) values ('33333333-3333-4333-8333-333333333333', 'ada@example.com')$$,
  '23505', null, 'emails are unique among non-SSO users');
select lives_ok(
  $$insert into auth.users (id, email, is_sso_user)
    values ('44444444-4444-4444-8444-444444444444', 'ada@example.com', true)$$,
  'SSO users may share an email (partial unique index, as hosted)');

-- realtime -----------------------------------------------------------------------------------

select ok((select relrowsecurity from pg_class where oid = 'realtime.messages'::regclass),
  'realtime.messages has RLS enabled');
select is((select partdefid::regclass::text from pg_partitioned_table
           where partrelid = 'realtime.messages'::regclass),
  'realtime.messages_default', 'realtime.messages has a default partition');
select is(realtime.topic(), null::text, 'realtime.topic() is null outside a send');
select lives_ok($$select realtime.send('{"n": 1}', 'probe', 'platform:probe', true)$$,
  'realtime.send works for postgres');
select is(realtime.topic(), 'platform:probe', 'realtime.send sets realtime.topic for the transaction');
select results_eq(
  $$select topic, event, extension, private from realtime.messages where topic = 'platform:probe'$$,
  $$values ('platform:probe'::text, 'probe'::text, 'broadcast'::text, true)$$,
  'realtime.send inserted one private broadcast message with the topic');
select ok((select payload ->> 'id' = id::text and payload ->> 'n' = '1'
           from realtime.messages where topic = 'platform:probe'),
  'the message payload carries its id, as hosted');

create function public.platform_probe_broadcast() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform realtime.broadcast_changes('platform:changes', tg_op, tg_op, tg_table_name,
    tg_table_schema, new, old);
  return null;
end $$;
create trigger platform_probe_broadcast after insert or update on public.platform_probe
  for each row execute function public.platform_probe_broadcast();
update public.platform_probe set note = 'changed' where id = 1;
select results_eq(
  $$select payload ->> 'operation', payload ->> 'table', payload ->> 'schema',
           payload -> 'record' ->> 'note', payload -> 'old_record' ->> 'note', event, private
    from realtime.messages where topic = 'platform:changes'$$,
  $$values ('UPDATE', 'platform_probe', 'public', 'changed', 'ada@example.com', 'UPDATE', true)$$,
  'realtime.broadcast_changes sends old_record, record, operation, table and schema');
select throws_ok(
  $$select realtime.broadcast_changes('t', 'e', 'INSERT', 'x', 'y', null, null, 'STATEMENT')$$,
  'P0001', 'Failed to process the row: function can only be triggered for each row, not for each statement',
  'realtime.broadcast_changes refuses statement-level use');

-- vault --------------------------------------------------------------------------------------

create temp table platform_secret as
  select vault.create_secret('s3cr3t-plaintext-value', 'platform_probe_secret', 'probe') as id;
select isnt((select id from platform_secret), null::uuid, 'vault.create_secret returns the new id');
select is((select decrypted_secret from vault.decrypted_secrets where id = (select id from platform_secret)),
  's3cr3t-plaintext-value', 'vault.decrypted_secrets returns the plaintext');
select ok((select position('s3cr3t' in secret) = 0 and secret <> 's3cr3t-plaintext-value'
           from vault.secrets where id = (select id from platform_secret)),
  'vault.secrets.secret does not contain the plaintext (encrypted at rest)');
select lives_ok(
  $$select vault.update_secret((select id from platform_secret), 'rotated-value', null, 'rotated')$$,
  'vault.update_secret works for postgres');
select results_eq(
  $$select name, description, decrypted_secret from vault.decrypted_secrets
    where id = (select id from platform_secret)$$,
  $$values ('platform_probe_secret'::text, 'rotated'::text, 'rotated-value'::text)$$,
  'vault.update_secret re-encrypts and keeps a null name');
select throws_ok($$select vault.create_secret('other', 'platform_probe_secret')$$, '23505', null,
  'secret names are unique');
select throws_ok($$insert into vault.secrets (secret) values ('plain')$$, '42501', null,
  'postgres cannot write vault.secrets directly, as on hosted');
select throws_ok($$select vault._local_root_key()$$, '42501', null,
  'postgres cannot call the local root key function');
select throws_ok($$select pg_read_file('supabase_vault_root.key')$$, '42501', null,
  'postgres cannot read the local root key file');
select throws_ok(
  $$select vault._local_decrypt(secret, gen_random_uuid()) from vault.secrets
    where id = (select id from platform_secret)$$,
  '39000', null, 'a ciphertext only decrypts for its own secret id');

-- net ----------------------------------------------------------------------------------------

create temp table platform_request as
  select net.http_post(url := 'http://127.0.0.1:9/hook', body := '{"campaign": "c1"}',
                       params := '{"q": "a b/c"}') as id;
select isnt((select id from platform_request), null::bigint, 'net.http_post returns a request id');
select results_eq(
  $$select method::text, url, convert_from(body, 'UTF8')::jsonb, headers ->> 'Content-Type',
           timeout_milliseconds
    from net.http_request_queue where id = (select id from platform_request)$$,
  $$values ('POST'::text, 'http://127.0.0.1:9/hook?q=a%20b%2Fc'::text, '{"campaign": "c1"}'::jsonb,
            'application/json'::text, 5000)$$,
  'net.http_post queued a POST with the JSON body, encoded params and JSON content type');
insert into platform_request select net.http_get('http://127.0.0.1:9/ping?x=1', '{"y": "2"}');
select results_eq(
  $$select q.method::text, q.url, q.body is null from net.http_request_queue q
    where q.id = (select max(id) from platform_request)$$,
  $$values ('GET'::text, 'http://127.0.0.1:9/ping?x=1&y=2'::text, true)$$,
  'net.http_get queued a GET without a body, appending params to an existing query');
select throws_ok(
  $$select net.http_post('http://127.0.0.1:9/', '{}', '{}', '{"Content-Type": "text/plain"}')$$,
  'P0001', 'Content-Type header must be "application/json"', 'net.http_post only sends JSON, as pg_net');

-- pg_cron ------------------------------------------------------------------------------------

select lives_ok($$select cron.schedule('platform-probe', '* * * * *', 'select 1')$$,
  'postgres can schedule a pg_cron job');
select ok(exists(select from cron.job where jobname = 'platform-probe' and username = 'postgres'),
  'postgres can read cron.job');
select throws_ok($$insert into cron.job (schedule, command) values ('* * * * *', 'select 1')$$,
  '42501', null, 'postgres cannot write cron.job directly, as on hosted');
select lives_ok($$select cron.unschedule('platform-probe')$$, 'postgres can unschedule its job');

-- publication ---------------------------------------------------------------------------------

select ok(exists(select from pg_publication where pubname = 'supabase_realtime'
                 and not puballtables and pubowner = 'postgres'::regrole),
  'publication supabase_realtime exists, is not FOR ALL TABLES and is owned by postgres');
select lives_ok($$alter publication supabase_realtime add table public.platform_probe$$,
  'postgres can add its tables to supabase_realtime');

-- RLS everywhere in public ---------------------------------------------------------------------

select is((select count(*)::int from pg_class
           where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')
             and not relrowsecurity),
  0, 'every table in schema public has row level security enabled');

-- ============================================================================================
-- Actor: anon (no JWT user)
-- ============================================================================================

set local role anon;
set local request.jwt.claims to '{"role":"anon"}';

select is(auth.role(), 'anon', 'anon: auth.role() is anon');
select throws_ok($$select * from vault.secrets$$, '42501', null, 'anon cannot read vault.secrets');
select throws_ok($$select * from vault.decrypted_secrets$$, '42501', null,
  'anon cannot read vault.decrypted_secrets');
select throws_ok($$select vault.create_secret('x')$$, '42501', null, 'anon cannot create secrets');
select throws_ok($$select * from auth.users$$, '42501', null, 'anon cannot read auth.users');
select is((select count(*)::int from realtime.messages), 0,
  'anon sees no realtime messages while no policy allows it');
set local client_min_messages to error;
select lives_ok($$select realtime.send('{}', 'probe', 'platform:anon', true)$$,
  'anon: a refused realtime.send is a warning, not an error');
reset client_min_messages;

-- ============================================================================================
-- Actor: authenticated (a signed-in user)
-- ============================================================================================

set local role authenticated;
set local request.jwt.claims to
  '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated","email":"ada@example.com"}';

select is(auth.uid(), '11111111-1111-4111-8111-111111111111'::uuid, 'authenticated: auth.uid() is the user');
select throws_ok($$select * from vault.secrets$$, '42501', null, 'authenticated cannot read vault.secrets');
select throws_ok($$select * from auth.users$$, '42501', null, 'authenticated cannot read auth.users');
select is((select count(*)::int from realtime.messages), 0,
  'authenticated sees no realtime messages while no policy allows it');
set local client_min_messages to error;
select lives_ok($$select realtime.send('{}', 'probe', 'platform:authenticated', true)$$,
  'authenticated: a refused realtime.send is a warning, not an error');
reset client_min_messages;
select lives_ok($$select net.http_get('http://127.0.0.1:9/')$$,
  'as on hosted, pg_net is callable by every role (EXECUTE and table grants to PUBLIC)');

-- ============================================================================================
-- Actor: service_role (the service key)
-- ============================================================================================

set local role service_role;
set local request.jwt.claims to '{"role":"service_role"}';

select is((select decrypted_secret from vault.decrypted_secrets where name = 'platform_probe_secret'),
  'rotated-value', 'service_role can read vault.decrypted_secrets, as on hosted');
select throws_ok($$insert into vault.secrets (secret) values ('plain')$$, '42501', null,
  'service_role cannot write vault.secrets directly');
select throws_ok($$select * from auth.users$$, '42501', null, 'service_role has no grant on auth.users');

-- ============================================================================================
-- Actor: postgres again
-- ============================================================================================

reset role;

select is((select count(*)::int from realtime.messages
           where topic in ('platform:anon', 'platform:authenticated')),
  0, 'RLS without policies refused the API roles'' broadcasts');

-- Platform schemas stay the platform's: our migrations run as postgres and must never create
-- objects in them (policies on realtime.messages and triggers on auth.users have no owner and
-- are the documented exceptions).
select is_empty($$
  select format('%s %s.%s (owner %s)', kind, nsp, name, owner) from (
    select 'relation' as kind, n.nspname as nsp, c.relname as name,
           pg_get_userbyid(c.relowner) as owner
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    union all
    select 'function', n.nspname, p.proname, pg_get_userbyid(p.proowner)
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    union all
    select 'type', n.nspname, t.typname, pg_get_userbyid(t.typowner)
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
  ) objects
  where nsp in ('auth', 'realtime', 'vault', 'net')
    and owner not in ('supabase_admin', 'supabase_auth_admin', 'supabase_realtime_admin')
$$, 'every object in auth, realtime, vault and net belongs to a platform role');
select is_empty($$
  select nspname from pg_namespace
  where nspname in ('auth', 'realtime', 'vault', 'net')
    and has_schema_privilege('postgres', oid, 'CREATE')
$$, 'postgres cannot create objects in auth, realtime, vault or net');
select throws_ok($$ alter table realtime.messages disable row level security $$, '42501', null,
  'postgres cannot change realtime.messages itself, as on hosted (supautils)');
select throws_ok($$ alter table realtime.messages add column probe int $$, '42501', null,
  'postgres cannot add columns to realtime.messages');
select lives_ok(
  $$ create policy platform_probe_policy on realtime.messages for select to authenticated
     using (realtime.topic() = 'platform:probe') $$,
  'postgres can add policies on realtime.messages, as on hosted');

select * from finish();
rollback;
