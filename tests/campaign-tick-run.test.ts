/**
 * supabase/functions/campaign-tick/tick.ts on a fake clock with a fake store and a fake
 * Twilio: what is recorded for each outcome, what goes back to the queue, when a number
 * or the whole tick stops, and that the tick ends at its budget.
 */
import assert from "node:assert/strict";
import {
  type Claim,
  type ClaimedMessage,
  type Outcome,
  runTick,
  type TickStore,
} from "../supabase/functions/campaign-tick/tick.ts";
import type {
  SendResult,
  SmsRequest,
  TwilioClient,
} from "../supabase/functions/campaign-tick/twilio-client.ts";
import { FakeClock } from "./support/fake-clock.ts";

function message(id: number, number: string, notBefore: number, campaign = "c1"): ClaimedMessage {
  return {
    targetId: String(id),
    claimToken: `token-${id}`,
    campaignId: campaign,
    phoneNumberId: number,
    to: `+1415555${String(id).padStart(4, "0")}`,
    from: `+1212555${number === "n1" ? "0001" : "0002"}`,
    messagingServiceSid: null,
    body: `hello ${id}`,
    notBefore,
  };
}

class FakeStore implements TickStore {
  batches: ClaimedMessage[][];
  recorded: Outcome[] = [];
  released: Claim[] = [];
  paused: string[] = [];
  finished: string[] = [];
  claims: { max: number; leaseMs: number }[] = [];
  calls: string[] = [];
  /** Target ids a STOP (or pause, or cancel) reached after their claim. */
  withheld = new Set<string>();
  checks: string[][] = [];
  checkFails = false;

  constructor(batches: ClaimedMessage[][]) {
    this.batches = batches;
  }
  startDueCampaigns() {
    this.calls.push("startDue");
    return Promise.resolve();
  }
  sendable(claims: Claim[]) {
    this.checks.push(claims.map((c) => c.targetId));
    if (this.checkFails) return Promise.reject(new Error("database unreachable"));
    return Promise.resolve(
      new Set(claims.map((c) => c.targetId).filter((id) => !this.withheld.has(id))),
    );
  }
  expireLeases() {
    this.calls.push("expire");
    return Promise.resolve(2);
  }
  claim(max: number, leaseMs: number) {
    this.claims.push({ max, leaseMs });
    return Promise.resolve(this.batches.shift() ?? []);
  }
  record(outcomes: Outcome[]) {
    this.recorded.push(...outcomes);
    return Promise.resolve();
  }
  release(claims: Claim[]) {
    this.released.push(...claims);
    return Promise.resolve();
  }
  pauseNumber(id: string) {
    this.paused.push(id);
    return Promise.resolve();
  }
  finishCampaigns(ids: string[]) {
    this.finished.push(...ids);
    return Promise.resolve();
  }
}

/** Answers by the message body: `hello <id>` → `answers[id]`, default accepted. */
function fakeTwilio(
  clock: FakeClock,
  answers: Record<string, SendResult | "throw"> = {},
): TwilioClient & { sent: { at: number; request: SmsRequest }[] } {
  const sent: { at: number; request: SmsRequest }[] = [];
  return {
    sent,
    async sendSms(request) {
      sent.push({ at: clock.now(), request });
      await clock.sleep(50);
      const id = request.body.split(" ")[1];
      const answer = answers[id];
      if (answer === "throw") throw new Error("boom");
      return answer ??
        { outcome: "accepted", sid: `SM${id.padStart(32, "0")}`, status: "queued", numSegments: 1 };
    },
  };
}

function failure(
  cls: "suppress" | "invalid_recipient" | "retry" | "rejected" | "fatal_config" | "unknown_outcome",
  code: number | null,
  scope?: "sender" | "account",
): SendResult {
  return {
    outcome: "failed",
    class: cls,
    scope,
    code,
    message: `error ${code}`,
    httpStatus: 400,
    retryAfterMs: cls === "retry" ? 5_000 : null,
  };
}

const OPTIONS = { budgetMs: 10_000, batchSize: 10, concurrency: 4, statusCallback: "http://cb" };

Deno.test("runTick: sends every claimed message on its slot and records each", async () => {
  const clock = new FakeClock(1_000_000);
  const store = new FakeStore([
    [message(1, "n1", 1_000_000), message(2, "n1", 1_001_000), message(3, "n2", 1_000_000)],
    [message(4, "n2", 1_002_000, "c2")],
  ]);
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));

  assert.deepEqual(store.calls, ["startDue", "expire"]);
  assert.equal(report.expired, 2);
  assert.equal(report.claimed, 4);
  assert.equal(report.sent, 4);
  assert.deepEqual(store.recorded.map((o) => [o.kind, o.targetId]).sort(), [
    ["sent", "1"],
    ["sent", "2"],
    ["sent", "3"],
    ["sent", "4"],
  ]);
  const startOf = (id: string) => twilio.sent.find((s) => s.request.body === `hello ${id}`)!.at;
  // At its slot plus the pre-send check's 20 ms window: never before the slot.
  assert.equal(startOf("2"), 1_001_020);
  assert.equal(startOf("4"), 1_002_020);
  assert.equal(twilio.sent[0].request.statusCallback, "http://cb");
  assert.deepEqual(store.finished.sort(), ["c1", "c2"]);
  // Claims until nothing is left: two batches, then an empty claim tried three times (an
  // empty claim may only mean another tick holds the organization).
  assert.equal(store.claims.length, 5);
  assert.equal(store.claims[0].leaseMs, OPTIONS.budgetMs, "the lease is the time left");
});

