-- =============================================================================
-- Sender types: the outcome the sender could not learn. A target whose claim expired
-- without a recorded outcome may or may not have reached Twilio; it is `unknown`, never
-- pending again, so it is never sent twice blindly. (Its own migration: Postgres 15
-- cannot use an enum value in the transaction that adds it.)
-- =============================================================================

alter type public.target_status add value if not exists 'unknown' after 'claimed';

comment on type public.target_status is
  'pending: waiting to be sent; claimed: taken by a tick, under a lease; unknown: the lease
   expired before the sender recorded an outcome (it may have been sent: never resent);
   sent: handed to Twilio; skipped: a rule excluded it for good; failed: could not be sent;
   canceled: campaign or recipient stopped it.';
