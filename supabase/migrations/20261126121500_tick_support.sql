-- =============================================================================
-- What the campaign-tick function needs besides the claim and its outcomes
-- (20261126120000): checking claims again just before their send (a STOP, a pause or a
-- cancel committed since the claim stops it), handing back claims it never attempted,
-- recording outcomes it cannot know, taking a number Twilio refuses out of rotation, and
-- finishing the campaigns a tick touched (completing those with nothing left, announcing
-- each one's progress once per tick on its private Realtime channel campaign:<id>).
-- =============================================================================

-- Of these claims, the ones still to be sent now: still claimed with this token, their
-- campaign still running, their number not suppressed. Read after taking each
-- organization's suppression lock shared, as the claim does, so a STOP committed before
-- this call is seen.
create function private.sendable_claims(target_ids bigint[], claim_tokens uuid[])
returns setof bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  org uuid;
begin
  for org in
    select distinct t.org_id from public.campaign_targets t where t.id = any (target_ids)
    order by 1
  loop
    perform pg_catalog.pg_advisory_xact_lock_shared(private.suppression_lock_key(org));
  end loop;
  return query
  select t.id
  from unnest(target_ids, claim_tokens) as c (id, token)
  join public.campaign_targets t on t.id = c.id and t.claim_token = c.token
  join public.campaigns k on k.org_id = t.org_id and k.id = t.campaign_id
  where t.status = 'claimed' and k.status = 'running'
    and not exists (
      select 1 from public.suppressions s
      where s.org_id = t.org_id and s.phone = t.phone and s.lifted_at is null
    );
end;
$$;
comment on function private.sendable_claims(bigint[], uuid[]) is
  'For the sender, just before sending: the claims still claimed, of a running campaign, to
   a number not suppressed (a STOP committed before this call is seen).';

-- Claims never attempted (the tick's deadline came first, or their number stopped) go back
-- to pending as they were; a stale token or a target no longer claimed is left alone.
create function private.release_claims(target_ids bigint[], claim_tokens uuid[])
returns integer
language sql
security definer
set search_path = ''
as $$
  with released as (
    update public.campaign_targets t
    set status = 'pending', claim_token = null, lease_expires_at = null, not_before = now(),
        -- The claim counted an attempt that never happened.
        attempts = greatest(t.attempts - 1, 0)
    from unnest(target_ids, claim_tokens) as c (id, token)
    where t.id = c.id and t.claim_token = c.token and t.status = 'claimed'
    returning 1
  )
  select count(*)::integer from released;
$$;
comment on function private.release_claims(bigint[], uuid[]) is
  'For the sender: claims it never attempted go back to pending (token checked).';

-- Requests whose fate the sender cannot know (a timeout after the request left): the
-- target becomes unknown at once, never pending again, so it is never sent twice.
create function private.record_send_unknown(
  target_ids bigint[],
  claim_tokens uuid[],
  reasons text[]
) returns integer
language sql
security definer
set search_path = ''
as $$
  with marked as (
    update public.campaign_targets t
    set status = 'unknown', lease_expires_at = null,
        status_reason = left('outcome unknown: ' || coalesce(c.reason, 'no answer'), 500)
    from unnest(target_ids, claim_tokens, reasons) as c (id, token, reason)
    where t.id = c.id and t.claim_token = c.token and t.status = 'claimed'
    returning 1
  )
  select count(*)::integer from marked;
$$;
comment on function private.record_send_unknown(bigint[], uuid[], text[]) is
  'For the sender: claims whose request may have reached Twilio become unknown (never resent).';

-- A number Twilio refuses to send from (not ours, not SMS-capable, suspended): paused, so
-- the claim skips it, and its organization is told why.
create function private.pause_sending_number(number_id uuid, reason text) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  paused public.phone_numbers;
begin
  update public.phone_numbers n set status = 'paused'
  where n.id = number_id and n.status = 'active'
  returning * into paused;
  if not found then
    return false;
  end if;
  perform realtime.send(
    jsonb_build_object('phone_number_id', paused.id, 'phone', paused.phone,
                       'reason', left(reason, 500)),
    'phone_number.paused', 'org:' || paused.org_id::text, true);
  return true;
end;
$$;
comment on function private.pause_sending_number(uuid, text) is
  'For the sender: takes a sending number Twilio refuses out of rotation and tells its org.';

-- Once per tick: broadcast the counters per target status of each campaign the tick
-- touched on campaign:<id>, and complete every running campaign with nothing left to send
-- (those touched, and those whose last claims expired since).
create function private.finish_campaigns(campaign_ids uuid[]) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  campaign uuid;
  counts jsonb;
  completed boolean;
begin
  for campaign in
    select k.id from public.campaigns k
    where k.status = 'running' and not (k.id = any (campaign_ids)) and not exists (
      select 1 from public.campaign_targets t
      where t.org_id = k.org_id and t.campaign_id = k.id and t.status in ('pending', 'claimed'))
  loop
    if private.complete_campaign_if_done(campaign) then
      perform realtime.send(
        jsonb_build_object('campaign_id', campaign, 'completed', true, 'at', now()),
        'campaign.progress', 'campaign:' || campaign::text, true);
    end if;
  end loop;
  foreach campaign in array campaign_ids loop
    completed := private.complete_campaign_if_done(campaign);
    select coalesce(jsonb_object_agg(s.status, s.n), '{}'::jsonb) into counts
    from (
      select t.status, count(*) as n from public.campaign_targets t
      join public.campaigns c on c.org_id = t.org_id and c.id = t.campaign_id
      where c.id = campaign
      group by t.status
    ) s;
    perform realtime.send(
      jsonb_build_object('campaign_id', campaign, 'counts', counts, 'completed', completed,
                         'at', now()),
      'campaign.progress', 'campaign:' || campaign::text, true);
  end loop;
end;
$$;
comment on function private.finish_campaigns(uuid[]) is
  'For the sender, once per tick: broadcasts the counters of the campaigns it touched on
   campaign:<id> and completes every running campaign with nothing left.';

-- Members of a campaign's organization receive its channel.
create function private.may_receive_campaign_topic(topic text) returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select topic like 'campaign:%' and exists (
    select 1 from public.campaigns c
    where c.id::text = substr(topic, 10)
      and c.org_id = any (array(select private.org_ids_with_role()))
  );
$$;
comment on function private.may_receive_campaign_topic(text) is
  'Whether the caller may receive the Realtime topic campaign:<id>: a member of its org.';

create policy messages_select_campaign_topics_policy on realtime.messages
  for select to authenticated
  using (
    extension = 'broadcast'
    and (select private.may_receive_campaign_topic((select realtime.topic())))
  );

revoke all on function private.sendable_claims(bigint[], uuid[]) from public;
revoke all on function private.release_claims(bigint[], uuid[]) from public;
revoke all on function private.record_send_unknown(bigint[], uuid[], text[]) from public;
revoke all on function private.pause_sending_number(uuid, text) from public;
revoke all on function private.finish_campaigns(uuid[]) from public;
revoke all on function private.may_receive_campaign_topic(text) from public;
grant execute on function private.sendable_claims(bigint[], uuid[]) to sms_system;
grant execute on function private.release_claims(bigint[], uuid[]) to sms_system;
grant execute on function private.record_send_unknown(bigint[], uuid[], text[]) to sms_system;
grant execute on function private.pause_sending_number(uuid, text) to sms_system;
grant execute on function private.finish_campaigns(uuid[]) to sms_system;
grant execute on function private.may_receive_campaign_topic(text) to authenticated;
