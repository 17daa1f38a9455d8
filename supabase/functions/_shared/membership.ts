/**
 * The caller's role in an organization, read inside the caller's own transaction (so RLS
 * answers, as PostgREST would), and the check a route makes before acting for a role.
 * RLS enforces the same rules on every write; this gives the early, readable 403.
 */
import { Constants, type Enums } from "./database.ts";
import type { Tx } from "./db.ts";
import { ForbiddenError } from "./errors.ts";

export type MemberRole = Enums<"member_role">;

/** Every role, strongest first, as the database defines them. */
export const MEMBER_ROLES: readonly MemberRole[] = Constants.public.Enums.member_role;

/** The caller's role in `orgId`, or null when they are not a member (or cannot see it). */
export async function memberRole(tx: Tx, orgId: string): Promise<MemberRole | null> {
  const [row] = await tx<{ role: MemberRole }[]>`
    select m.role from public.memberships m
    where m.org_id = ${orgId} and m.user_id = (select auth.uid())`;
  return row?.role ?? null;
}

/** The caller's role in `orgId` when it is one of `allowed`; a 403 otherwise. */
export async function requireMemberRole(
  tx: Tx,
  orgId: string,
  allowed: readonly MemberRole[],
): Promise<MemberRole> {
  const role = await memberRole(tx, orgId);
  if (role === null || !allowed.includes(role)) {
    throw new ForbiddenError(
      `this needs the ${allowed.join(" or ")} role in the organization`,
    );
  }
  return role;
}
