/**
 * The pacer on a fake clock: time moves only when every task waits on it, so start
 * instants are exact and a test of seconds of pacing runs in milliseconds.
 */
import assert from "node:assert/strict";
import {
  createPacer,
  type PacedSend,
  runPaced,
} from "../supabase/functions/campaign-tick/pacer.ts";
import { FakeClock } from "./support/fake-clock.ts";

interface Item {
  id: string;
  /** How long the send takes on the fake clock. */
  takes: number;
}

function paced(key: string, notBefore: number, id: string, takes = 100): PacedSend<Item> {
  return { key, notBefore, item: { id, takes } };
}

/** A send that records its start and in-flight count and lasts `item.takes`. */
function recorder(clock: FakeClock) {
  const starts = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (item: Item) => {
    starts.set(item.id, clock.now());
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await clock.sleep(item.takes);
    inFlight--;
    return `sent ${item.id}`;
  };
  return { starts, send, maxInFlight: () => maxInFlight };
}

/** One number at 1 mps: claimed not_before 0, 1000, 2000, … */
function schedule(key: string, count: number, spacing = 1000, first = 0, takes = 100) {
  return Array.from(
    { length: count },
    (_, i) => paced(key, first + i * spacing, `${key}${i}`, takes),
  );
}

Deno.test("never starts a send before its notBefore, and starts it on time", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  const sends = [paced("A", 2500, "late"), paced("A", 0, "now"), paced("B", 700, "b")];
  const report = await clock.run(
    runPaced(sends, r.send, { concurrency: 4, deadline: 10_000, clock }),
  );
  assert.deepEqual(Object.fromEntries(r.starts), { now: 0, b: 700, late: 2500 });
  assert.equal(report.done.length, 3);
  assert.deepEqual(report.notStarted, []);
  assert.equal(report.done.find((d) => d.send.item.id === "b")?.result, "sent b");
});

Deno.test("the concurrency bound holds, and queued sends start as slots free", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  // Ten numbers all due at 0, each request taking 300 ms, 3 slots.
  const sends = Array.from({ length: 10 }, (_, i) => paced(`N${i}`, 0, `m${i}`, 300));
  const report = await clock.run(
    runPaced(sends, r.send, { concurrency: 3, deadline: 60_000, clock }),
  );
  assert.equal(r.maxInFlight(), 3);
  assert.equal(report.done.length, 10);
  const startTimes = [...r.starts.values()].sort((a, b) => a - b);
  assert.deepEqual(startTimes, [0, 0, 0, 300, 300, 300, 600, 600, 600, 900]);
});

Deno.test("per-number spacing holds even when a number falls behind", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  // One slot; number A's first request takes 1500 ms, longer than A's 1 s spacing.
  const sends = [
    paced("A", 0, "A0", 1500),
    paced("A", 1000, "A1", 100),
    paced("A", 2000, "A2", 100),
    paced("A", 2500, "A3", 100),
  ];
  await clock.run(runPaced(sends, r.send, { concurrency: 1, deadline: 60_000, clock }));
  // A1 waits for the slot until 1500; A2 keeps its 1000 ms gap after A1, A3 its 500 ms.
  assert.deepEqual(Object.fromEntries(r.starts), { A0: 0, A1: 1500, A2: 2500, A3: 3000 });
});

Deno.test("spacing is never shorter than claimed, with many numbers and few slots", async () => {
  const clock = new FakeClock(1_000_000);
  const r = recorder(clock);
  const sends = ["A", "B", "C", "D", "E"].flatMap((key, k) =>
    schedule(key, 8, 1000, 1_000_000 + k * 10, 250 + 150 * k)
  );
  const report = await clock.run(
    runPaced(sends, r.send, { concurrency: 2, deadline: 2_000_000, clock }),
  );
  assert.equal(report.done.length, 40);
  assert.ok(r.maxInFlight() <= 2);
  for (const key of ["A", "B", "C", "D", "E"]) {
    const starts = Array.from({ length: 8 }, (_, i) => r.starts.get(`${key}${i}`)!);
    for (let i = 1; i < starts.length; i++) {
      assert.ok(starts[i] - starts[i - 1] >= 1000, `${key}: ${starts.join(", ")}`);
    }
    for (const s of sends.filter((s) => s.key === key)) {
      assert.ok(r.starts.get(s.item.id)! >= s.notBefore, `${s.item.id} early`);
    }
  }
});

