-- =============================================================================
-- Memberships by user: every policy resolves the caller's organizations through
-- private.org_ids_with_role(), a lookup by user_id. An index on user_id alone that
-- carries org_id and role answers it with an index-only scan, and keeps org_id the
-- first key column of every composite index on a tenant table.
-- =============================================================================

drop index public.memberships_user_id_org_id_idx;

create index memberships_user_id_idx on public.memberships (user_id) include (org_id, role);
