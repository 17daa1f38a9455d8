/**
 * The live view's text (local/progress-bar.ts): pure functions, no stack needed.
 */
import assert from "node:assert/strict";
import type { CampaignProgress } from "../local/campaign-progress.ts";
import {
  bar,
  clockTime,
  countsText,
  describeCampaign,
  renderCampaign,
  splitCells,
  tally,
  timeUntil,
  waitingNote,
} from "../local/progress-bar.ts";
import { HELD, NOW, progress } from "./support/campaign-progress-fixture.ts";

const ESC = "\x1b";
const stripAnsi = (text: string) => text.replace(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "");

Deno.test("the tally puts every target in exactly one part of the bar", () => {
  const t = tally(progress());
  assert.deepEqual(t, {
    targets: 40,
    sent: 12,
    delivered: 8,
    failed: 3,
    awaiting: 3,
    setAside: 4,
    toSend: 22,
    replied: 3,
    optedOut: 1,
  });
  assert.equal(t.delivered + t.failed + t.awaiting + t.setAside + t.toSend, t.targets);
  // An unknown outcome may have reached Twilio: it counts as sent, awaiting a receipt.
  const unknown = tally(progress({ pending: 19, unknown: 1 }));
  assert.equal(unknown.sent, 13);
  assert.equal(unknown.awaiting, 4);
});

Deno.test("the counts name sent, delivered, failed, replied, opted out and pending", () => {
  assert.equal(
    countsText(progress()),
    "12/40 sent · 8 delivered · 3 failed · 3 replied · 1 opted out · 22 pending · 3 skipped · 1 canceled",
  );
  assert.equal(
    countsText(HELD),
    "0/2 sent · 0 delivered · 0 failed · 0 replied · 0 opted out · 2 pending",
  );
  assert.match(countsText(progress({ unknown: 2 })), / · 2 unknown$/);
});

Deno.test("cells are split in proportion, every non-zero count visible", () => {
  assert.deepEqual(splitCells([1, 2, 3], 7), [1, 2, 4]);
  assert.deepEqual(splitCells([1, 0, 0, 0, 99], 20), [1, 0, 0, 0, 19]);
  assert.deepEqual(splitCells([0, 0, 0], 10), [0, 0, 0]);
  assert.deepEqual(splitCells([5, 5], 0), [0, 0]);
  for (const width of [1, 2, 5, 13, 40]) {
    for (const counts of [[1, 1, 1, 1, 1], [0, 3, 0, 997, 0], [8, 3, 4, 4, 21], [1, 0, 0, 0, 0]]) {
      const cells = splitCells(counts, width);
      assert.equal(cells.reduce((a, b) => a + b, 0), width, `${counts} in ${width}`);
      if (width >= counts.filter((n) => n > 0).length) {
        counts.forEach((n, i) => assert.ok(n === 0 || cells[i] > 0, `${counts} in ${width}`));
      }
    }
  }
});

Deno.test("the bar is exactly as wide as asked, in the order delivered, failed, awaiting, set aside, to send", () => {
  const drawn = bar(progress(), 40);
  assert.equal([...drawn].length, 42);
  assert.match(drawn, /^\[█+▓+▒+·+░+\]$/);
  assert.equal([...drawn].filter((c) => c === "█").length, 8);
  assert.equal([...drawn].filter((c) => c === "░").length, 22);
  assert.equal(
    bar(
      progress({
        targets: 0,
        pending: 0,
        claimed: 0,
        sent: 0,
        skipped: 0,
        canceled: 0,
        sendFailed: 0,
        delivered: 0,
        undelivered: 0,
      }),
      10,
    ),
    `[${" ".repeat(10)}]`,
  );
  assert.equal(bar(HELD, 10), `[${"░".repeat(10)}]`);
  const colored = bar(progress(), 40, true);
  assert.ok(colored.includes(`${ESC}[32m${"█".repeat(8)}${ESC}[0m`), colored);
  assert.equal(stripAnsi(colored), drawn);
});

Deno.test("a closed send window says when it opens", () => {
  assert.equal(
    waitingNote(HELD, { timeZone: "UTC", relative: true }),
    "waiting for the send window: opens at 18:00 UTC (in 1 h 9 min)",
  );
  assert.equal(
    waitingNote(HELD, { timeZone: "America/Phoenix", relative: false }),
    "waiting for the send window: opens at 11:00 MST",
  );
  const tomorrow = { ...HELD, nextAt: new Date("2026-11-27T17:00:00Z") };
  assert.equal(
    waitingNote(tomorrow, { timeZone: "UTC", relative: true }),
    "waiting for the send window: opens at Fri 17:00 UTC (in 1 d)",
  );
});

