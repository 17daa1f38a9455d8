/**
 * Claims checked once more just before their send (a STOP, a pause or a cancel committed
 * since the claim stops them), many at a time: a check waits at most `windowMs` for the
 * checks of other sends to join its query, so a tick sending hundreds of messages a second
 * makes a few dozen queries a second for it, not hundreds.
 */
import type { Clock } from "./pacer.ts";
import type { Claim } from "./tick.ts";

export type ClaimGate = (claim: Claim) => Promise<boolean>;

/** `check` answers which target ids of a batch may still be sent. */
export function createClaimGate(
  check: (claims: Claim[]) => Promise<Set<string>>,
  clock: Clock,
  windowMs = 20,
): ClaimGate {
  let waiting: { claim: Claim; resolve: (ok: boolean) => void; reject: (e: unknown) => void }[] =
    [];
  let scheduled = false;
  const flush = async () => {
    const batch = waiting;
    waiting = [];
    scheduled = false;
    try {
      const sendable = await check(batch.map((w) => w.claim));
      for (const w of batch) w.resolve(sendable.has(w.claim.targetId));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  };
  return (claim) =>
    new Promise<boolean>((resolve, reject) => {
      waiting.push({ claim, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        void clock.sleep(windowMs).then(flush);
      }
    });
}
