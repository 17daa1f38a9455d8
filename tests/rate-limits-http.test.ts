/**
 * Rate limits through the gateway: a user's requests for an organization stop at its
 * admins' setting with 429 and Retry-After, in the one error shape, and go on once the
 * bucket refills; a client address that floods a function is stopped the same way
 * (each run uses an address of its own, so other tests never share its bucket); a flood of
 * forged Twilio webhooks from one address is cut off too.
 */
import assert from "node:assert/strict";
import { call, withScratchOrg } from "./support/leads-http.ts";
import { stackEnv } from "./support/stack.ts";

const env = stackEnv();

Deno.test("rate limits: a user's requests for an organization, at its admins' rate", async () => {
  await withScratchOrg(async ({ org, sql }) => {
    await sql`update public.organizations set rate_limit_per_minute = 60, rate_limit_burst = 2
      where id = ${org}`;
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 3; i++) {
      const answer = await call(`/export?org_id=${org}`);
      statuses.push(answer.status);
      if (answer.status === 429) refused = answer;
    }
    assert.deepEqual(statuses, [200, 200, 429], "a burst of two, then refused");
    assert.ok(refused);
    assert.equal(refused.headers.get("retry-after"), "1");
    const { error } = JSON.parse(refused.text);
    assert.equal(error.code, "too_many_requests");
    assert.match(error.message, /too many requests for this organization; retry in 1 s/);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.equal((await call(`/export?org_id=${org}`)).status, 200, "a second later, one more");
  });
});

/** Requests from one address until refused; how many went through, and the refusal. */
async function flood(
  request: (address: string) => Promise<Response>,
  max: number,
): Promise<{ served: number; refused: Response | null }> {
  const address = `198.51.100.${1 + Math.floor(Math.random() * 250)}-${crypto.randomUUID()}`;
  for (let served = 0; served < max; served++) {
    const res = await request(address);
    if (res.status === 429) return { served, refused: res };
    await res.body?.cancel();
  }
  return { served: max, refused: null };
}

Deno.test("rate limits: one address flooding a function is stopped after its burst", async () => {
  const { served, refused } = await flood(
    (address) =>
      // Health needs no token (the platform's gateway stops unsigned calls to leads itself).
      fetch(`${env.SUPABASE_URL}/functions/v1/health`, {
        headers: { "x-forwarded-for": address },
      }),
    3_000,
  );
  assert.ok(refused, "a flood is refused");
  assert.ok(served >= 600, `the burst of 600 is served first (${served})`);
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  const { error } = await refused.json();
  assert.match(error.message, /too many requests from this address/);
});

Deno.test("rate limits: forged Twilio webhooks from one address are cut off", async () => {
  const { served, refused } = await flood(
    (address) =>
      fetch(`${env.SUPABASE_URL}/functions/v1/twilio/status`, {
        method: "POST",
        headers: {
          "x-forwarded-for": address,
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": "forged",
        },
        body: "MessageSid=SM00000000000000000000000000000000&MessageStatus=delivered",
      }),
    3_000,
  );
  assert.ok(refused, "refused after its burst, 429 instead of 403");
  assert.ok(served >= 600, `${served}`);
  await refused.body?.cancel();
});
