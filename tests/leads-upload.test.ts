/**
 * supabase/functions/leads/upload.ts: reading a body up to the size limit, with and
 * without a declared length (which may be wrong), and stopping at the limit.
 */
import assert from "node:assert/strict";
import { readLimited } from "../supabase/functions/leads/upload.ts";

/** A body delivered in the given chunk sizes; `cancelled` tells whether it was cancelled. */
function body(sizes: number[]) {
  const state = { cancelled: false, delivered: 0 };
  let next = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next === sizes.length) return controller.close();
      const chunk = new Uint8Array(sizes[next++]);
      for (let i = 0; i < chunk.length; i++) chunk[i] = (state.delivered + i) % 251;
      state.delivered += chunk.length;
      controller.enqueue(chunk);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

function expected(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => i % 251);
}

const tooLarge = () => new Error("too large");

for (
  const [name, declared] of [
    ["no declared length", undefined],
    ["the right declared length", 2500],
    ["a declared length too short", 1000],
    ["a declared length too long", 4000],
    ["a declared length beyond the limit", 1e9],
  ] as const
) {
  Deno.test(`readLimited: ${name} gives every byte in order`, async () => {
    const { stream } = body([700, 1, 999, 800]);
    const bytes = await readLimited(stream, 10_000, tooLarge, declared);
    assert.deepEqual(bytes, expected(2500));
  });
}

Deno.test("readLimited: a body over the limit fails at once and cancels the rest", async () => {
  const { stream, state } = body([600, 600, 600, 600, 600]);
  await assert.rejects(readLimited(stream, 1000, tooLarge, 3000), /too large/);
  assert.equal(state.cancelled, true);
  assert.ok(state.delivered <= 1200, `read ${state.delivered} bytes`);
});

Deno.test("readLimited: exactly the limit is accepted; no body is empty", async () => {
  assert.equal((await readLimited(body([400, 600]).stream, 1000, tooLarge)).length, 1000);
  assert.equal((await readLimited(null, 1000, tooLarge)).length, 0);
  assert.equal((await readLimited(body([]).stream, 1000, tooLarge, 0)).length, 0);
});
