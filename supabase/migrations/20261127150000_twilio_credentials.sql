-- =============================================================================
-- Twilio's credentials live in Vault (twilio_account_sid, twilio_auth_token, stored with
-- vault.create_secret): the functions read them through private.twilio_credentials(), which
-- only the system role (sms_system) may call; nobody else can read Vault.
-- =============================================================================

create function private.twilio_credentials(out account_sid text, out auth_token text)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  select s.decrypted_secret into account_sid from vault.decrypted_secrets s
  where s.name = 'twilio_account_sid';
  select s.decrypted_secret into auth_token from vault.decrypted_secrets s
  where s.name = 'twilio_auth_token';
end;
$$;
comment on function private.twilio_credentials() is
  'For the functions (as sms_system): the Twilio account SID and auth token kept in Vault
   (null when not stored).';
revoke all on function private.twilio_credentials() from public;
grant execute on function private.twilio_credentials() to sms_system;