Deno.test("runTick: each failure class is recorded as it is; unknown outcomes too", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore([[1, 2, 3, 4, 5, 6].map((id) => message(id, "n1", id * 100))]);
  const twilio = fakeTwilio(clock, {
    "1": failure("suppress", 21610),
    "2": failure("invalid_recipient", 21211),
    "3": failure("retry", 20429),
    "4": failure("rejected", 21617),
    "5": failure("unknown_outcome", null),
    "6": "throw",
  });
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  const byId = Object.fromEntries(store.recorded.map((o) => [o.targetId, o]));
  assert.deepEqual(
    [1, 2, 3, 4].map((id) => {
      const o = byId[String(id)];
      return o.kind === "failed" ? [o.failure, o.code] : o.kind;
    }),
    [["suppress", 21610], ["invalid_recipient", 21211], ["retry", 20429], ["rejected", 21617]],
  );
  assert.equal(byId["3"].kind === "failed" && byId["3"].retryAfterMs, 5_000);
  assert.equal(byId["5"].kind, "unknown");
  assert.equal(byId["6"].kind, "unknown", "a send that threw may have left: unknown");
  assert.equal(report.unknown, 2);
  assert.deepEqual(report.failed, { suppress: 1, invalid_recipient: 1, retry: 1, rejected: 1 });
  assert.deepEqual(store.released, []);
});

Deno.test("runTick: a number Twilio refuses is paused and its claims handed back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore([[
    message(1, "n1", 0),
    message(2, "n1", 1_000),
    message(3, "n1", 2_000),
    message(4, "n2", 0),
    message(5, "n2", 1_000),
  ]]);
  const twilio = fakeTwilio(clock, { "1": failure("fatal_config", 21606, "sender") });
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.deepEqual(store.paused, ["n1"]);
  assert.deepEqual(report.pausedNumbers, ["n1"]);
  assert.deepEqual(store.released.map((c) => c.targetId).sort(), ["1", "2", "3"]);
  assert.equal(report.sent, 2, "the other number goes on");
  assert.equal(store.recorded.some((o) => o.targetId === "1"), false, "nothing burned");
});

Deno.test("runTick: refused credentials stop the whole tick; every claim goes back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore([
    [message(1, "n1", 0), message(2, "n2", 500), message(3, "n1", 1_000)],
    [message(9, "n1", 0)],
  ]);
  const twilio = fakeTwilio(clock, { "1": failure("fatal_config", 20003, "account") });
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.equal(report.accountStopped, "error 20003");
  assert.deepEqual(store.released.map((c) => c.targetId).sort(), ["1", "2", "3"]);
  assert.equal(store.claims.length, 1, "no further claim");
  assert.equal(twilio.sent.length, 1);
});

Deno.test("runTick: the budget ends the tick; what could not start goes back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore([
    [message(1, "n1", 0), message(2, "n1", 4_000), message(3, "n1", 20_000)],
    [message(4, "n1", 30_000)],
  ]);
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, budgetMs: 5_000, clock }));
  assert.equal(report.sent, 2);
  assert.deepEqual(store.released.map((c) => c.targetId), ["3"]);
  // Less than a second was left after the first batch: too little to claim again.
  assert.equal(store.claims.length, 1);
  assert.ok(clock.now() < 6_000, `ended at ${clock.now()}`);
});

Deno.test("runTick: a batch whose slots all lie past the deadline is not claimed again", async () => {
  const clock = new FakeClock(0);
  const late = [message(1, "n1", 60_000), message(2, "n2", 61_000)];
  const store = new FakeStore([late, late, late]);
  const report = await clock.run(runTick(store, fakeTwilio(clock), { ...OPTIONS, clock }));
  assert.equal(store.claims.length, 1);
  assert.equal(report.released, 2);
  assert.deepEqual(store.finished, [], "no campaign was touched");
});

Deno.test("runTick: a claim a STOP reached since is not sent; checks are batched", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore([[
    message(1, "n1", 0),
    message(2, "n2", 0),
    message(3, "n3", 0),
    message(4, "n1", 1_000),
  ]]);
  store.withheld = new Set(["2", "4"]);
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.deepEqual(twilio.sent.map((s) => s.request.body).sort(), ["hello 1", "hello 3"]);
  assert.equal(report.withheld, 2);
  assert.deepEqual(store.released.map((c) => c.targetId).sort(), ["2", "4"]);
  assert.deepEqual(store.recorded.map((o) => o.targetId).sort(), ["1", "3"]);
  assert.deepEqual(store.checks.map((ids) => ids.sort()), [["1", "2", "3"], ["4"]]);
});

Deno.test("runTick: when the check fails, nothing is sent and the claims go back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore([[message(1, "n1", 0), message(2, "n2", 0)]]);
  store.checkFails = true;
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.equal(twilio.sent.length, 0);
  assert.equal(report.withheld, 2);
  assert.deepEqual(store.released.map((c) => c.targetId).sort(), ["1", "2"]);
});
