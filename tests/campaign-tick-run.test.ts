/**
 * supabase/functions/campaign-tick/tick.ts on a fake clock with a fake store and a fake
 * Twilio: what is recorded for each outcome, what goes back to the queue, when a number
 * or the whole tick stops, and that the tick ends at its budget.
 */
import assert from "node:assert/strict";
import {
  type Claim,
  type ClaimedMessage,
  claimKey,
  type Outcome,
} from "../supabase/functions/campaign-tick/claims.ts";
import { runTick, type TickStore } from "../supabase/functions/campaign-tick/tick.ts";
import type {
  SendResult,
  SmsRequest,
  TwilioClient,
} from "../supabase/functions/campaign-tick/twilio-client.ts";
import { FakeClock } from "./support/fake-clock.ts";

/** A latest start as the claim gives one (its tolerance is 15 ms; 20 here). */
const TOLERANCE_MS = 20;

function message(
  id: number,
  number: string,
  notBefore: number,
  campaign: string | null = "c1",
): ClaimedMessage {
  return {
    source: campaign === null ? "reply" : "target",
    id: String(id),
    claimToken: `token-${id}`,
    campaignId: campaign,
    phoneNumberId: number,
    to: `+1415555${String(id).padStart(4, "0")}`,
    from: `+1212555${number === "n1" ? "0001" : "0002"}`,
    messagingServiceSid: null,
    body: `hello ${id}`,
    measure: campaign === null ? null : { encoding: "gsm7", segments: 1 },
    notBefore,
    sendBy: notBefore + TOLERANCE_MS,
  };
}

class FakeStore implements TickStore {
  batches: ClaimedMessage[][];
  recorded: Outcome[] = [];
  released: Claim[] = [];
  paused: string[] = [];
  finished: string[] = [];
  /** When each guardrail run started; the first `guardrailFailures` runs fail. */
  guardrailRuns: number[] = [];
  guardrailFailures = 0;
  claims: { max: number; leaseMs: number; horizonMs: number; at: number }[] = [];
  calls: string[] = [];
  /** Target ids a STOP (or pause, or cancel) reached after their claim. */
  withheld = new Set<string>();
  checks: string[][] = [];
  checkFails = false;
  /** The pre-send check never answers. */
  checkHangs = false;
  /** How long the pre-send check takes. */
  checkDelayMs = 0;
  /** Outcome ids the database refuses (a write holding one fails whole). */
  poisoned = new Set<string>();
  /** Every write fails. */
  writesFail = false;
  /** When each hand-back was written. */
  releasedAt: number[] = [];

  clock: FakeClock;

  constructor(clock: FakeClock, batches: ClaimedMessage[][]) {
    this.clock = clock;
    this.batches = batches;
  }
  startDueCampaigns() {
    this.calls.push("startDue");
    return Promise.resolve();
  }
  sendable(claims: Claim[]) {
    this.checks.push(claims.map((c) => c.id));
    if (this.checkFails) return Promise.reject(new Error("database unreachable"));
    if (this.checkHangs) return new Promise<Set<string>>(() => {});
    if (this.checkDelayMs > 0) {
      const ok = new Set(claims.filter((c) => !this.withheld.has(c.id)).map((c) => claimKey(c)));
      return this.clock.sleep(this.checkDelayMs).then(() => ok);
    }
    return Promise.resolve(
      new Set(claims.filter((c) => !this.withheld.has(c.id)).map((c) => claimKey(c))),
    );
  }
  expireLeases() {
    this.calls.push("expire");
    return Promise.resolve(2);
  }
  claim(max: number, leaseMs: number, horizonMs: number) {
    this.claims.push({ max, leaseMs, horizonMs, at: this.clock.now() });
    return Promise.resolve(this.batches.shift() ?? []);
  }
  /** What hasDueWork answers, in turn (then false). */
  due: boolean[] = [];
  hasDueWork() {
    return Promise.resolve(this.due.shift() ?? false);
  }
  record(outcomes: Outcome[]) {
    if (this.writesFail || outcomes.some((o) => this.poisoned.has(o.id))) {
      return Promise.reject(new Error("refused"));
    }
    this.recorded.push(...outcomes);
    return Promise.resolve();
  }
  release(claims: Claim[]) {
    if (this.writesFail) return Promise.reject(new Error("refused"));
    this.released.push(...claims);
    this.releasedAt.push(this.clock.now());
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
  runGuardrails() {
    this.guardrailRuns.push(this.clock.now());
    if (this.guardrailRuns.length <= this.guardrailFailures) {
      return Promise.reject(new Error("metrics fold failed"));
    }
    return this.clock.sleep(300);
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
  const store = new FakeStore(clock, [
    [message(1, "n1", 1_000_000), message(2, "n1", 1_001_000), message(3, "n2", 1_000_000)],
    [message(4, "n2", 1_002_000, "c2")],
  ]);
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));

