/**
 * The live view's screen (local/campaign-view.ts): redrawn in place on a terminal, one line
 * per change otherwise; with a fake stdout and a fake database, no stack needed.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import type { CampaignProgress } from "../local/campaign-progress.ts";
import { LiveScreen, watchCampaigns } from "../local/campaign-view.ts";
import { describeCampaign } from "../local/progress-bar.ts";
import { HELD } from "./support/campaign-progress-fixture.ts";

/** A stdout stand-in that keeps what was written. */
function fakeOut(): { writeSync(p: Uint8Array): number; text: () => string } {
  let text = "";
  return {
    writeSync: (p) => {
      text += new TextDecoder().decode(p);
      return p.length;
    },
    text: () => text,
  };
}

Deno.test("on a terminal the block is replaced in place and log lines go above it", () => {
  const out = fakeOut();
  const screen = new LiveScreen(out, true);
  screen.show(["a", "b"]);
  assert.equal(out.text(), "a\nb\n");
  screen.show(["c", "d", "e"]);
  assert.equal(out.text(), "a\nb\n\x1b[2F\x1b[Jc\nd\ne\n");
  const log = fakeOut();
  screen.sink(log).writeSync(new TextEncoder().encode("[functions] hello\n"));
  // The block is erased, the line written, the block drawn again.
  assert.equal(log.text(), "[functions] hello\n");
  assert.ok(out.text().endsWith("\x1b[3F\x1b[Jc\nd\ne\n"));
  screen.release();
  screen.show(["f"]);
  screen.print("stopping");
  assert.ok(
    out.text().endsWith("c\nd\ne\nstopping\n"),
    "released: the block stays, output follows",
  );
});

Deno.test("off a terminal nothing is redrawn and log lines pass through", () => {
  const out = fakeOut();
  const screen = new LiveScreen(out, false);
  const log = fakeOut();
  assert.equal(screen.sink(log), log);
  screen.show(["a", "b"]);
  assert.equal(out.text(), "");
  screen.print("one line");
  assert.equal(out.text(), "one line\n");
});

/**
 * A postgres.js stand-in answering each query with the next of `answers`; once they are
 * used up it stops the view.
 */
function fakeSql(
  answers: Array<Record<string, unknown>[] | Error>,
  stop: AbortController,
): postgres.Sql {
  let i = 0;
  return (() => {
    const answer = answers[i++];
    if (answer === undefined) {
      stop.abort();
      return Promise.resolve([]);
    }
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }) as unknown as postgres.Sql;
}

function row(p: CampaignProgress): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    org: p.org,
    status: p.status,
    started_at: p.startedAt,
    targets: p.targets,
    pending: p.pending,
    claimed: p.claimed,
    sent: p.sent,
    unknown: p.unknown,
    skipped: p.skipped,
    canceled: p.canceled,
    send_failed: p.sendFailed,
    delivered: p.delivered,
    undelivered: p.undelivered,
    replied: p.replied,
    opted_out: p.optedOut,
    due: p.due,
    next_at: p.nextAt,
    next_reason: p.nextReason,
    at: p.at,
  };
}

Deno.test("off a terminal the view prints one line per change", async () => {
  const sent = { ...HELD, pending: 1, sent: 1, due: 0 };
  const delivered = { ...sent, delivered: 1 };
  const out = fakeOut();
  const stop = new AbortController();
  const sql = fakeSql([
    [row(HELD)],
    [row(HELD)],
    new Error("connection refused"),
    [row(HELD)],
    [row(sent)],
    [row(delivered)],
    [row(delivered)],
    [],
  ], stop);
  await watchCampaigns({
    sql,
    screen: new LiveScreen(out, false),
    signal: stop.signal,
    intervalMs: 0,
    timeZone: "UTC",
  });
  const lines = out.text().trim().split("\n").map((l) => l.replace(/^\d\d:\d\d:\d\d /, ""));
  assert.deepEqual(lines, [
    describeCampaign(HELD, { timeZone: "UTC" }),
    "campaign progress unavailable: connection refused",
    describeCampaign(HELD, { timeZone: "UTC" }),
    describeCampaign(sent, { timeZone: "UTC" }),
    describeCampaign(delivered, { timeZone: "UTC" }),
    "no running campaign",
  ]);
});

Deno.test("on a terminal the view redraws the campaigns with a clock", async () => {
  const out = fakeOut();
  const stopped = new AbortController();
  stopped.abort();
  await watchCampaigns({
    sql: fakeSql([[row(HELD)]], stopped),
    screen: new LiveScreen(out, true),
    signal: stopped.signal,
  });
  assert.equal(out.text(), "", "a stopped view draws nothing");

  const stop = new AbortController();
  await watchCampaigns({
    sql: fakeSql([[row(HELD)], []], stop),
    screen: new LiveScreen(out, true),
    signal: stop.signal,
    intervalMs: 0,
    timeZone: "UTC",
    columns: () => 120,
  });
  const text = out.text();
  assert.ok(text.includes("── campaigns at 16:51:20 UTC (Ctrl-C stops the stack) ──\n"), text);
  assert.ok(text.includes("  waiting for the send window: opens at 18:00 UTC (in 1 h 9 min)\n"));
  assert.ok(text.includes("\n   █ delivered  ▓ failed  ▒ sent, no receipt yet"), "a legend");
  assert.ok(text.includes("\x1b[6F\x1b[J"), "the second refresh replaces the first");
  assert.ok(text.endsWith("no running campaign\n"), text);
});