Deno.test("a slow request on one number does not delay another", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  const sends = [
    paced("SLOW", 0, "slow0", 8000),
    paced("SLOW", 1000, "slow1", 100),
    ...schedule("FAST", 5, 1000, 0, 100),
  ];
  await clock.run(
    runPaced(sends, r.send, { concurrency: 4, perKeyConcurrency: 1, deadline: 60_000, clock }),
  );
  // FAST keeps its own schedule to the millisecond while SLOW's first request hangs.
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => r.starts.get(`FAST${i}`)), [
    0,
    1000,
    2000,
    3000,
    4000,
  ]);
  // With one request per number in flight, SLOW's next send waits for its first.
  assert.equal(r.starts.get("slow1"), 8000);
});

Deno.test("without a per-number bound, a number's next send does not wait for a slow one", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  const sends = [paced("A", 0, "a0", 5000), paced("A", 1000, "a1"), paced("A", 2000, "a2")];
  await clock.run(runPaced(sends, r.send, { concurrency: 4, deadline: 60_000, clock }));
  assert.deepEqual(Object.fromEntries(r.starts), { a0: 0, a1: 1000, a2: 2000 });
});

Deno.test("the deadline stops new sends and reports the rest; started ones finish", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  const sends = [...schedule("A", 6, 1000, 0, 1500), ...schedule("B", 2, 1000, 4000)];
  const report = await clock.run(
    runPaced(sends, r.send, { concurrency: 4, deadline: 3500, clock }),
  );
  assert.deepEqual([...r.starts.keys()].sort(), ["A0", "A1", "A2", "A3"]);
  assert.deepEqual(report.done.map((d) => d.send.item.id).sort(), ["A0", "A1", "A2", "A3"]);
  assert.deepEqual(
    report.notStarted.map((n) => `${n.send.item.id}:${n.reason}`).sort(),
    ["A4:deadline", "A5:deadline", "B0:deadline", "B1:deadline"],
  );
  // It returned when A3 finished (3000 + 1500), not at B's far notBefore.
  assert.equal(clock.now(), 4500);
});

Deno.test("a send waiting for a slot past the deadline is not started", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  const sends = [paced("A", 0, "a", 5000), paced("B", 100, "b")];
  const report = await clock.run(
    runPaced(sends, r.send, { concurrency: 1, deadline: 1000, clock }),
  );
  assert.deepEqual([...r.starts.keys()], ["a"]);
  assert.deepEqual(report.notStarted.map((n) => [n.send.item.id, n.reason]), [["b", "deadline"]]);
});

Deno.test("a past deadline starts nothing and waits for nothing", async () => {
  const clock = new FakeClock(5000);
  const r = recorder(clock);
  const report = await clock.run(
    runPaced(schedule("A", 3, 1000, 0), r.send, { concurrency: 2, deadline: 5000, clock }),
  );
  assert.equal(r.starts.size, 0);
  assert.equal(report.notStarted.length, 3);
  assert.equal(clock.now(), 5000);
});

Deno.test("stopKey and stopAll stop new sends for a number or for all", async () => {
  const clock = new FakeClock(0);
  const starts: string[] = [];
  const sends = [...schedule("BAD", 3, 1000), ...schedule("GOOD", 3, 1000, 500)];
  const report = await clock.run(runPaced(sends, async (item, control, p) => {
    starts.push(item.id);
    await clock.sleep(50);
    if (p.key === "BAD") control.stopKey("BAD");
    return item.id;
  }, { concurrency: 2, deadline: 60_000, clock }));
  assert.deepEqual(starts, ["BAD0", "GOOD0", "GOOD1", "GOOD2"]);
  assert.deepEqual(report.notStarted.map((n) => [n.send.item.id, n.reason]), [
    ["BAD1", "stopped"],
    ["BAD2", "stopped"],
  ]);

  const all: string[] = [];
  const clock2 = new FakeClock(0);
  const report2 = await clock2.run(runPaced(sends, (item, control) => {
    all.push(item.id);
    control.stopAll();
    return Promise.resolve(item.id);
  }, { concurrency: 2, deadline: 60_000, clock: clock2 }));
  assert.deepEqual(all, ["BAD0"]);
  assert.equal(report2.notStarted.length, 5);
  assert.ok(report2.notStarted.every((n) => n.reason === "stopped"));
});