Deno.test("other waits, sending, and the end of sending read as such", () => {
  const note = (p: CampaignProgress) => waitingNote(p, { timeZone: "UTC", relative: true });
  assert.equal(
    note({ ...HELD, nextReason: "held: the lead reached its 24-hour message cap" }),
    "waiting until 18:00 UTC (in 1 h 9 min): the lead reached its 24-hour message cap",
  );
  assert.equal(note({ ...HELD, nextReason: null }), "next send at 18:00 UTC (in 1 h 9 min)");
  assert.equal(note({ ...HELD, due: 2, nextAt: null }), "waiting for the sender's first tick");
  assert.equal(note(progress()), null, "sending: nothing to explain");
  assert.equal(
    note(progress({ pending: 0, claimed: 0, due: 0 })),
    "all sent: waiting for delivery receipts",
  );
  assert.equal(
    note(progress({ pending: 0, claimed: 0, due: 0, delivered: 10, undelivered: 2 })),
    null,
  );
  assert.equal(note({ ...HELD, status: "paused" }), null);
  assert.equal(note({ ...HELD, status: "completed" }), null);
});

Deno.test("clock times and durations read naturally", () => {
  assert.equal(
    clockTime(new Date("2026-11-26T18:00:00Z"), NOW, "America/Los_Angeles"),
    "10:00 PST",
  );
  assert.equal(
    clockTime(new Date("2026-11-27T01:00:00Z"), NOW, "America/Los_Angeles"),
    "17:00 PST",
  );
  assert.equal(clockTime(new Date("2026-11-27T01:00:00Z"), NOW, "UTC"), "Fri 01:00 UTC");
  const later = (ms: number) => timeUntil(new Date(NOW.getTime() + ms), NOW);
  assert.equal(later(-5), "now");
  assert.equal(later(1), "in 1 s");
  assert.equal(later(45_000), "in 45 s");
  assert.equal(later(60_000), "in 1 min");
  assert.equal(later(61_000), "in 2 min");
  assert.equal(later(3_600_000), "in 1 h");
  assert.equal(later(3_660_000), "in 1 h 1 min");
  assert.equal(later(27 * 3_600_000), "in 1 d 3 h");
});

Deno.test("terminal lines: title, bar with counts, note; never wider than the terminal", () => {
  const lines = renderCampaign(HELD, { width: 120, timeZone: "UTC" });
  assert.deepEqual(lines, [
    "Acme · Saturday open house — running, 2 targets",
    `  [${
      "░".repeat(40)
    }]  0/2 sent · 0 delivered · 0 failed · 0 replied · 0 opted out · 2 pending`,
    "  waiting for the send window: opens at 18:00 UTC (in 1 h 9 min)",
  ]);
  assert.equal(renderCampaign(progress(), { width: 200 }).length, 2, "no note while sending");
  const one = progress({ targets: 1, name: "x".repeat(300) });
  assert.match(renderCampaign(one, { width: 80 })[0], /…$/);
  for (let width = 20; width <= 160; width++) {
    for (const p of [HELD, progress(), one]) {
      for (const line of renderCampaign(p, { width, timeZone: "UTC", color: true })) {
        assert.ok([...stripAnsi(line)].length <= width, `${width}: ${line}`);
      }
    }
  }
  // Narrow: the counts go under the bar.
  const narrow = renderCampaign(progress(), { width: 60 });
  assert.match(narrow[1], /^ {2}\[[█▓▒·░]+\]$/);
  assert.match(narrow[2], /^ {2}12\/40 sent/);
});

Deno.test("a log line has no bar and no relative time", () => {
  assert.equal(
    describeCampaign(HELD, { timeZone: "UTC" }),
    "Acme · Saturday open house (running): 0/2 sent · 0 delivered · 0 failed · 0 replied · " +
      "0 opted out · 2 pending; waiting for the send window: opens at 18:00 UTC",
  );
  assert.equal(
    describeCampaign(progress({ status: "completed", pending: 0, claimed: 0, due: 0 })),
    "Acme · Saturday open house (completed): 12/40 sent · 8 delivered · 3 failed · 3 replied · " +
      "1 opted out · 0 pending · 3 skipped · 1 canceled",
  );
});
