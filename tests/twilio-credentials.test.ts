import assert from "node:assert/strict";
import type { Db } from "../supabase/functions/_shared/db.ts";
import { ServiceUnavailableError } from "../supabase/functions/_shared/errors.ts";
import { twilioCredentials } from "../supabase/functions/_shared/twilio-credentials.ts";
import { adminSql } from "./support/stack.ts";

/** A Db whose system reads answer `rows` (and count them). */
function fakeDb(rows: () => { account_sid: string | null; auth_token: string | null }[]) {
  const calls = { n: 0 };
  const db = {
    asSystem: (work: (tx: unknown) => Promise<unknown>) => {
      calls.n++;
      return work(() => Promise.resolve(rows()));
    },
  } as unknown as Db;
  return { db, calls };
}

const SID = "AC" + "a".repeat(32);

Deno.test("twilio credentials: read from Vault once a minute at most", async () => {
  const { db, calls } = fakeDb(() => [{ account_sid: SID, auth_token: "t".repeat(32) }]);
  const source = twilioCredentials(db, {}, 60_000);
  assert.deepEqual(await source(), { accountSid: SID, authToken: "t".repeat(32) });
  await source();
  assert.equal(calls.n, 1, "cached");
  const fresh = twilioCredentials(db, {}, 0);
  await fresh();
  await new Promise((resolve) => setTimeout(resolve, 2));
  await fresh();
  assert.equal(calls.n, 3, "read again once stale (a rotation takes effect)");
});

Deno.test("twilio credentials: missing in Vault is a 503 saying where to put them, tried again next time", async () => {
  let stored = false;
  const { db, calls } = fakeDb(() => [
    stored
      ? { account_sid: SID, auth_token: "t".repeat(32) }
      : { account_sid: null, auth_token: null },
  ]);
  const source = twilioCredentials(db, {});
  await assert.rejects(source(), (error) => {
    assert.ok(error instanceof ServiceUnavailableError);
    assert.match(error.message, /store twilio_account_sid and twilio_auth_token in Vault/);
    return true;
  });
  stored = true;
  assert.equal((await source()).accountSid, SID, "a failed read is not cached");
  assert.equal(calls.n, 2);
});

Deno.test("twilio credentials: set in the environment, they are used as they are", async () => {
  const { db, calls } = fakeDb(() => []);
  const source = twilioCredentials(db, {
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: "e".repeat(32),
  });
  assert.equal((await source()).authToken, "e".repeat(32));
  assert.equal(calls.n, 0);
});

Deno.test("twilio credentials: the stack's functions read them from Vault, as deployed", async () => {
  const sql = adminSql();
  try {
    const [row] = await sql.begin(async (tx) => {
      await tx`set local role sms_system`;
      return await tx`select account_sid, auth_token from private.twilio_credentials()`;
    });
    assert.match(row.account_sid, /^AC[0-9a-f]{32}$/);
    assert.ok(row.auth_token.length >= 16);
    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`set local role authenticated`;
        await tx`select * from private.twilio_credentials()`;
      }),
      /permission denied/,
      "no other role may read them",
    );
  } finally {
    await sql.end();
  }
});