Deno.test("a send that throws is reported, and the others go on", async () => {
  const clock = new FakeClock(0);
  const report = await clock.run(runPaced(schedule("A", 3, 10), (item) => {
    if (item.id === "A1") return Promise.reject(new Error("bug"));
    return Promise.resolve(item.id);
  }, { concurrency: 1, deadline: 1000, clock }));
  assert.deepEqual(report.done.map((d) => d.result), ["A0", "A2"]);
  assert.equal(report.threw.length, 1);
  assert.equal((report.threw[0].error as Error).message, "bug");
});

Deno.test("bad options are refused", async () => {
  await assert.rejects(
    runPaced([], () => Promise.resolve(), { concurrency: 0, deadline: 1 }),
    RangeError,
  );
  await assert.rejects(
    runPaced([paced("A", NaN, "x")], () => Promise.resolve(), { concurrency: 1, deadline: 1 }),
    RangeError,
  );
});

Deno.test("the system clock paces real time too", async () => {
  const start = Date.now();
  const starts: number[] = [];
  const sends = [0, 40, 80].map((offset, i) => paced("A", start + offset, `r${i}`));
  const report = await runPaced(sends, (item) => {
    starts.push(Date.now() - start);
    return Promise.resolve(item.id);
  }, { concurrency: 2, deadline: start + 5000 });
  assert.equal(report.done.length, 3);
  for (const [i, offset] of [0, 40, 80].entries()) assert.ok(starts[i] >= offset, `${starts}`);
});

Deno.test("a send that cannot start by its sendBy is dropped as late; its lane goes on", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  const skipped: string[] = [];
  const sends = [
    paced("A", 0, "first", 100),
    { ...paced("A", 10, "late"), sendBy: 30 },
    { ...paced("A", 200, "next"), sendBy: 220 },
  ];
  const report = await clock.run(runPaced(sends, r.send, {
    concurrency: 4,
    perKeyConcurrency: 1,
    deadline: 10_000,
    clock,
    onNotStarted: (s) => skipped.push(`${(s.send.item as Item).id} ${s.reason}`),
  }));
  assert.deepEqual(Object.fromEntries(r.starts), { first: 0, next: 200 });
  assert.deepEqual(report.notStarted.map((n) => [n.send.item.id, n.reason]), [["late", "late"]]);
  assert.deepEqual(skipped, ["late late"], "told at once");
});

Deno.test("sends added later keep their number's spacing from the sends before", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  const pacer = createPacer(r.send, { concurrency: 1, deadline: 10_000, clock });
  // B's slow request holds the only slot, so A's first send starts 200 ms behind.
  pacer.add([paced("B", 0, "b", 300), paced("A", 100, "a1", 10)]);
  const closing = (async () => {
    await clock.sleep(150);
    // The next batch: A's next slot, 100 ms after its last one.
    pacer.add([paced("A", 200, "a2", 10)]);
    return await pacer.close();
  })();
  const report = await clock.run(closing);
  assert.deepEqual(Object.fromEntries(r.starts), { b: 0, a1: 300, a2: 400 });
  assert.equal(report.done.length, 3);
  assert.throws(() => pacer.add([paced("A", 500, "a3")]), /closed/);
});

Deno.test("a send with a latest start goes at its slot: one delay is not carried over", async () => {
  const clock = new FakeClock(0);
  const r = recorder(clock);
  // Three slots 100 ms apart on A; B's slow request holds the only slot until 115, so a1
  // starts 15 ms late, within its 20 ms; a2 still starts at its own slot.
  const sends = [
    paced("B", 0, "b", 115),
    { ...paced("A", 100, "a1", 10), sendBy: 120 },
    { ...paced("A", 200, "a2", 10), sendBy: 220 },
  ];
  await clock.run(runPaced(sends, r.send, { concurrency: 1, deadline: 10_000, clock }));
  assert.deepEqual(Object.fromEntries(r.starts), { b: 0, a1: 115, a2: 200 });
});
