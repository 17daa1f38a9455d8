import assert from "node:assert/strict";
import { createStartCounter } from "../supabase/functions/campaign-tick/busiest-second.ts";

Deno.test("busiest second: starts within one sliding second, per number", () => {
  const counter = createStartCounter();
  assert.equal(counter.busiest(), null, "nothing started yet");
  for (const at of [0, 100, 200]) counter.record("+14155550100", at);
  counter.record("+14155550101", 150);
  assert.deepEqual(counter.busiest(), { from: "+14155550100", starts: 3 });
  // Exactly one second after the first start, that start is out of the window.
  counter.record("+14155550100", 1_000);
  assert.deepEqual(counter.busiest(), { from: "+14155550100", starts: 3 });
  counter.record("+14155550100", 1_099);
  assert.deepEqual(counter.busiest(), { from: "+14155550100", starts: 4 }, "100…1,099: four");
});

Deno.test("busiest second: slots 103 ms apart hold ten; one start between them makes eleven", () => {
  const counter = createStartCounter();
  for (let i = 0; i <= 10; i++) counter.record("+14155550100", i * 103);
  assert.equal(
    counter.busiest()?.starts,
    10,
    "eleven slots over 1,030 ms: never eleven in a second",
  );
  counter.record("+14155550100", 1_100);
  assert.equal(counter.busiest()?.starts, 11, "103…1,100 ms: eleven");
});
