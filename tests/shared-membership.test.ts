/**
 * _shared/membership.ts reads the caller's role under RLS with the generated enum type.
 */
import assert from "node:assert/strict";
import { createDb } from "../supabase/functions/_shared/db.ts";
import { ForbiddenError } from "../supabase/functions/_shared/errors.ts";
import {
  MEMBER_ROLES,
  memberRole,
  requireMemberRole,
} from "../supabase/functions/_shared/membership.ts";
import { seed, stackEnv } from "./support/stack.ts";

function claimsFor(email: keyof typeof seed.users) {
  return { sub: seed.users[email], role: "authenticated", email, aud: "authenticated" };
}

Deno.test("MEMBER_ROLES are the database's enum, in its order", () => {
  assert.deepEqual([...MEMBER_ROLES], ["admin", "campaign_manager", "operator", "viewer"]);
});

Deno.test("memberRole: the caller's own role, null in another organization", async () => {
  const db = createDb({ url: stackEnv().SUPABASE_DB_URL, max: 1 });
  try {
    const roles = await db.asUser(claimsFor("manager@acme.test"), async (tx) => [
      await memberRole(tx, seed.acme),
      await memberRole(tx, seed.globex),
    ]);
    assert.deepEqual(roles, ["campaign_manager", null]);
  } finally {
    await db.end();
  }
});

Deno.test("requireMemberRole: allowed roles pass, others get a 403 naming the roles", async () => {
  const db = createDb({ url: stackEnv().SUPABASE_DB_URL, max: 1 });
  const importers = ["admin", "campaign_manager"] as const;
  try {
    assert.equal(
      await db.asUser(
        claimsFor("admin@acme.test"),
        (tx) => requireMemberRole(tx, seed.acme, importers),
      ),
      "admin",
    );
    for (const email of ["viewer@acme.test", "admin@globex.test"] as const) {
      await assert.rejects(
        db.asUser(claimsFor(email), (tx) => requireMemberRole(tx, seed.acme, importers)),
        (err: unknown) =>
          err instanceof ForbiddenError && err.status === 403 &&
          err.message === "this needs the admin or campaign_manager role in the organization",
      );
    }
  } finally {
    await db.end();
  }
});