  assert.deepEqual(store.calls, ["startDue", "expire"]);
  assert.equal(report.expired, 2);
  assert.equal(report.claimed, 4);
  assert.equal(report.sent, 4);
  assert.deepEqual(store.recorded.map((o) => [o.kind, o.id]).sort(), [
    ["sent", "1"],
    ["sent", "2"],
    ["sent", "3"],
    ["sent", "4"],
  ]);
  // Each number started one request at a time, a second or more apart.
  assert.equal(report.busiestSecond?.starts, 1);
  // Each outcome keeps the text it was sent with, to be recorded on the target.
  for (const o of store.recorded) {
    assert.deepEqual(o.kind === "sent" && o.text, {
      body: `hello ${o.id}`,
      encoding: "gsm7",
      segments: 1,
    });
  }
  const startOf = (id: string) => twilio.sent.find((s) => s.request.body === `hello ${id}`)!.at;
  // Exactly at its slot: the pre-send check ran ahead of it.
  assert.equal(startOf("1"), 1_000_000);
  assert.equal(startOf("2"), 1_001_000);
  assert.equal(startOf("4"), 1_002_000);
  assert.equal(twilio.sent[0].request.statusCallback, "http://cb");
  assert.deepEqual(store.finished.sort(), ["c1", "c2"]);
  assert.equal(store.claims[0].leaseMs, OPTIONS.budgetMs, "the lease is the time left");
  assert.equal(store.claims[0].horizonMs, 2_000, "slots are claimed 2 s ahead at most");
  // Claims until nothing is left: once the last send finished (1_002_050), an empty claim
  // is tried three times 250 ms apart (one may only mean another tick holds the
  // organization), then the tick ends.
  const after = store.claims.filter((c) => c.at >= 1_002_050);
  assert.equal(after.length, 3);
  assert.ok(clock.now() <= 1_002_050 + 3 * 250, `ended at ${clock.now()}`);
});

Deno.test("runTick: claims ahead while sending, so slots are met across batches", async () => {
  const clock = new FakeClock(0);
  // Two a claim, each claim's slots right after the previous one's, on one number.
  const store = new FakeStore(clock, [
    [message(1, "n1", 0), message(2, "n1", 500)],
    [message(3, "n1", 1_000), message(4, "n1", 1_500)],
    [message(5, "n1", 2_000), message(6, "n1", 2_500)],
  ]);
  const twilio = fakeTwilio(clock);
  const report = await clock.run(
    runTick(store, twilio, { ...OPTIONS, batchSize: 2, clock }),
  );
  assert.equal(report.sent, 6);
  assert.equal(report.late, 0);
  assert.deepEqual(twilio.sent.map((s) => s.at), [0, 500, 1_000, 1_500, 2_000, 2_500]);
  // The next claim comes while less than three quarters of the lookahead (1.5 s) of slots
  // is left: three at once here, the fourth (empty) once 1.5 s of slots are left.
  assert.deepEqual(store.claims.slice(0, 4).map((c) => c.at), [0, 0, 0, 1_000]);
});

Deno.test("runTick: a send that cannot start within its slot's tolerance goes back", async () => {
  const clock = new FakeClock(0);
  // One request at a time; the first takes 50 ms, so the second (slot 10 ms, latest start
  // 30 ms) cannot start in time; the third (slot 100 ms) can.
  const store = new FakeStore(clock, [[
    message(1, "n1", 0),
    message(2, "n2", 10),
    message(3, "n3", 100),
  ]]);
  const twilio = fakeTwilio(clock);
  const report = await clock.run(
    runTick(store, twilio, { ...OPTIONS, concurrency: 1, clock }),
  );
  assert.deepEqual(twilio.sent.map((s) => [s.request.body, s.at]), [
    ["hello 1", 0],
    ["hello 3", 100],
  ]);
  assert.equal(report.late, 1);
  assert.deepEqual(store.released.map((c) => c.id), ["2"]);
});

Deno.test("runTick: replies are sent and recorded as replies, with no campaign", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [[message(7, "n1", 0, null), message(8, "n1", 1_000)]]);
  const twilio = fakeTwilio(clock, { "8": failure("retry", 20429) });
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.equal(report.replies, 1);
  assert.deepEqual(
    store.recorded.map((o) => [o.source, o.id, o.kind]),
    [["reply", "7", "sent"], ["target", "8", "failed"]],
  );
  assert.deepEqual(store.finished, ["c1"], "only campaigns are finished");
});

