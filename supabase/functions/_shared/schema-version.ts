/**
 * The newest migration this code was built against. Functions deploy after
 * `supabase db push`; health reports the database as not migrated while its newest
 * applied migration is older than this. A test keeps it equal to the newest file in
 * supabase/migrations.
 */
export const REQUIRED_SCHEMA_VERSION = "20261127150000";
