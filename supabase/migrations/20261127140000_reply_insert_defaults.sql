-- =============================================================================
-- A member's reply is an insert of (org_id, conversation_id, body) and the database fills
-- in the rest (private.prepare_reply). Defaults for direction and status say so to typed
-- clients too: the generated types make them optional, as the grant does.
-- =============================================================================

alter table public.messages
  alter column direction set default 'outbound',
  alter column status set default 'queued';
comment on column public.messages.direction is
  'outbound (sent by us: campaigns and members'' replies, the default) or inbound (received).';