Deno.test("runTick: each failure class is recorded as it is; unknown outcomes too", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [[1, 2, 3, 4, 5, 6].map((id) => message(id, "n1", id * 100))]);
  const twilio = fakeTwilio(clock, {
    "1": failure("suppress", 21610),
    "2": failure("invalid_recipient", 21211),
    "3": failure("retry", 20429),
    "4": failure("rejected", 21617),
    "5": failure("unknown_outcome", null),
    "6": "throw",
  });
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  const byId = Object.fromEntries(store.recorded.map((o) => [o.id, o]));
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
  for (const id of ["5", "6"]) {
    const o = byId[id];
    assert.equal(
      o.kind === "unknown" && o.text?.body,
      `hello ${id}`,
      "with the text it may have had",
    );
  }
  assert.equal(report.unknown, 2);
  assert.deepEqual(report.failed, { suppress: 1, invalid_recipient: 1, retry: 1, rejected: 1 });
  assert.deepEqual(store.released, []);
});

Deno.test("runTick: a number Twilio refuses is paused and its claims handed back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [[
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
  assert.deepEqual(store.released.map((c) => c.id).sort(), ["1", "2", "3"]);
  assert.equal(report.sent, 2, "the other number goes on");
  assert.equal(store.recorded.some((o) => o.id === "1"), false, "nothing burned");
});

Deno.test("runTick: refused credentials stop the whole tick; every claim goes back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [
    [message(1, "n1", 0), message(2, "n2", 500), message(3, "n1", 1_000)],
    [message(9, "n1", 0)],
  ]);
  const twilio = fakeTwilio(clock, { "1": failure("fatal_config", 20003, "account") });
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.equal(report.accountStopped, "error 20003");
  assert.deepEqual(store.released.map((c) => c.id).sort(), ["1", "2", "3"]);
  assert.equal(store.claims.length, 1, "no further claim");
  assert.equal(twilio.sent.length, 1);
});

Deno.test("runTick: the guardrails run every 5 s while it sends; a failure is reported and sending goes on", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [
    Array.from({ length: 10 }, (_, i) => message(i + 1, "n1", i * 2_000)),
  ]);
  store.guardrailFailures = 1;
  const report = await clock.run(
    runTick(store, fakeTwilio(clock), { ...OPTIONS, budgetMs: 21_000, clock }),
  );
  assert.equal(report.sent, 10);
  assert.equal(report.guardrailError, "metrics fold failed");
  assert.equal(report.guardrailRuns, store.guardrailRuns.length);
  assert.ok(store.guardrailRuns.length >= 3, `ran at ${store.guardrailRuns}`);
  for (let i = 1; i < store.guardrailRuns.length; i++) {
    const gap = store.guardrailRuns[i] - store.guardrailRuns[i - 1];
    assert.ok(gap >= 5_000 && gap < 5_500, `runs ${gap} ms apart`);
  }
  assert.ok(store.guardrailRuns[0] >= 5_000, "not at the very start: the cron job just ran");
});

Deno.test("runTick: the budget ends the tick; what could not start goes back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [
    [message(1, "n1", 0), message(2, "n1", 4_000), message(3, "n1", 20_000)],
    [message(4, "n1", 30_000)],
  ]);
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, budgetMs: 5_000, clock }));
  assert.equal(report.sent, 2);
  assert.deepEqual(store.released.map((c) => c.id), ["3"]);
  // Less than a second was left after the first batch: too little to claim again.
  assert.equal(store.claims.length, 1);
  assert.ok(clock.now() < 6_000, `ended at ${clock.now()}`);
});

Deno.test("runTick: a batch whose slots all lie past the deadline is not claimed again", async () => {
  const clock = new FakeClock(0);
  const late = [message(1, "n1", 60_000), message(2, "n2", 61_000)];
  const store = new FakeStore(clock, [late, late, late]);
  const report = await clock.run(runTick(store, fakeTwilio(clock), { ...OPTIONS, clock }));
  assert.equal(store.claims.length, 1);
  assert.equal(report.released, 2);
  assert.deepEqual(store.finished, [], "no campaign was touched");
});

