/**
 * Claims checked once more shortly before their slot (a STOP, a pause or a cancel
 * committed since the claim stops them), many at a time: each claim is checked about
 * `aheadMs` before its slot (more while the database answers slowly: twice the recent
 * check time), together with every other claim due by then, so a send never waits for its
 * check at its slot (the wait would make it late) and a tick sending hundreds of messages
 * a second makes a few dozen queries a second for it, not hundreds.
 */
import type { Clock } from "./pacer.ts";
import { type Claim, claimKey } from "./claims.ts";

export interface ClaimGate {
  /** Schedules the checks of these claims, each `aheadMs` before its slot. */
  expect(claims: readonly { claim: Claim; notBefore: number }[]): void;
  /** Whether the claim may still be sent; checks it now if it was never expected. */
  sendable(claim: Claim): Promise<boolean>;
  /** A claim that will not be sent after all (handed back): no check needed. */
  forget(claim: Claim): void;
  /** Stops checking; claims still unchecked answer false. */
  close(): void;
}

interface Entry {
  claim: Claim;
  checkAt: number;
  result: Promise<boolean>;
  resolve: (ok: boolean) => void;
  reject: (error: unknown) => void;
}

/** `check` answers which claims (by claimKey) of a batch may still be sent. */
export function createClaimGate(
  check: (claims: Claim[]) => Promise<Set<string>>,
  clock: Clock,
  { aheadMs = 100, windowMs = 20, timeoutMs = 5_000 }: {
    aheadMs?: number;
    windowMs?: number;
    /** A check not answered by then fails (its claims go back): a send never hangs. */
    timeoutMs?: number;
  } = {},
): ClaimGate {
  const entries = new Map<string, Entry>();
  /** Not yet checked, in checkAt order. */
  let waiting: Entry[] = [];
  let closed = false;
  let wake = new AbortController();
  /** How long checks have been taking: the last one, and weighted toward the latest. */
  let lastCheckMs = 0;
  let recentCheckMs = 0;
  const leadMs = () => Math.max(aheadMs, 2 * Math.max(lastCheckMs, recentCheckMs) + windowMs);

  const entryFor = (claim: Claim, checkAt: number): Entry => {
    const key = claimKey(claim);
    const known = entries.get(key);
    if (known) return known;
    let resolve!: (ok: boolean) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<boolean>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Awaited by sendable(); never an unhandled rejection before that.
    result.catch(() => {});
    const entry = { claim, checkAt, result, resolve, reject };
    entries.set(key, entry);
    waiting.push(entry);
    return entry;
  };

  const loop = async () => {
    while (!closed) {
      const now = clock.now();
      // Everything due within the next window goes in this query.
      const cut = waiting.findIndex((e) => e.checkAt > now + windowMs);
      const due = cut === -1 ? waiting : waiting.slice(0, cut);
      waiting = cut === -1 ? [] : waiting.slice(cut);
      if (due.length > 0) {
        const answered = new AbortController();
        const timeout = clock.sleep(timeoutMs, answered.signal).then(() => {
          if (!answered.signal.aborted) {
            throw new Error(`the pre-send check took over ${timeoutMs} ms`);
          }
        });
        const started = clock.now();
        try {
          const ok = await Promise.race([check(due.map((e) => e.claim)), timeout]);
          lastCheckMs = clock.now() - started;
          recentCheckMs = 0.7 * recentCheckMs + 0.3 * lastCheckMs;
          for (const e of due) e.resolve(ok instanceof Set && ok.has(claimKey(e.claim)));
        } catch (error) {
          for (const e of due) e.reject(error);
        } finally {
          answered.abort();
        }
        continue;
      }
      if (wake.signal.aborted) wake = new AbortController();
      const next = waiting[0]?.checkAt;
      await clock.sleep(
        next === undefined ? 60_000 : Math.max(windowMs, next - now - windowMs),
        wake.signal,
      );
    }
  };
  void loop();

  return {
    expect(claims) {
      if (closed) return;
      const lead = leadMs();
      for (const { claim, notBefore } of claims) entryFor(claim, notBefore - lead);
      waiting.sort((a, b) => a.checkAt - b.checkAt);
      wake.abort();
    },
    sendable(claim) {
      const key = claimKey(claim);
      let entry = entries.get(key);
      if (!entry) {
        if (closed) return Promise.resolve(false);
        entry = entryFor(claim, clock.now());
        waiting.sort((a, b) => a.checkAt - b.checkAt);
        wake.abort();
      }
      const result = entry.result;
      result.finally(() => entries.delete(key)).catch(() => {});
      return result;
    },
    forget(claim) {
      const key = claimKey(claim);
      const entry = entries.get(key);
      if (!entry) return;
      entries.delete(key);
      waiting = waiting.filter((e) => e !== entry);
      entry.resolve(false);
    },
    close() {
      closed = true;
      for (const e of waiting) e.resolve(false);
      waiting = [];
      wake.abort();
    },
  };
}