Deno.test("runTick: a claim a STOP reached since is not sent; checks are batched", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [[
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
  assert.deepEqual(store.released.map((c) => c.id).sort(), ["2", "4"]);
  assert.deepEqual(store.recorded.map((o) => o.id).sort(), ["1", "3"]);
  assert.deepEqual(store.checks.map((ids) => ids.sort()), [["1", "2", "3"], ["4"]]);
});

Deno.test("runTick: when the check fails, nothing is sent and the claims go back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [[message(1, "n1", 0), message(2, "n2", 0)]]);
  store.checkFails = true;
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.equal(twilio.sent.length, 0);
  assert.equal(report.withheld, 2);
  assert.deepEqual(store.released.map((c) => c.id).sort(), ["1", "2"]);
});

Deno.test("runTick: while work is due but another tick holds the slots, it keeps claiming", async () => {
  const clock = new FakeClock(0);
  // Nothing claimable at first (another tick has the numbers' next slots), then a batch.
  const store = new FakeStore(clock, [[], [], [], [], [message(1, "n1", 1_500)]]);
  store.due = [true, true];
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.equal(report.sent, 1);
  assert.deepEqual(twilio.sent.map((s) => s.at), [1_500]);
});

Deno.test("runTick: a refused write is retried row by row, so one bad row loses no other", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [[1, 2, 3, 4, 5].map((id) => message(id, `n${id}`, 0))]);
  store.poisoned = new Set(["3"]);
  const report = await clock.run(
    runTick(store, fakeTwilio(clock), { ...OPTIONS, concurrency: 10, clock }),
  );
  assert.deepEqual(store.recorded.map((o) => o.id).sort(), ["1", "2", "4", "5"]);
  assert.equal(report.unwritten, 1);
  assert.equal(report.writeError, "refused");
  assert.equal(report.databaseStopped, null, "the other rows went in: sending goes on");
});

Deno.test("runTick: when nothing can be written, sending stops", async () => {
  const clock = new FakeClock(0);
  // One message every 100 ms on ten numbers, each outcome written on its own.
  const store = new FakeStore(clock, [
    Array.from({ length: 10 }, (_, i) => message(i + 1, `n${i + 1}`, i * 100)),
  ]);
  store.writesFail = true;
  const twilio = fakeTwilio(clock);
  const report = await clock.run(
    runTick(store, twilio, { ...OPTIONS, recordEvery: 1, concurrency: 1, clock }),
  );
  assert.match(report.databaseStopped ?? "", /refused 3 writes in a row/);
  assert.ok(twilio.sent.length < 10, `${twilio.sent.length} sent after the writes failed`);
});

Deno.test("runTick: hand-backs are written while the last sends are still under way", async () => {
  const clock = new FakeClock(0);
  // The claim loop ends at 2,000 (less than a second left); message 1 is at Twilio for 10 s;
  // message 2 (slot 1,900) is withheld: its hand-back goes in within a flush interval.
  const store = new FakeStore(clock, [[message(1, "n1", 1_800), message(2, "n2", 1_900)]]);
  store.withheld = new Set(["2"]);
  const twilio: TwilioClient = {
    async sendSms() {
      await clock.sleep(10_000);
      return {
        outcome: "accepted",
        sid: `SM${"1".padStart(32, "0")}`,
        status: "queued",
        numSegments: 1,
      };
    },
  };
  await clock.run(runTick(store, twilio, { ...OPTIONS, budgetMs: 3_000, clock }));
  assert.deepEqual(store.released.map((c) => c.id), ["2"]);
  assert.ok(store.releasedAt[0] <= 2_300, `written at ${store.releasedAt[0]}`);
});

Deno.test("runTick: a pre-send check that never answers hands its claims back", async () => {
  const clock = new FakeClock(0);
  const store = new FakeStore(clock, [[message(1, "n1", 500), message(2, "n2", 500)]]);
  store.checkHangs = true;
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.equal(twilio.sent.length, 0);
  assert.equal(report.withheld, 2);
  assert.deepEqual(store.released.map((c) => c.id).sort(), ["1", "2"]);
});

Deno.test("runTick: while checks are slow, claims are checked earlier before their slots", async () => {
  const clock = new FakeClock(0);
  // Checks take 150 ms. The first claim is checked 100 ms ahead (its answer comes 50 ms
  // after its slot: handed back); once a check has been timed, later claims are checked
  // 2 × 150 + 20 ms ahead and go out on their slots.
  const store = new FakeStore(clock, [[message(1, "n1", 500)], [], [], [message(2, "n1", 3_000)]]);
  store.checkDelayMs = 150;
  const twilio = fakeTwilio(clock);
  const report = await clock.run(runTick(store, twilio, { ...OPTIONS, clock }));
  assert.deepEqual(store.released.map((c) => c.id), ["1"]);
  assert.equal(report.late, 1);
  assert.deepEqual(twilio.sent.map((s) => [s.request.body, s.at]), [["hello 2", 3_000]]);
});
